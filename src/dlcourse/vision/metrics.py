"""Classification metrics from logits: top-1/top-5 accuracy, loss, per-class accuracy, confusion."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(eq=False)
class EvalResult(dict):
    """Top-1/top-5 accuracy, mean loss, per-class accuracy, confusion matrix and predictions.

    Read as attributes (``r.top1``, numpy arrays) or, as the other lessons' ``evaluate``
    dicts, by key: ``r["accuracy"]`` (top-1, the name ``TextClassifier.evaluate`` uses),
    ``r["top1"]``, ``r["confusion_matrix"]`` ...: it is a dict of :meth:`to_dict`'s plain
    values, so ``json.dumps(r)`` writes it.

    Args:
        top1: share of images whose likeliest class is right, in [0, 1].
        top5: share whose class is among the 5 likeliest (all of them with fewer classes).
        loss: mean cross-entropy of the logits.
        per_class: top-1 accuracy of each class (K values), NaN for a class without images.
        confusion: (K, K) counts, rows the true class, columns the predicted one.
        predictions: (N,) predicted class index per image.
        labels: (N,) true class index per image.
        classes: the K class names, in index order.
    """

    top1: float
    top5: float
    loss: float
    per_class: list[float]         # NaN for a class without images (nothing to be right about)
    confusion: np.ndarray          # (K, K) counts, rows = true class, columns = predicted
    predictions: np.ndarray        # (N,) predicted class per image
    labels: np.ndarray             # (N,) true class per image
    classes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """The scalar metrics as a plain dict."""
        return {"top1": self.top1, "top5": self.top5, "loss": self.loss}

    def to_dict(self) -> dict[str, Any]:
        """Every metric as plain JSON values, keyed as ``TextClassifier.evaluate``'s dict:
        ``n``, ``accuracy`` (top-1), ``top1``, ``top5``, ``loss``, ``per_class`` (one
        ``{"class", "accuracy", "support"}`` per class, accuracy None for a class without
        images: JSON has no NaN), ``confusion_matrix``, ``classes``, ``predictions`` and
        ``labels`` (class indices).

        Example:
            >>> import json
            >>> r = evaluation_from_logits(torch.tensor([[2.0, 0.0]]), torch.tensor([0]),
            ...                            ["a", "b"])
            >>> json.dumps(r.to_dict()["per_class"][1])
            '{"class": "b", "accuracy": null, "support": 0}'
        """
        support = self.confusion.sum(axis=1)                       # (K,) images per class
        per_class = [{"class": c, "accuracy": None if math.isnan(a) else float(a),
                      "support": int(n)} for c, a, n in zip(self.classes, self.per_class, support)]
        return {"n": int(len(self.labels)), "accuracy": float(self.top1),
                **{k: float(v) for k, v in self.summary().items()}, "per_class": per_class,
                "confusion_matrix": self.confusion.tolist(), "classes": list(self.classes),
                "predictions": self.predictions.tolist(), "labels": self.labels.tolist()}

    def __post_init__(self) -> None:
        self.update(self.to_dict())  # the dict a json.dumps or a comparison reads


def evaluation_from_logits(logits: torch.Tensor, labels: torch.Tensor,
                           classes: Sequence[str]) -> EvalResult:
    """Metrics of ``logits`` (N, K) against integer ``labels`` (N,).

    Example:
        >>> r = evaluation_from_logits(torch.tensor([[2.0, 0.0], [0.0, 1.0]]),
        ...                            torch.tensor([0, 0]), ["a", "b"])
        >>> r.top1, r.confusion.tolist(), r.per_class
        (0.5, [[1, 1], [0, 0]], [0.5, nan])
    """
    k = logits.shape[1]
    labels = labels.long()
    pred = logits.argmax(dim=1)
    top5 = logits.topk(min(5, k), dim=1).indices                  # (N, min(5, K))
    cm = torch.zeros(k, k, dtype=torch.long)
    cm.index_put_((labels, pred), torch.ones_like(labels), accumulate=True)
    support = cm.sum(dim=1)
    per_class = torch.where(support > 0, cm.diag().double() / support.clamp(min=1),
                            float("nan")).tolist()
    return EvalResult(
        top1=(pred == labels).double().mean().item(),
        top5=(top5 == labels[:, None]).any(dim=1).double().mean().item(),
        loss=F.cross_entropy(logits.float(), labels).item(),
        per_class=per_class, confusion=cm.numpy(), predictions=pred.numpy(),
        labels=labels.numpy(), classes=list(classes))
