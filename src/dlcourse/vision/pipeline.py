"""How images reach a network, once for every pass: batching, device, precision, memory layout.

:class:`Pipeline` holds plain values (an eval-mode :class:`BatchPreprocess`, the device, AMP,
channels_last, batch size, DataLoader workers). :func:`run_batches` is the one loop that
pushes a data set through a module in order: class logits, backbone features and the
batch-norm recalibration (:func:`recalibrate_batchnorm`) all use it, so they preprocess and
autocast exactly as training does.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from dlcourse.engine.distributed import active_ranks, gather_shards
from dlcourse.engine.loop import autocast
from dlcourse.vision.models import BackboneInfo
from dlcourse.vision.transforms import BatchPreprocess
from dlcourse.vision.workers import default_num_workers


@dataclass(frozen=True)
class Pipeline:
    """The evaluation path of images into a network (plain values, no estimator).

    Attributes:
        preprocess: uint8 (B, C, H, W) -> normalised float (B, 3, S, S), in eval mode, on
            ``device``.
        device: where the network runs.
        amp: autocast as in training (:func:`dlcourse.engine.loop.autocast`).
        channels_last: feed the network channels_last tensors (CUDA convolutions).
        batch_size: images per forward pass.
        num_workers: DataLoader worker processes.
    """

    preprocess: BatchPreprocess
    device: torch.device
    amp: bool = False
    channels_last: bool = False
    batch_size: int = 64
    num_workers: int = 0

    @classmethod
    def build(cls, info: BackboneInfo, image_size: int, device: torch.device, *,
              amp: bool = True, channels_last: bool = True, batch_size: int = 64,
              num_workers: int | None = None, augment: bool = False,
              hflip: bool = True) -> Pipeline:
        """The pipeline of a backbone: its mean/std at ``image_size`` px on ``device``.

        ``amp`` and ``channels_last`` apply on CUDA only. ``augment``/``hflip`` configure the
        random crop and flip that :meth:`training_preprocess` turns on.

        Args:
            info: the backbone's metadata (its ``mean`` and ``std`` normalise the pixels).
            image_size: side ``S`` in pixels of the network's input, >= 8.
            device: where the network runs (the preprocessing moves there too).
            amp: autocast in mixed precision (CUDA only).
            channels_last: feed channels_last tensors (CUDA only).
            batch_size: images per forward pass.
            num_workers: DataLoader worker processes; None: 0 on a CPU, up to 8 on a GPU
                (:func:`~dlcourse.vision.workers.default_num_workers`).
            augment: random crop when training (see :class:`BatchPreprocess`).
            hflip: random horizontal flips too when augmenting.
        """
        pre = BatchPreprocess(image_size, info.mean, info.std, augment=augment, hflip=hflip)
        cuda = device.type == "cuda"
        return cls(pre.eval().to(device), device, amp and cuda, channels_last and cuda,
                   batch_size, default_num_workers(device.type, num_workers))

    def training_preprocess(self) -> BatchPreprocess:
        """A copy of the preprocessing in training mode (random crop/flip when augmenting)."""
        return copy.deepcopy(self.preprocess).train()

    def prepare(self, images: torch.Tensor, preprocess: BatchPreprocess | None = None
                ) -> torch.Tensor:
        """uint8 images on any device -> the network's input (B, 3, S, S) on ``device``.

        Args:
            images: uint8 batch (B, C, H, W), C = 1 or 3.
            preprocess: the preprocessing to apply (e.g. :meth:`training_preprocess`'s);
                None: the pipeline's own, in eval mode.
        """
        pre = self.preprocess if preprocess is None else preprocess
        x = pre(images.to(self.device, non_blocking=True))
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def loader(self, ds: Dataset) -> DataLoader:
        """In-order batches of ``ds`` (evaluation, features, batch-norm statistics).

        A private generator: iterating must not move the global RNG, or evaluating between two
        epochs would change the next epoch's batches and augmentation.

        Args:
            ds: a data set of ``(uint8 image (C, H, W), label)`` pairs.
        """
        return DataLoader(ds, batch_size=self.batch_size, shuffle=False,
                          generator=torch.Generator(), num_workers=self.num_workers,
                          pin_memory=self.device.type == "cuda")


@torch.no_grad()
def run_batches(module: nn.Module, ds: Dataset, pipe: Pipeline, *, max_images: int | None = None,
                keep: bool = True) -> torch.Tensor | None:
    """Push ``ds`` through ``module`` in order; return the outputs (N, ...) float32 on the CPU.

    The module's train/eval state is left to the caller (see :func:`eval_mode`). Outputs stay
    on the device until the end, so a GPU pass has one host sync rather than one per batch.
    With ``max_images`` only the first batches covering that many images run; ``keep=False``
    returns None (a pass run for its side effects, such as batch-norm statistics).
    """
    outputs, seen = [], 0
    for images, _ in pipe.loader(ds):
        with autocast(pipe.device, pipe.amp):
            out = module(pipe.prepare(images))
        if keep:
            outputs.append(out.float())
        seen += len(images)
        if max_images is not None and seen >= max_images:
            break
    if not keep:
        return None
    if not outputs:  # an empty data set (a rank's empty shard): zero rows of the right width
        return _empty_output(module, ds, pipe)
    return torch.cat(outputs).cpu()


def _empty_output(module: nn.Module, ds: Dataset, pipe: Pipeline) -> torch.Tensor:
    width = getattr(module, "out_features", None)
    if width is None:
        size = pipe.preprocess.size
        probe = torch.zeros(1, 3, size, size, device=pipe.device)
        with autocast(pipe.device, pipe.amp):
            width = module(probe).shape[1]
    return torch.zeros(0, width)


def logits_of(model: nn.Module, ds: Dataset, pipe: Pipeline, *,
              collective: bool = False) -> torch.Tensor:
    """The eval-mode outputs (N, K) of ``model`` for every image of ``ds``, on the CPU.

    With ``collective`` under a process group each rank scores every N-th image and the shards
    are gathered, so every rank returns all rows (every rank must call it).
    """
    rank, world = active_ranks() if collective else (0, 1)
    with eval_mode(model):
        if world == 1:
            return run_batches(model, ds, pipe)
        part = run_batches(model, Subset(ds, range(rank, len(ds), world)), pipe)
        return gather_shards(part, len(ds))


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Put ``module`` in eval mode for the block, then back in the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, ds: Dataset, pipe: Pipeline, max_images: int) -> None:
    """Recompute every BatchNorm's running mean/var as the exact average over the first
    ``max_images`` images of ``ds`` (eval preprocessing) with the current weights ("precise BN").

    Running averages lag behind quickly changing weights; in short runs from scratch that makes
    the eval-mode network predict a single class. Only buffers change, so training itself is
    unaffected; ``max_images=0`` does nothing.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if len(ds) % pipe.batch_size == 1:
        # a last batch of one image has no variance (torch refuses it once the feature map is
        # 1x1): stop before it; len(ds) - 1 images are whole batches
        max_images = min(max_images, len(ds) - 1)
    if not bns or max_images <= 0:
        return
    saved = [m.momentum for m in bns]
    with eval_mode(model):                                # no dropout / stochastic depth
        for m in bns:
            m.reset_running_stats()
            m.momentum = None                             # cumulative average over the batches
            m.train()
        try:
            run_batches(model, ds, pipe, max_images=max_images, keep=False)
        finally:
            for m, momentum in zip(bns, saved):
                m.momentum = momentum
