"""Transfer learning as an estimator: ``ImageClassifier(...).fit(train, valid)``, then
``evaluate``, ``predict`` (labels), ``predict_top`` (the k likeliest classes with their
probabilities), ``predict_proba``, ``save`` and ``ImageClassifier.load``.

Modes (see :class:`~dlcourse.vision.config.TransferConfig`):

- ``features``: the backbone is frozen; its features are computed once (and cached on disk, keyed
  by backbone, weights, image size and data) and only the linear head is trained on them. Fast
  on a CPU. Augmentation does not apply (the features are fixed).
- ``finetune``: the whole network trains, the backbone at ``lr * backbone_lr_mult``; with
  ``unfreeze="gradual"`` the backbone starts frozen and thaws chunk by chunk.

The training itself lives in :mod:`dlcourse.vision.training`, the forward passes in
:mod:`dlcourse.vision.pipeline`; this class holds the config, builds the network on the right
device and keeps what was learned (``model_``, ``classes_``, ``info_``, ``image_size_``,
``history_``).
"""

from __future__ import annotations

import logging
from numbers import Number
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from dlcourse.engine.distributed import (
    active_ranks,
    check_global_batch,
    is_distributed,
    rank_device,
)
from dlcourse.engine.estimator import Estimator, load_module_arrays, module_arrays
from dlcourse.engine.loop import unwrap
from dlcourse.engine.seed import seed_everything
from dlcourse.errors import InputError
from dlcourse.vision.config import TransferConfig
from dlcourse.vision.data import ArrayImageDataset, check_labels, image_batch, labelled_images
from dlcourse.vision.features import extract_features
from dlcourse.vision.images import load_image, square_images
from dlcourse.vision.inputs import check_k, check_training_data, path_list
from dlcourse.vision.metrics import EvalResult, evaluation_from_logits
from dlcourse.vision.models import BackboneInfo, build_model
from dlcourse.vision.pipeline import Pipeline, logits_of
from dlcourse.vision.training import check_resume, finetune, train_head
from dlcourse.vision.weights import check_weights

log = logging.getLogger(__name__)


