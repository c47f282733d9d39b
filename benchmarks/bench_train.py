"""Training speed and memory: U-Net steps/s, data-loader samples/s, peak host and device memory.

``python benchmarks/bench_train.py`` runs the tiny test models on the CPU. On a GPU,
``python benchmarks/bench_train.py --unet_config configs/unet/stage2.yaml`` builds the real stage-1/2 networks
with random weights (VAE, SyncNet, LPIPS trunk and the ViT-g of TREPA included: only speed and memory are
measured) and compares gradient checkpointing and TREPA half precision on and off. ``--fileslist`` adds the
data loader's samples/s for each ``--workers`` count. The frozen models run as ``frozen_model_precision`` decides
for the device (the trainer's settings). ``--stage2_memory`` prints, for a stage-2 step at 256 px
(``stage2.yaml``) and 512 px (``stage2_512.yaml``), those settings and, on a GPU, the step's peak memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch
from diffusers import AutoencoderKL
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latentsync.losses.perceptual import load_lpips  # noqa: E402
from latentsync.losses.trepa import TREPALoss  # noqa: E402
from latentsync.models.stable_syncnet import StableSyncNet  # noqa: E402
from latentsync.models.unet_loading import unet_from_config  # noqa: E402
from latentsync.models.videomae import VisionTransformer, vit_giant_patch14_224  # noqa: E402
from latentsync.pipelines.loading import load_scheduler  # noqa: E402
from latentsync.training.frozen_precision import FrozenModelPrecision, frozen_model_precision  # noqa: E402
from latentsync.training.optimization import backward, clip_and_step  # noqa: E402
from latentsync.training.step_settings import UNetStepSettings  # noqa: E402
from latentsync.training.unet_step import UNetStepModels, unet_training_step  # noqa: E402
from latentsync.utils.device import resolve_device  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SD_VAE = dict(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
              up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, layers_per_block=2, sample_size=512)
TINY_VAE = dict(block_out_channels=(8, 8, 8, 8), down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, norm_num_groups=4, layers_per_block=1)
# StableSyncNet at 32 px (the syncnet_16_pixel schema with fewer, narrower blocks): 16 frames x 3 channels of the
# lower half (16x32), and the 80x52 mel window.
TINY_SYNCNET = dict(
    audio_encoder=dict(in_channels=1, block_out_channels=[32, 32, 32, 32, 32, 64], attn_blocks=[0, 1, 1, 0, 0, 0],
                       downsample_factors=[[2, 1], 2, 3, 3, 1, [2, 3]], dropout=0.0),
    visual_encoder=dict(in_channels=48, block_out_channels=[32, 32, 32, 32, 64], attn_blocks=[0, 1, 1, 0, 0],
                        downsample_factors=[[1, 2], 2, 2, 2, 2], dropout=0.0))
TINY_VIDEOMAE = dict(img_size=224, patch_size=14, embed_dim=48, depth=2, num_heads=4, mlp_ratio=48 / 11,
                     qkv_bias=True, num_classes=174, all_frames=16, tubelet_size=2, use_mean_pooling=True)


def tiny_unet_config() -> dict:
    from tests.helpers.tiny_models import TINY_RESOLUTION, tiny_unet_model_config
    config = OmegaConf.load(REPO_ROOT / "configs" / "unet" / "stage2.yaml")
    config.model = OmegaConf.merge(config.model, tiny_unet_model_config(64))
    config.data.resolution = TINY_RESOLUTION
    return config


def build_models(config, device: torch.device, gradient_checkpointing: bool, trepa_half: bool, tiny: bool):
    """Random-weight U-Net (trainable modules as the config says), frozen VAE, SyncNet, LPIPS and TREPA, the frozen
    ones in the dtypes and with the checkpointing ``frozen_model_precision`` gives (TREPA's dtype: ``trepa_half``)."""
    frozen = frozen_model_precision(device, config)
    unet = unet_from_config(config).to(device)
    trainable_modules = config.run.get("trainable_modules")
    unet.requires_grad_(not trainable_modules)
    trainable = [p for n, p in unet.named_parameters() if not trainable_modules or any(m in n for m in trainable_modules)]
    for parameter in trainable:
        parameter.requires_grad_(True)
    if gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    unet.train()
    vae = AutoencoderKL(**(TINY_VAE if tiny else SD_VAE)).to(device, frozen.vae_dtype).requires_grad_(False)
    if frozen.vae_gradient_checkpointing:
        vae.enable_gradient_checkpointing()
    vae.config.scaling_factor = 0.18215
    vae.config.shift_factor = 0
    syncnet_config = OmegaConf.load(REPO_ROOT / config.data.syncnet_config_path)
    if tiny:
        syncnet_config.model = OmegaConf.create(TINY_SYNCNET)
        syncnet_config.data.resolution = 32
    syncnet = StableSyncNet(syncnet_config.model, gradient_checkpointing=frozen.syncnet_gradient_checkpointing)
    syncnet.to(device, frozen.syncnet_dtype).requires_grad_(False).eval()
    trepa_checkpointing = frozen.trepa_gradient_checkpointing
    videomae = (VisionTransformer(**TINY_VIDEOMAE, gradient_checkpointing=trepa_checkpointing) if tiny
                else vit_giant_patch14_224(gradient_checkpointing=trepa_checkpointing))
    videomae.to(device=device, dtype=torch.float16 if trepa_half else torch.float32)
    models = UNetStepModels(unet=unet, vae=vae, noise_scheduler=load_scheduler(),
                            syncnet=syncnet, syncnet_resolution=syncnet_config.data.resolution,
                            syncnet_lower_half=syncnet_config.data.lower_half,
                            syncnet_latent_space=syncnet_config.data.latent_space,
                            lpips=load_lpips(device, pnet_rand=True), trepa=TREPALoss(videomae))
    return models, trainable, frozen


def synthetic_batch(config, device: torch.device, audio_dim: int) -> tuple[dict, torch.Tensor]:
    b, f, r = config.data.batch_size, config.data.num_frames, config.data.resolution
    pixels = lambda: torch.rand(b, f, 3, r, r, device=device) * 2 - 1  # noqa: E731
    masks = torch.ones(b, f, 1, r, r, device=device)
    masks[..., r // 2:, :] = 0
    gt = pixels()
    batch = {"gt_pixel_values": gt, "masked_pixel_values": gt * masks, "masks": masks, "ref_pixel_values": pixels(),
             "mel": torch.randn(b, 1, 80, 52, device=device)}
    return batch, torch.randn(b, f, 50, audio_dim, device=device)


def bench_steps(config, device, steps: int, gradient_checkpointing: bool, trepa_half: bool, tiny: bool) -> str:
    models, trainable, _ = build_models(config, device, gradient_checkpointing, trepa_half, tiny)
    settings = UNetStepSettings.from_config(config, autocast_dtype=torch.float16 if device.type == "cuda" else None)
    optimizer = torch.optim.AdamW(trainable, lr=1e-5)
    scaler = torch.amp.GradScaler("cuda") if device.type == "cuda" else None
    batch, audio = synthetic_batch(config, device, config.model.cross_attention_dim)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for index in range(steps + 1):  # the first step warms up (allocator, kernels) and is not timed
        if index == 1:
            _sync(device)
            started = time.perf_counter()
        output = unet_training_step(batch, audio, models, settings)
        backward(output.loss, scaler)
        clip_and_step(optimizer, trainable, 1.0, scaler)
    _sync(device)
    seconds = (time.perf_counter() - started) / steps
    device_peak = f"{torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB" if device.type == "cuda" else "-"
    return (f"| {'on' if gradient_checkpointing else 'off'} | {'fp16' if trepa_half else 'fp32'} | "
            f"{1 / seconds:.2f} | {config.data.batch_size / seconds:.2f} | {_host_peak_mib():.0f} MiB | {device_peak} |")


def stage2_memory(device: torch.device, steps: int) -> list[str]:
    """Peak device memory of a stage-2 step at 256 and 512 px with the trainer's settings (batch 1, real networks);
    on the CPU only the settings, since the real networks' figures there mean nothing for a GPU run."""
    rows = []
    for name in ("stage2.yaml", "stage2_512.yaml"):
        config = OmegaConf.load(REPO_ROOT / "configs" / "unet" / name)
        config.data.batch_size = 1
        frozen: FrozenModelPrecision = frozen_model_precision(device, config)
        row = f"| {name} | {config.data.resolution} | {frozen.describe()} |"
        if device.type != "cuda":
            on_cuda = frozen_model_precision("cuda", config).describe()
            rows.append(row + f" no GPU: settings only (on CUDA: {on_cuda}) |")
            continue
        try:
            figure = bench_steps(config, device, steps, config.run.enable_gradient_checkpointing,
                                 frozen.trepa_dtype == torch.float16, tiny=False)
            rows.append(row + " " + figure.split("|")[-2].strip() + " |")
        except torch.OutOfMemoryError:
            rows.append(row + " out of memory |")
        torch.cuda.empty_cache()
    return rows


def bench_loader(config, fileslist: str, workers: list[int], batches: int) -> list[str]:
    from latentsync.data import UNetDataset  # only needed for the loader figures

    config.data.train_fileslist = fileslist
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        config.data.audio_mel_cache_dir = cache
        dataset = UNetDataset.from_config(config, seed=0)
        for num_workers in workers:
            loader = torch.utils.data.DataLoader(dataset, batch_size=config.data.batch_size, shuffle=True,
                                                 num_workers=num_workers, drop_last=True)
            started, samples = time.perf_counter(), 0
            while samples < batches * config.data.batch_size:
                for batch in loader:
                    samples += len(batch["gt_pixel_values"])
                    if samples >= batches * config.data.batch_size:
                        break
            rows.append(f"| {num_workers} | {samples / (time.perf_counter() - started):.1f} |")
    return rows


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _host_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unet_config", default="tiny", help="'tiny' (test models) or configs/unet/*.yaml")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per variant (0: loader figures only)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--fileslist", default=None, help="processed clips for the data-loader figures")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--stage2_memory", action="store_true",
                        help="only the stage-2 step at 256 and 512 px: the frozen models' settings, GPU peak memory")
    args = parser.parse_args()
    device = resolve_device(args.device)
    if args.stage2_memory:
        print(f"stage-2 step, batch 1 x 16 frames, on {device}\n| config | px | frozen models | peak device |\n"
              "|---|---:|---|---:|")
        print("\n".join(stage2_memory(device, max(args.steps, 1))), flush=True)
        return
    tiny = args.unet_config == "tiny"
    config = tiny_unet_config() if tiny else OmegaConf.load(args.unet_config)
    print(f"{args.unet_config} on {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}),"
          f" batch {config.data.batch_size} x {config.data.num_frames} frames at {config.data.resolution}px")
    if args.steps > 0:
        print("| gradient checkpointing | TREPA | steps/s | samples/s | peak host | peak device |\n|---|---|---:|---:|---:|---:|")
    for checkpointing in ((False, True) if args.steps > 0 else ()):
        for trepa_half in ((False, True) if device.type == "cuda" else (False,)):
            try:
                print(bench_steps(config, device, args.steps, checkpointing, trepa_half, tiny), flush=True)
            except torch.OutOfMemoryError:
                print(f"| {'on' if checkpointing else 'off'} | {'fp16' if trepa_half else 'fp32'} | out of memory |")
                torch.cuda.empty_cache()
    if args.fileslist:
        print("\n| loader workers | samples/s |\n|---:|---:|")
        print("\n".join(bench_loader(config, args.fileslist, args.workers, args.batches)))


if __name__ == "__main__":
    main()
