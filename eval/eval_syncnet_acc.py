"""Accuracy of a StableSyncNet on processed (affine-aligned, 25 fps) videos.

Every sampled clip is scored twice: with its own audio (positive, label 1) and with the audio of a
different start frame of the same video (negative, label 0). A pair counts as "in sync" when the cosine
similarity of the embeddings exceeds 0.5.

    python -m eval.eval_syncnet_acc --config configs/syncnet/syncnet_16_pixel_attn.yaml --videos_dir DIR
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from latentsync.evaluation.video_files import list_videos
from latentsync.errors import InputError
from latentsync.io.audio_reader import load_audio
from latentsync.io.video_reader import VideoReader
from latentsync.models.stable_syncnet import (
    StableSyncNet,
    image_sequences_from_frames,
    load_stable_syncnet,
)
from latentsync.utils.syncnet_mel import mel_window, melspectrogram
from latentsync.utils.device import resolve_device, resolve_dtype

REPO_ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def clip_pairs(video_path: Path, config: DictConfig, num_clips: int, min_offset: int,
               rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(frames, aligned mel, shifted mel)``: (F, 3, R, R) in [-1, 1] and two (1, 80, L) windows."""
    num_frames, resolution = config.data.num_frames, config.data.resolution
    reader = VideoReader(video_path)
    mel = melspectrogram(load_audio(video_path, config.data.audio_sample_rate))
    starts = [start for start in range(reader.count_frames() - num_frames + 1)
              if mel_window(mel, start, num_frames, config.data.video_fps) is not None]
    for _ in range(num_clips):
        start = int(rng.choice(starts)) if starts else -1
        wrong_starts = [other for other in starts if abs(other - start) >= min_offset]
        if start < 0 or not wrong_starts:
            tqdm.write(f"skipping {video_path}: too short for a {num_frames}-frame clip plus a shifted one")
            return
        wrong_start = int(rng.choice(wrong_starts))
        frames = np.stack([
            frame if frame.shape[:2] == (resolution, resolution)
            else cv2.resize(frame, (resolution, resolution), interpolation=cv2.INTER_AREA)
            for frame in reader.iter_frames(range(start, start + num_frames))
        ])
        frames = frames.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
        yield (frames, mel_window(mel, start, num_frames, config.data.video_fps),
               mel_window(mel, wrong_start, num_frames, config.data.video_fps))


@torch.inference_mode()
def count_correct(syncnet: StableSyncNet, batch: list[tuple[np.ndarray, np.ndarray, np.ndarray]], lower_half: bool,
                  device: torch.device, dtype: torch.dtype) -> int:
    """Correct predictions among the 2 * len(batch) positive and negative pairs."""
    frames = torch.from_numpy(np.stack([frames for frames, _, _ in batch]))
    images = image_sequences_from_frames(frames, lower_half).to(device, dtype)
    audio = torch.from_numpy(np.stack([mel for _, mel, _ in batch] + [mel for _, _, mel in batch]))
    vision_embeds, audio_embeds = syncnet(torch.cat([images, images]), audio.to(device, dtype))
    in_sync = F.cosine_similarity(vision_embeds.float(), audio_embeds.float()) > 0.5
    labels = torch.arange(len(in_sync), device=in_sync.device) < len(batch)
    return int((in_sync == labels).sum())


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO_ROOT / "configs/syncnet/syncnet_16_pixel_attn.yaml"))
    parser.add_argument("--ckpt_path", default=None, help="default: the config's ckpt.inference_ckpt_path")
    parser.add_argument("--videos_dir", required=True, help="folder of processed videos")
    parser.add_argument("--num_clips", type=int, default=1024, help="clips to sample, each scored twice")
    parser.add_argument("--min_offset", type=int, default=1, help="smallest shift in frames of the negative audio")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", default=None, help="cuda, cpu, ... (default: best available)")
    parser.add_argument("--dtype", default=None, help="float16, float32 (default: float16 on recent GPUs)")
    args = parser.parse_args(argv)

    config = OmegaConf.load(args.config)
    if config.data.latent_space:
        raise InputError(f"{args.config} is a latent-space SyncNet; this evaluation feeds pixels, pick a pixel config")
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    if not (args.ckpt_path or config.ckpt.inference_ckpt_path):
        raise InputError(f"{args.config} names no ckpt.inference_ckpt_path; pass the checkpoint with --ckpt_path")
    ckpt_path = args.ckpt_path or REPO_ROOT / config.ckpt.inference_ckpt_path
    syncnet = load_stable_syncnet(config, ckpt_path, device, dtype)
    videos = list_videos(args.videos_dir)
    rng = np.random.default_rng(args.seed)
    clips_per_video = math.ceil(args.num_clips / len(videos))

    pairs = itertools.chain.from_iterable(
        clip_pairs(video, config, clips_per_video, args.min_offset, rng) for video in videos
    )
    correct = total = 0
    for batch in _batches(tqdm(itertools.islice(pairs, args.num_clips), total=args.num_clips, desc="clips"),
                          args.batch_size):
        correct += count_correct(syncnet, batch, config.data.lower_half, device, dtype)
        total += 2 * len(batch)
    if total == 0:
        raise InputError(f"no video in {args.videos_dir} is long enough for a {config.data.num_frames}-frame clip")
    accuracy = correct / total
    print(f"Accuracy: {accuracy * 100:.2f}% ({correct}/{total} pairs, {total // 2} clips)")
    return accuracy


def command() -> int:
    """Console command ``latentsync-eval-syncnet-acc``: prints the result and exits 0 (``main`` returns the score)."""
    main()
    return 0


if __name__ == "__main__":
    main()
