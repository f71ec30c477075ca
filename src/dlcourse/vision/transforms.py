"""Batch preprocessing on the training device: uint8 -> float, grey -> RGB, resize, augment,
normalise.

Doing this per batch (instead of per PIL image in the loader) keeps CPU runs simple and lets a
GPU do the resizing. The evaluation path is the backbone's own preprocessing (the weights'
``transforms()``: resize to ``size``, mean/std), after a centre crop of non-square images as
image files get; training adds a random crop and flip.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BatchPreprocess(nn.Module):
    """Turn a uint8 batch (B, C, H, W), C in {1, 3}, into a normalised float batch (B, 3, S, S).

    Non-square images are cropped to their centre square before they are resized, as
    :func:`~dlcourse.vision.images.load_image` resizes the shorter side and crops a file's.

    Args:
        size: output side ``S`` in pixels, >= 8.
        mean: per-channel (RGB) means of the normalisation of [0, 1] pixels (the weights' own).
        std: per-channel (RGB) standard deviations of that normalisation.
        augment: in training mode, a random crop (up to 1/8 of the side shifted, zero padding)
            and, with ``hflip``, a random horizontal flip per image.
        hflip: allow flips (off for digits, where a flipped 2 is no 2).

    Raises:
        InputError: ``size`` below 8.

    Example:
        >>> pre = BatchPreprocess(32, IMAGENET_MEAN, IMAGENET_STD).eval()
        >>> pre(torch.zeros(2, 1, 28, 28, dtype=torch.uint8)).shape
        torch.Size([2, 3, 32, 32])
    """

    def __init__(self, size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD, augment: bool = False,
                 hflip: bool = True):
        super().__init__()
        if size < 8:
            raise InputError(f"image size must be >= 8 pixels, got {size}")
        self.size = int(size)
        self.augment = augment
        self.hflip = hflip
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(self.mean.device, torch.float32) / 255.0  # (B, C, H, W) in [0, 1]
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)                          # grey -> (B, 3, H, W)
        h, w = x.shape[-2:]
        if h != w:
            # the centre square, as files are cropped (predict, image folders): a stretch
            # would train and evaluate on distorted shapes that predictions never see
            side = min(h, w)
            top, left = (h - side) // 2, (w - side) // 2
            x = x[..., top:top + side, left:left + side]
        if x.shape[-2:] != (self.size, self.size):
            down = min(x.shape[-2:]) > self.size                 # antialias only when shrinking
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear",
                              align_corners=False, antialias=down)
        if self.training and self.augment:
            x = self._augment(x)
        return (x - self.mean) / self.std                        # (B, 3, S, S)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        b, _, s, _ = x.shape
        pad = max(1, s // 8)
        padded = F.pad(x, [pad, pad, pad, pad])                 # (B, 3, S+2p, S+2p)
        # one random offset per image; gather the crops with a batched index instead of a loop
        off = torch.randint(0, 2 * pad + 1, (b, 2), device=x.device)
        rows = (off[:, 0:1] + torch.arange(s, device=x.device))  # (B, S)
        cols = (off[:, 1:2] + torch.arange(s, device=x.device))  # (B, S)
        bi = torch.arange(b, device=x.device)[:, None, None]
        x = padded.permute(0, 2, 3, 1)[bi, rows[:, :, None], cols[:, None, :]]  # (B, S, S, 3)
        x = x.permute(0, 3, 1, 2)
        if self.hflip:
            flip = torch.rand(b, device=x.device) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return x.contiguous()
