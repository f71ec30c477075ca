"""Backbone features for feature-extraction transfer, with an on-disk cache.

The frozen backbone sees every training image once; its pooled features (N, D) are saved under
``<dlcourse cache>/features/<key>.pt``, where the key hashes the architecture, the weights, the
image size and the data set's pixels and labels. A second run (another head learning rate, more
epochs) skips the backbone entirely, which is what makes CPU experiments quick.

Everything here takes plain values: a backbone module, its :class:`BackboneInfo`, a data set
and the :class:`~dlcourse.vision.pipeline.Pipeline` that feeds it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Subset

from dlcourse.engine.checkpoint import load_checkpoint, save_checkpoint
from dlcourse.engine.distributed import (
    active_ranks,
    all_reduce_sum,
    gather_shards,
    is_main_process,
)
from dlcourse.errors import DlcourseError
from dlcourse.vision.data import ArrayImageDataset
from dlcourse.vision.models import BackboneInfo
from dlcourse.vision.pipeline import Pipeline, eval_mode, run_batches

log = logging.getLogger(__name__)


def feature_cache_dir() -> Path:
    """Where cached features live: ``<dlcourse cache>/features``."""
    from dlcourse.data.cache import cache_folder

    return cache_folder("features")


def feature_key(info: BackboneInfo, image_size: int, ds: ArrayImageDataset) -> str:
    """Cache key of ``ds``'s features under a backbone's weights at ``image_size`` px."""
    weights = info.weights
    if weights.startswith("file:"):                    # a local file may be overwritten
        stat = Path(weights[5:]).expanduser().stat()
        weights += f"|{stat.st_size}|{stat.st_mtime_ns}"
    raw = f"{info.arch}|{weights}|{image_size}|{ds.fingerprint()}"
    if ds.images.shape[-2] != ds.images.shape[-1]:
        # non-square images were stretched by earlier versions, now they are centre-cropped:
        # features cached from the stretched images must not be read back
        raw += "|centre-crop"
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


def compute_features(backbone: nn.Module, ds, pipe: Pipeline) -> torch.Tensor:
    """Run ``backbone`` (eval mode, eval preprocessing) over ``ds``: (N, D) float32 on the CPU."""
    with eval_mode(backbone):
        return run_batches(backbone, ds, pipe)


def extract_features(backbone: nn.Module, info: BackboneInfo, ds: ArrayImageDataset,
                     pipe: Pipeline, *, cache: bool = True) -> torch.Tensor:
    """Features (N, D) of ``ds``, from the cache when ``cache`` allows it.

    Randomly initialised backbones are never cached (the key does not capture their weights).

    Under a process group the cache is used only when every rank finds it; otherwise rank r runs
    the backbone over images r, r + N, r + 2N ..., the shards are gathered (every rank ends with
    all rows, in order) and rank 0 alone writes the cache. N ranks thus extract N times faster
    than one, and nobody waits at a barrier while one rank does all the work (gloo's barrier
    times out after 30 minutes).

    Example:
        >>> from dlcourse.vision.models import build_backbone        # doctest: +SKIP
        >>> backbone, info = build_backbone("efficientnet_lite0")    # doctest: +SKIP
        >>> pipe = Pipeline.build(info, 32, torch.device("cpu"))     # doctest: +SKIP
        >>> feats = extract_features(backbone, info, ds, pipe)      # doctest: +SKIP
        >>> feats.shape[1]                                          # doctest: +SKIP
        1280
    """
    size = pipe.preprocess.size
    use_cache = cache and info.weights != "none"
    path = feature_cache_dir() / f"{feature_key(info, size, ds)}.pt" if use_cache else None
    feats = _read_cache(path, len(ds)) if path is not None else None
    rank, world = active_ranks()
    if world > 1:
        everywhere = all_reduce_sum([float(feats is not None)])[0] == world
        feats = feats if everywhere else None
    if feats is not None:
        log.info("features of %d images from cache %s", len(ds), path)
        return feats
    start = time.perf_counter()
    if world > 1:
        part = compute_features(backbone, Subset(ds, range(rank, len(ds), world)), pipe)
        feats = gather_shards(part, len(ds))
    else:
        feats = compute_features(backbone, ds, pipe)
    seconds = time.perf_counter() - start
    log.info("extracted features of %d images in %.1f s (%.0f images/s)", len(ds), seconds,
             len(ds) / max(seconds, 1e-9))
    if path is not None and is_main_process():
        save_checkpoint(path, {"features": feats, "arch": info.arch, "weights": info.weights,
                               "image_size": size})
    return feats


def _read_cache(path: Path, n: int) -> torch.Tensor | None:
    """The cached features at ``path`` when they exist and have ``n`` rows, else None.

    A file that cannot be read (cut short, overwritten) only costs a warning: the features are
    derived data, computed again and written over it.
    """
    if not path.exists():
        return None
    try:
        feats = load_checkpoint(path).get("features")
    except DlcourseError as exc:
        log.warning("ignoring the feature cache: %s; computing the features again", exc)
        return None
    return feats if torch.is_tensor(feats) and feats.shape[0] == n else None
