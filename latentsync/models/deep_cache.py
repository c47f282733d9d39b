"""DeepCache for the 3-D U-Net: reuse the deep features between refresh steps, recompute only a shallow branch.

Reproduces the original's ``DeepCacheSDHelper(cache_interval=3, cache_branch_id=0)`` (``DeepCache`` package
0.1.1), which patches 2-D diffusers U-Nets by module name and so cannot wrap this one. Branch ``b`` (block 0,
``0 <= b <= layers_per_block``) means: on a cached step, run ``conv_in``, down block 0's first ``b`` layers,
the last ``b + 1`` layers of the last up block and the output head; everything else (including down block 0's
remaining layers and downsampler) is the value of the last refresh step. Branch 0, the original's, caches the
whole of down block 0 and every layer of the last up block but the one that reads ``conv_in``'s skip.

The package refreshes on every step whose index in the scheduler's timesteps is a multiple of the interval, so
each window's first step is a refresh and nothing cached crosses windows: one instance per denoising loop
gives the same results.
"""

from __future__ import annotations

import torch

from latentsync.models.unet import UNet3DConditionModel


class DeepCacheUNet:
    """Callable like the U-Net (``(sample, t, encoder_hidden_states) -> .sample``) with a step counter.

    Create one per denoising loop (the cache belongs to one trajectory); ``cache_interval=3, branch=0`` are
    the values of the original ``inference.sh``.
    """

    def __init__(self, unet: UNet3DConditionModel, cache_interval: int = 3, branch: int = 0):
        layers = len(unet.down_blocks[0].resnets)
        if not 0 <= branch <= layers:
            raise ValueError(f"DeepCache branch must be in [0, {layers}], got {branch}")
        if cache_interval < 1:
            raise ValueError(f"DeepCache interval must be at least 1, got {cache_interval}")
        self.unet = unet
        self.cache_interval = cache_interval
        self.branch = branch
        self.step = 0
        self._cached: torch.Tensor | None = None
        # First layer of the last up block that is recomputed; it reads down block 0's layer-`branch - 1` skip
        # (conv_in's for branch 0), and the hidden state entering it is what the cache keeps.
        self._resume_layer = len(unet.up_blocks[-1].resnets) - 1 - branch

    def __call__(self, sample: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor | None):
        refresh = self._cached is None or self.step % self.cache_interval == 0
        self.step += 1
        if refresh:
            return self._full(sample, timestep, encoder_hidden_states)
        return self._shallow(sample, timestep, encoder_hidden_states)

    def _full(self, sample, timestep, encoder_hidden_states):
        last_up = self.unet.up_blocks[-1]

        def keep_input(_module, args):
            self._cached = args[0]

        if self._resume_layer == 0:
            handle = last_up.register_forward_pre_hook(keep_input)
        else:
            layer_end = _layer_output_module(last_up, self._resume_layer - 1)
            handle = layer_end.register_forward_hook(lambda _m, _args, output: setattr(self, "_cached", output))
        try:
            return self.unet(sample, timestep, encoder_hidden_states=encoder_hidden_states)
        finally:
            handle.remove()

    def _shallow(self, sample, timestep, encoder_hidden_states):
        unet = self.unet
        emb = unet.time_embed(timestep, sample.shape[0], sample.device, unet.dtype)
        hidden = unet.conv_in(sample)
        skips = [hidden]
        first_down = unet.down_blocks[0]
        for layer in range(self.branch):
            hidden = first_down._run_layer(layer, hidden, emb, encoder_hidden_states)
            skips.append(hidden)
        last_up = unet.up_blocks[-1]
        hidden = self._cached
        for layer in range(self._resume_layer, len(last_up.resnets)):
            hidden = last_up._run_layer(layer, torch.cat([hidden, skips.pop()], dim=1), emb, encoder_hidden_states)
        out = unet.conv_out(unet.conv_act(unet.conv_norm_out(hidden)))
        return _Output(out)


class _Output:
    """Mimics ``UNet3DConditionOutput`` so callers read ``.sample`` either way."""

    def __init__(self, sample: torch.Tensor):
        self.sample = sample


def _layer_output_module(block, layer: int) -> torch.nn.Module:
    """The module whose output is layer ``layer``'s output (motion module, else transformer, else resnet)."""
    for modules in (block.motion_modules, block.attentions):
        if modules is not None:
            return modules[layer]
    return block.resnets[layer]
