"""Transfer learning as an estimator: ``ImageClassifier(config).fit(train, valid)``, then
``evaluate`` and ``predict``.

Modes:

- ``features``: the backbone is frozen; its features are computed once (and cached on disk, keyed
  by backbone, weights, image size and data) and only the linear head is trained on them. Fast
  on a CPU. Augmentation does not apply (the features are fixed).
- ``finetune``: the whole network trains, the backbone at ``lr * backbone_lr_mult``; with
  ``unfreeze="gradual"`` the backbone starts frozen and one more chunk of it (from the head side)
  thaws each epoch.

Optimisers: SGD with momentum (the lesson's default: lr 0.001, momentum 0.9) or AdamW; schedules:
cosine, step or none; label smoothing; on CUDA mixed precision and channels_last.

Under torchrun (a process group joined with ``dlcourse.engine.distributed.init_distributed``)
``fit`` trains data-parallel: ``batch_size`` is the global batch, each of the N ranks draws
``batch_size / N`` images per step from its shard of the same seeded permutation (a
``DistributedSampler``, used for one process too), and DistributedDataParallel averages the
gradients, so N processes take the same steps as one process with the whole batch. In
``features`` mode only the head is wrapped (the backbone is frozen); gradual unfreezing needs
``find_unused_parameters`` (frozen chunks get no gradient). Validation metrics are computed from
the logits of every rank gathered in order, so all ranks agree (and stop at the same epoch).
Every rank is seeded alike, so the random crops and flips of ``augment`` repeat across the ranks'
(different) images of a step; a checkpoint holds rank 0's RNG state.

BatchNorm under DDP: each rank normalises with the statistics of its own per-rank batch, and DDP
copies rank 0's running averages to the others before each forward pass, so ``finetune`` with BN
backbones is close to, not exactly, one process with the global batch (the per-rank batch is
smaller). ``sync_bn=True`` converts BN layers to SyncBatchNorm (CUDA only), which normalises with
the statistics of the global batch; ``precise_bn`` recomputes the running averages the same way on
every rank.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Subset, TensorDataset

from dlcourse.engine import (
    fit,
    load_checkpoint,
    resolve_device,
    save_checkpoint,
    seed_everything,
    write_json,
)
from dlcourse.engine.distributed import (
    active_ranks,
    gather_shards,
    is_distributed,
    is_main_process,
    local_rank,
)
from dlcourse.engine.loop import unwrap
from dlcourse.errors import DlcourseError
from dlcourse.vision.data import ArrayImageDataset, load_image
from dlcourse.vision.models import BackboneInfo, backbone_groups, build_model
from dlcourse.vision.transforms import BatchPreprocess

log = logging.getLogger(__name__)

MODES = ("features", "finetune")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "none")
UNFREEZE = ("none", "gradual")


@dataclass
class TransferConfig:
    """Every hyper-parameter of a transfer-learning run (plain types: saved with the model).

    ``image_size=None`` uses the weights' own resolution (224 for the ImageNet backbones); on a
    CPU 64-96 px is practical. ``backbone_lr_mult`` scales the backbone's learning rate in
    ``finetune`` mode. ``unfreeze_groups`` is the number of backbone chunks gradual unfreezing
    thaws, one per epoch. ``precise_bn``: in ``finetune`` mode, recompute the batch-norm
    statistics on up to this many training images before each evaluation and at the end (0: off);
    the running averages lag behind quickly changing weights, which in short runs from scratch
    makes the eval-mode network predict a single class. ``sync_bn``: under torchrun on CUDA,
    normalise with the statistics of the global batch (SyncBatchNorm); ignored otherwise.
    """

    arch: str = "resnet18"
    weights: str = "imagenet"
    mode: str = "features"
    image_size: int | None = None
    epochs: int = 5
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 0.0
    backbone_lr_mult: float = 0.1
    unfreeze: str = "none"
    unfreeze_groups: int = 4
    schedule: str = "cosine"
    step_size: int = 3
    gamma: float = 0.1
    label_smoothing: float = 0.0
    augment: bool = True
    hflip: bool = True
    amp: bool = True
    channels_last: bool = True
    feature_cache: bool = True
    precise_bn: int = 1000
    sync_bn: bool = False
    seed: int = 0
    device: str = "auto"
    progress: bool = False

    def __post_init__(self):
        for name, value, valid in (("mode", self.mode, MODES),
                                   ("optimizer", self.optimizer, OPTIMIZERS),
                                   ("schedule", self.schedule, SCHEDULES),
                                   ("unfreeze", self.unfreeze, UNFREEZE)):
            if value not in valid:
                raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(valid)}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {self.label_smoothing}")

    @classmethod
    def from_dict(cls, d: dict) -> TransferConfig:
        """Rebuild from a saved dict, ignoring keys this version does not know."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class EvalResult:
    """Top-1/top-5 accuracy, mean loss, per-class accuracy, confusion matrix and predictions."""

    top1: float
    top5: float
    loss: float
    per_class: list[float]
    confusion: np.ndarray          # (K, K) counts, rows = true class, columns = predicted
    predictions: np.ndarray        # (N,) predicted class per image
    labels: np.ndarray             # (N,) true class per image
    classes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """The scalar metrics as a plain dict."""
        return {"top1": self.top1, "top5": self.top5, "loss": self.loss}


