"""LatentSync: audio-conditioned latent diffusion for lip sync (checkpoint-compatible re-implementation)."""

__version__ = "0.1.0"
