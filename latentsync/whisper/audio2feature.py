"""Per-layer Whisper encoder features and the per-video-frame windows the UNet attends to.

The encoder comes from the ``openai-whisper`` package (``whisper.load_model``), but the package's
``transcribe`` is never used: the original LatentSync computes the log-mel once for the whole file,
cuts it into 30 s windows right-padded with 0.0 and keeps every encoder block's hidden state, which
``transcribe`` (30 s of zero-audio padding, text decoding, timestamp seeking) does not reproduce.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
import whisper
from whisper.audio import HOP_LENGTH, N_FRAMES
from whisper.model import disable_sdpa

from latentsync.errors import CheckpointError, InputError
from latentsync.io.audio_reader import load_audio
from latentsync.models.checkpoint_files import unreadable_checkpoint
from latentsync.whisper.audio_context import AUDIO_CONTEXTS
from latentsync.whisper.chunk_count import WHISPER_FPS, num_chunks
from latentsync.whisper.feature_cache import FeatureCache, sha256_file, sha256_waveform
from latentsync.whisper.seam_windows import blend_seam, seam_windows


def whisper_segments(num_mel_frames: int) -> list[tuple[int, int, int]]:
    """``(start, end, frames kept)`` for each 30 s encoder window over a ``num_mel_frames`` log-mel.

    The last window is zero-padded to 3000 mel frames; only the encoder frames that cover real
    audio (half its mel frames, the convolution has stride 2) are kept.
    """
    segments = []
    for start in range(0, num_mel_frames, N_FRAMES):
        end = min(start + N_FRAMES, num_mel_frames)
        segments.append((start, end, (end - start) // 2))
    return segments


def chunk_indices(
    video_frames: np.ndarray, num_features: int, fps: float = 25, audio_feat_length: tuple[int, int] = (2, 2)
) -> torch.Tensor:
    """Encoder-frame indices ``(len(video_frames), window)`` feeding each video frame.

    Frame ``i`` is centred on encoder frame ``int(i * 50 / fps)`` and sees ``2 * left`` frames before
    and ``2 * (right + 1)`` from the centre on (``-4 .. +5`` by default); indices outside the audio
    are clamped, repeating the first or last frame. The factor 2 (encoder frames per video frame at
    25 fps) is fixed in the original whatever ``fps`` is, so it is fixed here too.
    """
    left, right = audio_feat_length
    centers = np.floor(np.asarray(video_frames, dtype=np.int64) * WHISPER_FPS / fps).astype(np.int64)
    offsets = np.arange(-2 * left, 2 * (right + 1))
    return torch.from_numpy(np.clip(centers[:, None] + offsets, 0, num_features - 1))


class Audio2Feature:
    """Turns speech into the Whisper features that condition the LatentSync UNet.

    ``audio2feat`` returns ``(T, num_layers, embedding_dim)`` at 50 Hz; ``feature2chunks`` regroups
    them into one ``(window * num_layers, embedding_dim)`` block per 25 fps video frame.
    """

    def __init__(
        self,
        model_path: str | Path,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        num_frames: int = 16,
        audio_feat_length: tuple[int, int] = (2, 2),
        cache_dir: str | Path | None = None,
    ):
        checkpoint = Path(model_path)
        if not checkpoint.is_file():
            raise CheckpointError(
                f"Whisper checkpoint {checkpoint} not found; run ./setup_env.sh to download it "
                "(whisper/tiny.pt from the Hugging Face repo ByteDance/LatentSync-1.6)"
            )
        self.device = torch.device(device)
        self.dtype = dtype
        try:
            # An absolute path, so a file named like an official model ("tiny") is never downloaded instead.
            model = whisper.load_model(str(checkpoint.resolve()), device=self.device)
        except (RuntimeError, KeyError, TypeError, EOFError, pickle.UnpicklingError):
            raise unreadable_checkpoint(checkpoint, "Whisper checkpoint") from None
        # The checkpoint's fp16-rounded positional embedding has replaced the fresh sinusoids here,
        # as in the original; recomputing them would shift the features by up to 5e-4.
        self.encoder = model.encoder.eval().requires_grad_(False)
        self.embedding_dim: int = model.dims.n_audio_state
        self.num_layers: int = model.dims.n_audio_layer + 1
        self.num_frames = num_frames
        self.audio_feat_length = tuple(audio_feat_length)
        self.cache = (
            None
            if cache_dir is None
            else FeatureCache(cache_dir, sha256_file(checkpoint), variant=f"{dtype}|{self.device.type}")
        )

    def log_mel(self, audio: str | Path | np.ndarray) -> torch.Tensor:
        """Whole-file normalised Whisper log-mel ``(80, M)``; its clamp floor is the file's global max - 8."""
        return whisper.log_mel_spectrogram(torch.from_numpy(self._waveform(audio)))

    def audio2feat(self, audio: str | Path | np.ndarray, context: str = "cut") -> torch.Tensor:
        """Per-layer encoder features ``(T, num_layers, embedding_dim)``, float32 on CPU.

        ``audio`` is a media file or a 16 kHz mono float waveform. Layer 0 is the input of the first
        block, layers 1.. are the block outputs; ``ln_post`` is not applied. ``context``: ``cut`` encodes
        back-to-back 30 s windows (the original); ``overlap`` also encodes a window across each 30 s boundary
        and takes the features there from it (``seam_windows``), so they have no seam.
        """
        if context not in AUDIO_CONTEXTS:
            raise ValueError(f"unknown audio context {context!r}; choose one of {', '.join(AUDIO_CONTEXTS)}")
        waveform = self._waveform(audio)
        if self.cache is None:
            return self._encode(waveform, context)
        digest = sha256_waveform(waveform) if isinstance(audio, np.ndarray) else sha256_file(audio)
        key = digest if context == "cut" else f"{digest}|{context}"
        feature = self.cache.load(key)
        if feature is None:
            feature = self._encode(waveform, context)
            self.cache.save(key, feature)
        return feature

    def feature2chunks(self, feature: torch.Tensor, fps: float = 25) -> torch.Tensor:
        """One conditioning block per video frame: ``(num_chunks, window * num_layers, embedding_dim)``.

        Rows are frame-major: row ``r`` is layer ``r % num_layers`` of the ``r // num_layers``-th window frame.
        """
        frames = np.arange(num_chunks(len(feature), fps))
        return self._gather(feature, frames, fps)

    def crop_overlap_audio_window(self, feature: torch.Tensor, start_index: int, fps: float = 25) -> torch.Tensor:
        """Training window ``(num_frames, window * num_layers, embedding_dim)`` for video frames from ``start_index``.

        Takes the ``audio2feat`` feature (as the original does) and equals
        ``feature2chunks(feature, fps)[start_index:start_index + num_frames]`` wherever that slice is full;
        past the end it keeps clamping instead of returning fewer frames.
        """
        return self._gather(feature, np.arange(start_index, start_index + self.num_frames), fps=fps)

    def _gather(self, feature: torch.Tensor, video_frames: np.ndarray, fps: float) -> torch.Tensor:
        indices = chunk_indices(video_frames, len(feature), fps, self.audio_feat_length)
        return feature[indices.reshape(-1)].reshape(len(video_frames), -1, feature.shape[-1])

    def _waveform(self, audio: str | Path | np.ndarray) -> np.ndarray:
        """Decode a file, or validate an in-memory waveform, and reject clips too short to give one encoder frame."""
        if isinstance(audio, np.ndarray):
            source = "the audio array"
            if audio.ndim != 1:
                raise InputError(f"{source} has shape {audio.shape}; pass a 1-D 16 kHz mono waveform")
            waveform = np.ascontiguousarray(audio, dtype=np.float32)
        else:
            source = str(audio)
            waveform = load_audio(audio)
        if len(waveform) < 2 * HOP_LENGTH:
            raise InputError(
                f"{source} holds only {len(waveform)} samples at 16 kHz; use at least {2 * HOP_LENGTH} (20 ms) of audio"
            )
        return waveform

    def _encode(self, waveform: np.ndarray, context: str) -> torch.Tensor:
        mel = whisper.log_mel_spectrogram(torch.from_numpy(waveform))
        segments = whisper_segments(mel.shape[-1])
        features = torch.cat(
            [
                self._encode_segment(whisper.pad_or_trim(mel[:, start:end], N_FRAMES))[:kept]
                for start, end, kept in segments
            ]
        )
        if context == "overlap":
            for start, end in seam_windows(mel.shape[-1]):
                seam = self._encode_segment(whisper.pad_or_trim(mel[:, start:end], N_FRAMES))[: (end - start) // 2]
                blend_seam(features, seam, start)
        return features

    @torch.no_grad()
    def _encode_segment(self, mel_segment: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(1500, num_layers, embedding_dim)`` of one padded ``(80, 3000)`` log-mel window.

        In fp16 the mel is cast to half and whisper's own modules cast weights per op (LayerNorm and
        softmax in fp32), as the original's default GPU path. SDPA is disabled because the explicit
        attention is what the original computes (bit-identical on CPU).
        """
        states: list[torch.Tensor] = []
        blocks = self.encoder.blocks
        hooks = [blocks[0].register_forward_pre_hook(lambda module, args: states.append(args[0]))]
        hooks += [block.register_forward_hook(lambda module, args, output: states.append(output)) for block in blocks]
        try:
            with disable_sdpa():
                self.encoder(mel_segment[None].to(self.device, self.dtype))
        finally:
            for hook in hooks:
                hook.remove()
        return torch.stack(states, dim=2)[0].float().cpu()