class ImageClassifier:
    """A pretrained backbone plus a new head, trained on an image data set.

    Parameters:
        config: a :class:`TransferConfig` (or keyword arguments for one).

    Learned attributes (after ``fit`` or ``load``): ``model_`` (a :class:`TransferNet`),
    ``classes_``, ``info_`` (backbone metadata), ``history_`` (per-epoch dicts).

    Example:
        >>> clf = ImageClassifier(arch="efficientnet_lite0", weights="none", image_size=32,
        ...                       epochs=1, batch_size=8)
        >>> ds = ArrayImageDataset(np.zeros((16, 28, 28), np.uint8), np.arange(16) % 2, ["a", "b"])
        >>> clf.fit(ds).evaluate(ds).top1 <= 1.0
        True
    """

    def __init__(self, config: TransferConfig | None = None, **kwargs):
        self.config = config if config is not None else TransferConfig(**kwargs)
        if config is not None and kwargs:
            raise ValueError("pass either a TransferConfig or keyword arguments, not both")

    # ---- building ----------------------------------------------------------------------------
    @property
    def image_size(self) -> int:
        return self.config.image_size or self.info_.image_size

    def _preprocess(self, train: bool) -> BatchPreprocess:
        c = self.config
        pre = BatchPreprocess(self.image_size, self.info_.mean, self.info_.std,
                              augment=c.augment, hflip=c.hflip)
        return pre.train(train).to(self.device_)

    def _prepare(self, x: torch.Tensor, pre: BatchPreprocess) -> torch.Tensor:
        x = pre(x)                                                  # (B, 3, S, S) float
        if self._channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    @property
    def _channels_last(self) -> bool:
        return self.config.channels_last and self.device_.type == "cuda"

    @property
    def _amp(self) -> bool:
        return self.config.amp and self.device_.type == "cuda"

    def _build(self, num_classes: int) -> None:
        c = self.config
        self.device_ = resolve_device(c.device)
        if is_distributed() and self.device_.type == "cuda":
            self.device_ = torch.device("cuda", local_rank())      # one GPU per rank
        self.model_, self.info_ = build_model(c.arch, num_classes, c.weights)
        self.model_.to(self.device_)
        if self._channels_last:
            self.model_.to(memory_format=torch.channels_last)

    # ---- training ----------------------------------------------------------------------------
    def fit(self, train: ArrayImageDataset, valid: ArrayImageDataset | None = None,
            out_dir: str | Path | None = None, resume: bool = False) -> ImageClassifier:
        """Train on ``train`` (evaluating on ``valid`` after each epoch); returns ``self``.

        With ``out_dir`` the engine writes ``last.pt``/``best.pt``/``history.json`` there (and
        ``resume=True`` continues a run); call :meth:`save` for the final model directory.

        Under a process group (call ``dlcourse.engine.distributed.init_distributed`` first: the
        CLI does) every rank calls ``fit`` with the same data and config; the engine
        writes the checkpoints on rank 0, and a run written by N processes resumes with any number.
        Raises ValueError when ``batch_size`` is not a multiple of the number of processes.
        """
        c = self.config
        world = active_ranks()[1]
        if c.batch_size % world:
            raise ValueError(f"batch_size {c.batch_size} (the global batch) must be a multiple of "
                             f"the {world} processes")
        seed_everything(c.seed)
        self.classes_ = list(train.classes)
        self._build(len(self.classes_))
        extra = {"lesson": "vision", "config": self._plain_config(), "classes": self.classes_}
        if c.mode == "features":
            # the engine's last.pt/best.pt then hold the head only (the backbone is unchanged)
            extra["part"] = "head"
            self.history_ = self._fit_features(train, valid, out_dir, resume, extra)
        else:
            self.history_ = self._fit_finetune(train, valid, out_dir, resume, extra)
        return self

    def _optimizer(self, groups: list[dict]) -> torch.optim.Optimizer:
        c = self.config
        if c.optimizer == "sgd":
            return torch.optim.SGD(groups, lr=c.lr, momentum=c.momentum,
                                   weight_decay=c.weight_decay)
        return torch.optim.AdamW(groups, lr=c.lr, weight_decay=c.weight_decay)

    def _scheduler(self, opt: torch.optim.Optimizer):
        c = self.config
        if c.schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=c.epochs)
        if c.schedule == "step":
            return torch.optim.lr_scheduler.StepLR(opt, step_size=c.step_size, gamma=c.gamma)
        return None

    def _loader(self, ds) -> DataLoader:
        """In-order batches of ``ds`` (feature extraction, evaluation, precise BN).

        A private generator: iterating must not move the global RNG, or a cached run would
        train differently.
        """
        return DataLoader(ds, batch_size=self.config.batch_size, shuffle=False,
                          generator=torch.Generator(), pin_memory=self.device_.type == "cuda")

    def _train_loader(self, ds) -> DataLoader:
        """This rank's shuffled training batches of ``batch_size / world_size`` items.

        The permutation depends on the seed and the epoch only (``fit`` calls ``set_epoch``), so
        a resumed run sees the same batches as an unbroken one, and rank r takes every N-th item
        of it: the N per-rank batches of a step together are one process's global batch.
        """
        rank_, world = active_ranks()
        sampler = DistributedSampler(ds, num_replicas=world, rank=rank_, shuffle=True,
                                     seed=self.config.seed)
        return DataLoader(ds, batch_size=self.config.batch_size // world, sampler=sampler,
                          pin_memory=self.device_.type == "cuda")

    def _wrap(self, module: nn.Module, find_unused: bool = False) -> nn.Module:
        """``module`` in DistributedDataParallel under a process group; unchanged otherwise."""
        if not is_distributed():
            return module
        ids = [self.device_.index] if self.device_.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids,
                                       find_unused_parameters=find_unused)

    def _fit_features(self, train, valid, out_dir, resume, extra) -> list[dict]:
        from dlcourse.vision.features import extract_features

        c = self.config
        self.model_.backbone.requires_grad_(False)
        feats = extract_features(self, train)                      # (N, D) on CPU
        valid_feats = extract_features(self, valid) if valid is not None else None
        head = self.model_.head
        loader = self._train_loader(TensorDataset(feats, train.labels))
        criterion = nn.CrossEntropyLoss(label_smoothing=c.label_smoothing)

        def step(model, batch):
            f, y = batch
            return criterion(model(f), y), len(y)

        def evaluate_fn(model):
            # every rank holds all features and the same head: the metrics agree without a
            # reduction
            with torch.no_grad():
                logits = unwrap(model)(valid_feats.to(self.device_))
            y = valid.labels.to(self.device_)
            return {"valid_loss": F.cross_entropy(logits, y).item(),
                    "valid_acc": (logits.argmax(1) == y).float().mean().item()}

        opt = self._optimizer([{"params": head.parameters()}])
        return fit(self._wrap(head), loader, step, opt, c.epochs,
                   evaluate_fn=evaluate_fn if valid else None,
                   scheduler=self._scheduler(opt), device=self.device_, amp=False,
                   out_dir=out_dir, resume=resume, checkpoint_extra=extra,
                   desc="head", progress=c.progress)

    def _fit_finetune(self, train, valid, out_dir, resume, extra) -> list[dict]:
        c = self.config
        net = self.model_
        if c.sync_bn and is_distributed() and self.device_.type == "cuda":
            net = self.model_ = nn.SyncBatchNorm.convert_sync_batchnorm(net)
        pre = self._preprocess(train=True)
        criterion = nn.CrossEntropyLoss(label_smoothing=c.label_smoothing)
        groups = [{"params": list(net.head.parameters()), "lr": c.lr},
                  {"params": list(net.backbone.parameters()), "lr": c.lr * c.backbone_lr_mult}]
        opt = self._optimizer(groups)

        def step(model, batch):
            x, y = batch
            return criterion(model(self._prepare(x, pre)), y), len(y)

        def evaluate_fn(model):
            # the bare network: no DDP buffer broadcasts; each rank evaluates its shard
            recalibrate_batchnorm(unwrap(model), train, self, c.precise_bn)
            r = self._evaluate_model(unwrap(model), valid)
            return {"valid_loss": r.loss, "valid_acc": r.top1}

        on_epoch_start = None
        if c.unfreeze == "gradual":
            chunks = backbone_groups(net.backbone, c.unfreeze_groups)

            def on_epoch_start(epoch: int) -> None:
                # epoch 0: head only; epoch e: the last e chunks of the backbone train as well
                thawed = len(chunks) - min(epoch, len(chunks))
                for i, chunk in enumerate(chunks):
                    for p in chunk:
                        p.requires_grad_(i >= thawed)
                log.info("epoch %d: %d of %d backbone chunks trainable", epoch + 1,
                         len(chunks) - thawed, len(chunks))

        ddp = self._wrap(net, find_unused=c.unfreeze == "gradual")
        history = fit(ddp, self._train_loader(train), step, opt, c.epochs,
                      evaluate_fn=evaluate_fn if valid is not None else None,
                      scheduler=self._scheduler(opt), device=self.device_, amp=self._amp,
                      out_dir=out_dir, resume=resume, checkpoint_extra=extra,
                      on_epoch_start=on_epoch_start, desc="finetune", progress=c.progress)
        recalibrate_batchnorm(net, train, self, c.precise_bn)
        return history

    # ---- evaluation and prediction -----------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise DlcourseError("the classifier is not trained; call fit() or load() first")

    @torch.no_grad()
    def logits(self, ds: ArrayImageDataset) -> torch.Tensor:
        """Class logits (N, K) for every image of ``ds`` (eval preprocessing, no augmentation)."""
        self._check_fitted()
        return self._logits(self.model_, ds)

    @torch.no_grad()
    def _logits(self, model: nn.Module, ds) -> torch.Tensor:
        was_training = model.training
        model.eval()
        pre = self._preprocess(train=False)
        out = [torch.zeros(0, self.model_.head.out_features)]
        for x, _ in self._loader(ds):
            x = self._prepare(x.to(self.device_), pre)
            with torch.autocast("cuda", enabled=self._amp):
                out.append(model(x).float().cpu())
        model.train(was_training)
        return torch.cat(out)                                     # (N, K)

    def _evaluate_model(self, model: nn.Module, ds: ArrayImageDataset) -> EvalResult:
        """Metrics on ``ds``; under a process group each rank scores every N-th image and the
        logits are gathered, so every rank returns the same result (call it on all ranks)."""
        if is_distributed():
            rank_, world = active_ranks()
            part = self._logits(model, Subset(ds, range(rank_, len(ds), world)))
            logits = gather_shards(part, len(ds))
        else:
            logits = self._logits(model, ds)
        return evaluation_from_logits(logits, ds.labels, ds.classes)

    def evaluate(self, ds: ArrayImageDataset) -> EvalResult:
        """Top-1/top-5 accuracy, loss, per-class accuracy and the confusion matrix on ``ds``.

        Under a process group this is collective: every rank calls it and gets the same result.
        """
        self._check_fitted()
        if list(ds.classes) != self.classes_:
            raise DlcourseError(f"data set classes {ds.classes[:5]}... differ from the model's "
                                f"{self.classes_[:5]}...; evaluate on the data it was trained for")
        return self._evaluate_model(self.model_, ds)

    @torch.no_grad()
    def predict_images(self, images: torch.Tensor, k: int = 5) -> list[list[tuple[str, float]]]:
        """Top-``k`` (label, probability) for each uint8 image of a batch (B, C, H, W)."""
        self._check_fitted()
        ds = TensorDataset(images, torch.zeros(len(images), dtype=torch.long))
        probs = self._logits(self.model_, ds).softmax(dim=1)       # (B, K)
        top = probs.topk(min(k, probs.shape[1]), dim=1)
        return [[(self.classes_[int(i)], float(p)) for p, i in zip(ps, idx)]
                for ps, idx in zip(top.values, top.indices)]

    def predict(self, paths, k: int = 5) -> list[list[tuple[str, float]]]:
        """Top-``k`` (label, probability) for each image file in ``paths``.

        Raises DlcourseError naming a file that is missing or unreadable.
        """
        size = max(self.image_size, 8)
        images = torch.stack([load_image(p, size) for p in paths])  # (B, 3, S, S) uint8
        return self.predict_images(images, k)

    # ---- persistence -------------------------------------------------------------------------
    def _plain_config(self) -> dict:
        d = asdict(self.config)
        d.update(num_classes=len(self.classes_), backbone=asdict(self.info_),
                 resolved_image_size=self.image_size)
        return d

    def save(self, out_dir: str | Path) -> Path:
        """Write ``out_dir/model.pt`` (state dict, config, classes, history) and ``config.json``.

        The directory alone is enough for :meth:`load` and ``predict``: no download, no data.
        Under a process group only rank 0 writes (the ranks hold the same weights).
        """
        self._check_fitted()
        out = Path(out_dir)
        if not is_main_process():
            return out / "model.pt"
        config = self._plain_config()
        path = save_checkpoint(out / "model.pt", {
            "lesson": "vision", "config": config, "classes": self.classes_, "vocab": None,
            "model": {k: v.cpu() for k, v in self.model_.state_dict().items()},
            "epoch": len(self.history_), "history": self.history_})
        write_json(out / "config.json", {**config, "classes": self.classes_})
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> ImageClassifier:
        """Load a model saved by :meth:`save` (a directory or its ``model.pt``)."""
        state = load_checkpoint(path)
        if state.get("lesson") != "vision":
            raise DlcourseError(f"{path} holds a {state.get('lesson')!r} model, not a vision one")
        if state.get("part") == "head":
            raise DlcourseError(f"{path} is a training checkpoint of the head only; load the "
                                "directory's model.pt (written at the end of training)")
        saved = state["config"]
        config = TransferConfig.from_dict({**saved, "weights": "none", "device": device})
        clf = cls(config)
        clf.classes_ = list(state["classes"])
        clf.device_ = resolve_device(device)
        model, _ = build_model(config.arch, saved["num_classes"], "none")
        model.load_state_dict(state["model"])
        clf.model_ = model.to(clf.device_).eval()
        clf.info_ = BackboneInfo(**{**saved["backbone"], "mean": tuple(saved["backbone"]["mean"]),
                                    "std": tuple(saved["backbone"]["std"])})
        clf.config.weights = saved["weights"]
        clf.history_ = list(state.get("history", []))
        return clf


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, ds: ArrayImageDataset, clf: ImageClassifier,
                          max_images: int) -> None:
    """Recompute every BatchNorm's running mean/var as the exact average over ``max_images``
    training images (eval preprocessing) with the current weights ("precise BN").

    Only buffers change, so training itself is unaffected; ``max_images=0`` does nothing.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or max_images <= 0:
        return
    was_training = model.training
    model.eval()                                          # no dropout / stochastic depth
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None                                 # cumulative average over the batches
        m.train()
    pre = clf._preprocess(train=False)
    n = 0
    for x, _ in clf._loader(ds):
        with torch.autocast("cuda", enabled=clf._amp):
            model(clf._prepare(x.to(clf.device_), pre))
        n += len(x)
        if n >= max_images:
            break
    for m, momentum in zip(bns, saved):
        m.momentum = momentum
    model.train(was_training)


def evaluation_from_logits(logits: torch.Tensor, labels: torch.Tensor, classes) -> EvalResult:
    """Metrics of logits (N, K) against integer labels (N,)."""
    k = logits.shape[1]
    labels = labels.long()
    pred = logits.argmax(dim=1)
    top5 = logits.topk(min(5, k), dim=1).indices                  # (N, 5)
    cm = torch.zeros(k, k, dtype=torch.long)
    cm.index_put_((labels, pred), torch.ones_like(labels), accumulate=True)
    support = cm.sum(dim=1)
    per_class = (cm.diag().double() / support.clamp(min=1)).tolist()
    return EvalResult(
        top1=(pred == labels).double().mean().item(),
        top5=(top5 == labels[:, None]).any(dim=1).double().mean().item(),
        loss=F.cross_entropy(logits.float(), labels).item(),
        per_class=per_class, confusion=cm.numpy(), predictions=pred.numpy(),
        labels=labels.numpy(), classes=list(classes))
