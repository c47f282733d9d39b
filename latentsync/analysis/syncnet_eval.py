"""Run the classic SyncNet over a face-crop clip and score its audio-visual offset (``SyncNetEval.evaluate``).

Inputs are reproduced as the original feeds them: BGR uint8 frames resized to 224x224 and passed as raw
0..255 floats, and MFCCs of the raw int16 samples. Each window is 5 frames (0.2 s) against 20 MFCC
columns (4 per frame at 100 Hz).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from latentsync.analysis.mfcc import mfcc
from latentsync.analysis.sync_scoring import SyncScore, score_sync
from latentsync.analysis.syncnet_v2 import SyncNetV2
from latentsync.errors import InputError

FRAMES_PER_WINDOW = 5
MFCC_COLUMNS_PER_FRAME = 4
SAMPLES_PER_FRAME = 640  # 16 kHz / 25 fps


class SyncNetEval:
    """Embeds every 5-frame window of a clip with ``SyncNetV2`` and scores the offset over +-``vshift`` frames."""

    def __init__(self, model: SyncNetV2, device: torch.device | str = "cpu", batch_size: int = 20, vshift: int = 15):
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.vshift = vshift

    def evaluate(self, frames_bgr: np.ndarray, audio_pcm16: np.ndarray) -> SyncScore:
        """Score (T, H, W, 3) uint8 BGR face crops at 25 fps against their 16 kHz int16 mono audio."""
        video_feats, audio_feats = self.embed(frames_bgr, audio_pcm16)
        return score_sync(video_feats, audio_feats, self.vshift)

    @torch.inference_mode()
    def embed(self, frames_bgr: np.ndarray, audio_pcm16: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 1024) lip and audio embeddings of windows 0..N-1 on CPU.

        N = min(#frames, #samples // 640) - 5: the original stops one window short of the last complete one.
        """
        num_windows = min(len(frames_bgr), len(audio_pcm16) // SAMPLES_PER_FRAME) - FRAMES_PER_WINDOW
        if num_windows < 1:
            raise InputError(
                f"clip too short for SyncNet: {len(frames_bgr)} frames and {len(audio_pcm16) / 16000:.2f} s of "
                f"audio; at least {FRAMES_PER_WINDOW + 1} frames (0.24 s) of both are needed"
            )
        video = torch.from_numpy(np.stack([cv2.resize(frame, (224, 224)) for frame in frames_bgr]))
        video = video.permute(3, 0, 1, 2).float()  # (3, T, 224, 224), raw 0..255
        cepstra = torch.from_numpy(mfcc(audio_pcm16, 16000).T).float()  # (13, F)
        video_feats, audio_feats = [], []
        for start in range(0, num_windows, self.batch_size):
            windows = range(start, min(num_windows, start + self.batch_size))
            clips = torch.stack([video[:, v : v + FRAMES_PER_WINDOW] for v in windows])
            mfcc_windows = torch.stack([
                cepstra[None, :, MFCC_COLUMNS_PER_FRAME * v : MFCC_COLUMNS_PER_FRAME * (v + FRAMES_PER_WINDOW)]
                for v in windows
            ])
            video_feats.append(self.model.forward_lip(clips.to(self.device)).float().cpu())
            audio_feats.append(self.model.forward_aud(mfcc_windows.to(self.device)).float().cpu())
        return torch.cat(video_feats), torch.cat(audio_feats)