class ImageClassifier(Estimator):
    """A pretrained backbone plus a new linear head, trained on an image data set.

    Every field of :class:`TransferConfig` is a constructor argument and an attribute
    (``clf.lr``); ``ImageClassifier(config)`` takes a whole config.

    Learned attributes (after ``fit`` or ``load``): ``model_`` (a
    :class:`~dlcourse.vision.models.TransferNet`), ``classes_`` (a numpy array, as
    scikit-learn's classifiers keep it: the class names, or the labels ``fit(images, labels)``
    was given), ``info_`` (backbone
    metadata), ``image_size_`` (the resolution used), ``device_``, ``history_`` (per-epoch
    dicts).

    Example:
        >>> import numpy as np
        >>> clf = ImageClassifier(arch="efficientnet_lite0", weights="none", image_size=32,
        ...                       epochs=1, batch_size=8, device="cpu")
        >>> ds = ArrayImageDataset(np.zeros((16, 28, 28), np.uint8), np.arange(16) % 2, ["a", "b"])
        >>> clf.fit(ds).evaluate(ds).top1 <= 1.0
        True
    """

    config_class = TransferConfig
    lesson = "vision"
    positional = ("arch",)
    framework = "torch"
    fitted_attribute = "model_"
    estimator_type = "classifier"  # score is accuracy: scikit-learn stratifies its folds

    # ---- training ----------------------------------------------------------------------------
    def fit(self, train: ArrayImageDataset | Any, valid: ArrayImageDataset | Any = None, *,
            out_dir: str | Path | None = None, resume: bool = False) -> ImageClassifier:
        """Train on ``train`` (evaluating on ``valid`` after each epoch); returns ``self``.

        ``fit(images, labels)``, as scikit-learn calls it (``cross_val_score``,
        ``GridSearchCV``), trains on an image array and its labels, without a validation set:
        their sorted distinct values are the classes, names or numbers (3 and 7, -1 and 1),
        kept as given in ``classes_`` and in what :meth:`predict` answers
        (:func:`~dlcourse.vision.data.labelled_images`).

        With ``out_dir`` the engine writes ``last.pt`` (every epoch and on Ctrl-C), ``best.pt``
        and ``history.json`` there, and ``resume=True`` continues that run from the exact batch
        where it stopped (same settings and data; other ``epochs`` are allowed unless the
        schedule is cosine, whose cycle spans the epochs the run started with); at the end
        the model file goes there too (:meth:`save`), as every lesson's ``fit`` does.

        Under a process group (``dlcourse.engine.distributed.init_distributed``, as the CLI does)
        every rank calls ``fit`` with the same data and config; rank 0 writes the checkpoints,
        and a run written by N processes resumes with any number.

        Args:
            train: the training :class:`ArrayImageDataset`; or uint8 images (as it takes them)
                with their labels as ``valid``.
            valid: an :class:`ArrayImageDataset` of ``train``'s classes, evaluated after every
                epoch; or the labels of image-array ``train``; None: no validation.
            out_dir: the run's folder (checkpoints, history, the model file); None: none.
            resume: continue the stopped run in ``out_dir``.

        Raises:
            ConfigError: a setting out of range, or ``batch_size`` not a multiple of the
                number of processes.
            InputError: ``train`` (or ``valid``) that is not a non-empty
                :class:`ArrayImageDataset`, whose labels no longer fit its images and classes
                (changed in place since it was built), or a ``train`` whose images are all of
                one class.
            DlcourseError: unknown weights, classes of ``valid`` that differ from ``train``'s,
                nothing (or another run) to resume, other ``epochs`` under the cosine
                schedule; all before any work.
            TrainingInterrupted: Ctrl-C, after the checkpoint is written.
        """
        config = self.validated_config(out_dir, resume)
        check_weights(config.arch, config.weights)  # settings first, as every lesson does
        values = None  # the labels of fit(X, y), as given
        if not isinstance(train, ArrayImageDataset) and valid is not None \
                and not isinstance(valid, ArrayImageDataset):
            (train, values), valid = labelled_images(train, valid), None
        check_training_data(train, valid)
        check_global_batch(config.batch_size, active_ranks()[1], *config.images_a_step())
        # a resumed run must continue the same settings on the same images
        images = f"{len(train)} images, fingerprint {train.fingerprint()}"
        extra = {"lesson": self.lesson, "config": {**config.resume_values(),
                                                   "classes": list(train.classes),
                                                   "training_images": images}}
        if resume:
            check_resume(out_dir, extra, config)
        seed_everything(config.seed, deterministic=config.deterministic)
        device = rank_device(config.device)
        if device.type == "cuda" and not config.deterministic:
            # fixed image sizes: cuDNN times its kernels once and keeps the fastest
            torch.backends.cudnn.benchmark = True
        model, info = build_model(config.arch, len(train.classes), config.weights)
        model.to(device)
        if config.channels_last and device.type == "cuda":
            model.to(memory_format=torch.channels_last)
        image_size = config.image_size or info.image_size
        pipe = self._pipeline(info, image_size, device)
        fit_options = {"out_dir": out_dir, "resume": resume, "checkpoint_extra": extra}
        if config.mode == "features":
            model.backbone.requires_grad_(False)
            feats = extract_features(model.backbone, info, train, pipe,
                                     cache=config.feature_cache)                 # (N, D)
            valid_pair = None
            if valid is not None:
                valid_pair = (extract_features(model.backbone, info, valid, pipe,
                                               cache=config.feature_cache), valid.labels)
            history = train_head(model.head, feats, train.labels, valid_pair, config, device,
                                 **fit_options)
        else:
            if config.sync_bn and is_distributed() and device.type == "cuda":
                model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
            history = finetune(model, train, valid, pipe, config, **fit_options)
        self.model_, self.info_, self.image_size_, self.device_ = model, info, image_size, device
        # scikit-learn compares predict's answers with the labels fit was given (3, not "3")
        # and finds a probability column by classes_ == label (an array, not a list)
        self.classes_ = values if values is not None else np.asarray(train.classes)
        self.history_ = history
        if out_dir is not None:
            self._save_run(out_dir)  # rank 0 only
        return self

    def _pipeline(self, info: BackboneInfo | None = None, image_size: int | None = None,
                  device: torch.device | None = None) -> Pipeline:
        """How images reach the network under this config (the fitted values by default)."""
        c = self.config
        return Pipeline.build(info or self.info_, image_size or self.image_size_,
                              device or self.device_, amp=c.amp, channels_last=c.channels_last,
                              batch_size=c.batch_size, num_workers=c.num_workers,
                              augment=c.augment, hflip=c.hflip)

    # ---- evaluation and prediction -----------------------------------------------------------
    def logits(self, ds) -> torch.Tensor:
        """Class logits (N, K) on the CPU for every image of ``ds`` (eval preprocessing).

        Args:
            ds: a data set of ``(uint8 image (C, H, W), label)`` pairs, such as an
                :class:`ArrayImageDataset` (the labels are not used).

        Raises:
            NotFittedError: before ``fit`` or ``load``.
        """
        self.check_is_fitted()
        if not (hasattr(ds, "__len__") and hasattr(ds, "__getitem__")):
            raise InputError(f"logits takes an ArrayImageDataset (dlcourse.vision's load_named "
                             f"or load_image_folder), got {type(ds).__name__}; for pixel "
                             "arrays use predict_proba")
        return logits_of(self.model_, ds, self._pipeline())

    def evaluate(self, ds: ArrayImageDataset) -> EvalResult:
        """Top-1/top-5 accuracy, loss, per-class accuracy and the confusion matrix on ``ds``.

        Under a process group this is collective: every rank calls it and gets the same result.

        Args:
            ds: a non-empty :class:`ArrayImageDataset` whose classes are the model's (all or
                some of them, in any order).

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            DlcourseError: ``ds`` has classes the model does not know (some of its classes,
                in any order, are scored as its own; a class without images has no accuracy).
        """
        self.check_is_fitted()
        if not isinstance(ds, ArrayImageDataset):
            raise InputError(f"evaluate takes an ArrayImageDataset (dlcourse.vision's "
                             f"load_named or load_image_folder), got {type(ds).__name__}")
        ds.check()  # labels changed since the data set was built: named here, not as a crash
        if not len(ds):  # top-1 of no images would be NaN
            raise InputError("evaluate needs at least one image, got an empty data set")
        names = self._names()
        if list(ds.classes) != names:
            unknown = [name for name in ds.classes if name not in names]
            if unknown:
                known = ", ".join(names[:5]) + ", ..." * (len(names) > 5)
                raise InputError(f"data set classes {unknown[:5]} are not classes of the model "
                                 f"({known}); evaluate on images of its classes")
            # some of the model's classes, or another order: its indices (the others: n/a)
            index = np.asarray([names.index(name) for name in ds.classes])
            ds = ArrayImageDataset(ds.images, index[ds.labels.numpy()], names)
        logits = logits_of(self.model_, ds, self._pipeline(), collective=True)   # (N, K)
        return evaluation_from_logits(logits, ds.labels, ds.classes)

    def predict(self, images) -> list:
        """The likeliest class of each image: a list of plain labels from ``classes_`` (names,
        or the labels ``fit(images, labels)`` was given), as scikit-learn's classifiers answer;
        ``images`` as :meth:`predict_proba` takes them (no images give ``[]``, as
        TextClassifier's ``predict([])``), and refused as it refuses them.

        Args:
            images: image file paths or a uint8 batch, as :meth:`predict_top` takes them.
        """
        proba = self.predict_proba(images)  # first: NotFittedError before classes_ is read
        return self.classes_[proba.argmax(axis=1)].tolist()

    def predict_top(self, images, k: int = 5) -> list[list[tuple[str | int, float]]]:
        """The ``k`` likeliest (label, probability) pairs of each image, likeliest first.

        Args:
            images: image file paths (one path may be given alone) or a uint8 batch: a tensor
                or numpy array (B, C, H, W), (B, H, W, C) or grey (B, H, W), as
                ``ArrayImageDataset`` takes. Pixels are resized (shorter side) and
                centre-cropped as files are, so a file's pixels get the answer its path gets
                (:meth:`evaluate` crops and resizes whole batches on the device: the same up
                to resampling). One image (3, H, W) channels-first, as
                ``torchvision.io.read_image`` gives it, is refused: it would read as three
                grey images; pass it as ``img[None]``. No images give ``[]``.
            k: how many classes to list per image (all of them when there are fewer).

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            InputError: ``k`` that is not a whole number >= 1 (before any file is read);
                images of another type or shape, or a (3, H, W) array (the message says how
                to give it).
            DlcourseError: a file that is missing, a folder, empty or not a readable image
                (named).
        """
        self.check_is_fitted()
        k = check_k(k)
        batch = self._images(images)
        if not len(batch):
            return []
        top = self._probabilities(batch).topk(min(k, len(self.classes_)), dim=1)
        classes = self.classes_.tolist()  # plain values: 'cat' and 3, not np.str_ and np.int64
        return [[(classes[int(i)], float(p)) for p, i in zip(ps, idx)]
                for ps, idx in zip(top.values, top.indices)]

    def score(self, images, labels=None) -> float:
        """Top-1 accuracy on labelled images, as scikit-learn's classifiers score (its
        ``cross_val_score`` and ``GridSearchCV`` rank settings by it).

        Args:
            images: image file paths or a uint8 batch (as :meth:`predict_top` takes them), or
                an :class:`ArrayImageDataset`, which holds its labels (``labels`` is then left
                out; the result is ``evaluate(ds).top1``).
            labels: one per image: labels from ``classes_``, or (a model of class names)
                their indices.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            InputError: no images, labels missing, of another count or not classes of the
                model; images as :meth:`predict_top` refuses them.
            DlcourseError: an unreadable file (named).
        """
        self.check_is_fitted()
        if isinstance(images, ArrayImageDataset):
            if labels is not None:
                raise InputError("score(ds) takes the labels an ArrayImageDataset holds; "
                                 "leave labels out, or pass the images and labels alone")
            return self.evaluate(images).top1
        if labels is None:
            raise InputError("score needs the true labels, one per image: score(images, "
                             "labels), with class names of classes_ or their indices")
        batch = self._images(images)
        if not len(batch):  # an accuracy of no images would be a made-up number
            raise InputError("score needs at least one labelled image, got none")
        y = self._label_indices(labels, len(batch))
        predicted = self._probabilities(batch).argmax(dim=1)
        return float((predicted == y).double().mean())

    def predict_proba(self, images) -> np.ndarray:
        """Class probabilities (N, K), float32, columns in the order of ``classes_``: what
        scikit-learn's probability scorers read (``neg_log_loss``, ``roc_auc_ovr``).

        Args:
            images: image file paths or a uint8 batch (as :meth:`predict_top` takes them); no
                images give an array (0, K).

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            InputError: images as :meth:`predict_top` refuses them.
            DlcourseError: an unreadable file (named).
        """
        self.check_is_fitted()
        batch = self._images(images)
        if not len(batch):
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        return self._probabilities(batch).numpy().astype(np.float32, copy=False)

    def _names(self) -> list[str]:
        """The classes as an ``ArrayImageDataset`` names them: labels as text."""
        return [str(c) for c in self.classes_.tolist()]

    def _images(self, images) -> torch.Tensor:
        """Image files or a pixel batch as uint8 images (B, C, H, W)."""
        files = path_list(images)
        if files is not None:
            return self._read_files(files)
        if images is None or isinstance(images, Number | np.generic):
            # no pixels at all: "uint8 pixels 0-255, got int64" misled for a 3
            raise InputError("images must be image file paths (a path or a list of them) or a "
                             "uint8 batch (B, C, H, W), (B, H, W, C) or grey (B, H, W), got "
                             f"{type(images).__name__}")
        return image_batch(images, labelled=False)

    def _read_files(self, paths: list[str | Path]) -> torch.Tensor:
        """The files decoded at the model's resolution, (B, 3, S, S) uint8."""
        size = self.image_size_
        if not paths:
            return torch.zeros((0, 3, size, size), dtype=torch.uint8)
        return torch.stack([load_image(p, size) for p in paths])

    def _probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """Class probabilities (B, K) on the CPU of uint8 images (B, C, H, W)."""
        images = square_images(images, self.image_size_)   # as files are: no stretching
        ds = TensorDataset(images, torch.zeros(len(images), dtype=torch.long))
        return self.logits(ds).softmax(dim=1)

    def _label_indices(self, labels, n_images: int) -> torch.Tensor:
        """``labels`` (labels of ``classes_``, or indices of class names) as class indices
        (N,)."""
        if torch.is_tensor(labels):
            labels = labels.detach().cpu().numpy()
        y = np.asarray(labels)
        by_value = self.classes_.dtype.kind != "U"  # fit(X, y)'s numbers (3, 7): no indices
        if y.ndim == 1 and (by_value or y.dtype.kind in "USO"):
            classes = self.classes_.tolist()  # plain values: np.str_('cat') reads badly
            index = {c: i for i, c in enumerate(classes)}
            given = y.tolist()
            unknown = [v for v in given
                       if (not by_value and not isinstance(v, str)) or v not in index]
            if unknown:
                fix = ("labels it was trained on" if by_value
                       else "class names it was trained on or their indices")
                raise InputError(f"label {unknown[0]!r} is not a class of the model "
                                 f"{classes[:10]}; give {fix}")
            y = np.array([index[v] for v in given], dtype=np.int64)
        return check_labels(y, n_images, len(self.classes_))

    # ---- persistence (Estimator.save / Estimator.load) ---------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        values = {"classes": self.classes_.tolist(), "backbone": self.info_.to_dict(),
                  "image_size": self.image_size_, "history": self.history_}
        return module_arrays(unwrap(self.model_)), values

    def _set_state(self, arrays: dict[str, Any], values: dict[str, Any]) -> None:
        config = self.config
        self.classes_ = np.asarray(values["classes"])
        self.info_ = BackboneInfo.from_dict(values["backbone"])
        self.image_size_ = int(values["image_size"])
        self.history_ = list(values.get("history") or [])
        self.device_ = rank_device(config.device)
        # the saved arrays hold every weight: build the bare architecture, download nothing
        model, _ = build_model(config.arch, len(self.classes_), "none")
        load_module_arrays(model, arrays, where=f"the {config.arch} model file")
        model.to(self.device_).eval()
        if config.channels_last and self.device_.type == "cuda":
            model.to(memory_format=torch.channels_last)
        self.model_ = model

