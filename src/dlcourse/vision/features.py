"""Backbone features for feature-extraction transfer, with an on-disk cache.

The frozen backbone sees every training image once; its pooled features (N, D) are saved under
``<dlcourse cache>/features/<key>.pt``, where the key hashes the architecture, the weights, the
image size and the data set's pixels and labels. A second run (another head learning rate, more
epochs) skips the backbone entirely, which is what makes CPU experiments quick.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch.utils.data import Subset

from dlcourse.engine import load_checkpoint, save_checkpoint
from dlcourse.engine.distributed import (
    all_reduce_sum,
    is_distributed,
    is_main_process,
    rank,
    world_size,
)
from dlcourse.vision.data import ArrayImageDataset

if TYPE_CHECKING:
    from dlcourse.vision.transfer import ImageClassifier

log = logging.getLogger(__name__)


def feature_cache_dir() -> Path:
    """Where cached features live: ``<dlcourse cache>/features``."""
    from dlcourse.data import cache_dir

    return Path(cache_dir()) / "features"


def feature_key(clf: ImageClassifier, ds: ArrayImageDataset) -> str:
    """Cache key of ``ds``'s features under ``clf``'s backbone, weights and image size."""
    info = clf.info_
    weights = info.weights
    if weights.startswith("file:"):                    # a local file may be overwritten
        stat = Path(weights[5:]).expanduser().stat()
        weights += f"|{stat.st_size}|{stat.st_mtime_ns}"
    raw = f"{info.arch}|{weights}|{clf.image_size}|{ds.fingerprint()}"
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


@torch.no_grad()
def compute_features(clf: ImageClassifier, ds: ArrayImageDataset) -> torch.Tensor:
    """Run ``clf``'s backbone (eval mode, eval preprocessing) over ``ds``: (N, D) float32 on CPU."""
    backbone = clf.model_.backbone
    was_training = backbone.training
    backbone.eval()
    pre = clf._preprocess(train=False)
    out = [torch.zeros(0, clf.model_.head.in_features)]          # a rank's shard may be empty
    for x, _ in clf._loader(ds):
        x = clf._prepare(x.to(clf.device_), pre)                   # (B, 3, S, S)
        with torch.autocast("cuda", enabled=clf._amp):
            out.append(backbone(x).float().cpu())                  # (B, D)
    backbone.train(was_training)
    return torch.cat(out)


def extract_features(clf: ImageClassifier, ds: ArrayImageDataset) -> torch.Tensor:
    """Features (N, D) of ``ds``, from the cache when ``clf.config.feature_cache`` allows it.

    Randomly initialised backbones are never cached (their features depend on the seed only
    through the weights, which the key does not capture).

    Under a process group the cache is used only when every rank finds it; otherwise rank r runs
    the backbone over images r, r + N, r + 2N ..., the shards are gathered (every rank ends with
    all N rows, in order) and rank 0 alone writes the cache. N ranks thus extract N times faster
    than one, and nobody waits at a barrier while one rank does all the work (gloo's barrier
    times out after 30 minutes).
    """
    use_cache = clf.config.feature_cache and clf.info_.weights != "none"
    path = feature_cache_dir() / f"{feature_key(clf, ds)}.pt" if use_cache else None
    feats = _read_cache(path, len(ds)) if path is not None else None
    if is_distributed():
        everywhere = all_reduce_sum([float(feats is not None)])[0] == world_size()
        feats = feats if everywhere else None
    if feats is not None:
        log.info("features of %d images from cache %s", len(ds), path)
        return feats
    start = time.perf_counter()
    if is_distributed():
        from dlcourse.engine.distributed import gather_shards

        part = compute_features(clf, Subset(ds, range(rank(), len(ds), world_size())))
        feats = gather_shards(part, len(ds))
    else:
        feats = compute_features(clf, ds)
    seconds = time.perf_counter() - start
    log.info("extracted features of %d images in %.1f s (%.0f images/s)", len(ds), seconds,
             len(ds) / max(seconds, 1e-9))
    if path is not None and is_main_process():
        save_checkpoint(path, {"features": feats, "arch": clf.info_.arch,
                               "weights": clf.info_.weights, "image_size": clf.image_size})
    return feats


def _read_cache(path: Path, n: int) -> torch.Tensor | None:
    """The cached features at ``path`` when they exist and have ``n`` rows, else None."""
    if not path.exists():
        return None
    feats = load_checkpoint(path)["features"]
    return feats if feats.shape[0] == n else None
