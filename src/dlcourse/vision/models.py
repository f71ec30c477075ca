"""Backbones by name and the new head: ``TransferNet = backbone + head``.

Architectures: torchvision's resnet18 (default), resnet34, resnet50, mobilenet_v3_small,
mobilenet_v3_large, efficientnet_b0, convnext_tiny, and ``efficientnet_lite0`` (our own module,
whose ImageNet weights are available offline). The weights (``imagenet``, a torchvision enum
name, a PATH, or ``none``) are checked and fetched by :mod:`dlcourse.vision.weights`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from dlcourse.errors import IncompatibleModelError, InputError
from dlcourse.vision.efficientnet_lite import (
    LITE_IMAGE_SIZE,
    LITE_MEAN,
    LITE_STD,
    load_lite0_state_dict,
)
from dlcourse.vision.transforms import IMAGENET_MEAN, IMAGENET_STD
from dlcourse.vision.weights import (
    check_weights,
    fetch_weights,
    is_path,
    new_model,
    read_weights_file,
    weights_enum,
)


@dataclass(frozen=True)
class BackboneInfo:
    """What the rest of the lesson needs to know about a backbone and its weights.

    Args:
        arch: the architecture's name, one of :data:`~dlcourse.vision.config.ARCHS`.
        weights: ``"none"``, a torchvision enum name (``"IMAGENET1K_V1"``) or ``"file:<path>"``.
        feature_dim: width ``D`` of the pooled features (B, D) the head sees.
        mean: per-channel RGB means of [0, 1] pixels that the weights expect.
        std: per-channel RGB standard deviations of [0, 1] pixels that the weights expect.
        image_size: the resolution in pixels the weights were trained at.
    """

    arch: str
    weights: str          # "none", an enum name ("IMAGENET1K_V1"), or "file:<path>"
    feature_dim: int      # width of the pooled features the head sees
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    image_size: int       # the resolution the weights were trained at

    def to_dict(self) -> dict:
        """Plain JSON values (saved with the model)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> BackboneInfo:
        """Rebuild from :meth:`to_dict`'s output (JSON lists back to tuples).

        Args:
            values: a dict with every field, as :meth:`to_dict` gives it (or read from JSON).
        """
        return cls(**{**values, "mean": tuple(values["mean"]), "std": tuple(values["std"])})


class TransferNet(nn.Module):
    """A pretrained (or fresh) backbone producing (B, D) features and a linear head (D -> classes).

    ``features(x)`` gives the backbone's pooled features, ``forward(x)`` the class logits.

    Args:
        backbone: maps (B, 3, H, W) normalised images to (B, D) features (its classifier
            stripped, as :func:`build_backbone` gives it).
        feature_dim: ``D``, the width of those features.
        num_classes: outputs of the new linear head.
    """

    def __init__(self, backbone: nn.Module, feature_dim: int, num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) normalised images -> (B, D) features.

        Args:
            x: normalised images (B, 3, H, W), as
                :class:`~dlcourse.vision.transforms.BatchPreprocess` gives them.
        """
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))                    # (B, num_classes)


def _strip_last_linear(model: nn.Module) -> int:
    """Replace the model's last nn.Linear (its ImageNet classifier) by Identity; return its width.

    For mobilenet_v3 this keeps the pretrained 1024-wide hidden layer and replaces only the final
    layer; for convnext the LayerNorm before it stays in the backbone.
    """
    name, layer = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    parent = model
    *path, last = name.split(".")
    for part in path:
        parent = getattr(parent, part)
    setattr(parent, last, nn.Identity())
    return layer.in_features


def build_backbone(arch: str = "resnet18",
                   weights: str = "imagenet") -> tuple[nn.Module, BackboneInfo]:
    """Build ``arch`` with ``weights`` and strip its ImageNet classifier.

    Returns ``(backbone, info)``: ``backbone(x)`` maps (B, 3, H, W) to (B, info.feature_dim).

    Args:
        arch: one of :data:`~dlcourse.vision.config.ARCHS`.
        weights: ``"imagenet"`` (the architecture's default ImageNet weights), a torchvision
            weights enum name (``"IMAGENET1K_V2"``), a path to a state dict file, or ``"none"``
            (random initialisation, nothing fetched).

    Raises:
        ValueError: unknown architecture or weights name (the message lists the valid ones).
        DataUnavailableError: weights that must be downloaded while offline (the message names
            the fetch command and the choices that work offline).
        DlcourseError: a weights file that is missing, unreadable or does not fit the architecture.
    """
    weights = str(weights)
    check_weights(arch, weights)
    path = fetch_weights(arch, weights)                  # None for "none"
    model = new_model(arch)
    lite = arch == "efficientnet_lite0"
    mean, std, size = (LITE_MEAN, LITE_STD, LITE_IMAGE_SIZE) if lite else (
        IMAGENET_MEAN, IMAGENET_STD, 224)
    if path is None:
        label = "none"
    elif is_path(weights):
        label = f"file:{weights}"
    elif lite:
        label = "IMAGENET1K_V1"
    else:
        enum = weights_enum(arch, weights)
        label, preset = enum.name, enum.transforms()     # the weights' own preprocessing
        mean, std, size = tuple(preset.mean), tuple(preset.std), int(preset.crop_size[0])
    if path is not None:
        state = read_weights_file(path, arch)
        loader = (load_lite0_state_dict if lite
                  else lambda m, s: m.load_state_dict(s, strict=True))
        try:
            loader(model, state)
        except (RuntimeError, ValueError) as exc:  # check_weights compared the shapes already
            first = str(exc).splitlines()[0]
            raise IncompatibleModelError(f"weights {label} do not fit {arch}: {first[:160]}; "
                                         f"give a state dict of {arch} with its 1000-class "
                                         "ImageNet head") from None
    dim = _strip_last_linear(model)
    return model, BackboneInfo(arch, label, dim, tuple(mean), tuple(std), size)


def build_model(arch: str, num_classes: int,
                weights: str = "imagenet") -> tuple[TransferNet, BackboneInfo]:
    """``arch`` with ``weights`` and a fresh ``num_classes``-way linear head.

    Args:
        arch: one of :data:`~dlcourse.vision.config.ARCHS`.
        num_classes: outputs of the head, >= 2.
        weights: as :func:`build_backbone` takes them.

    Raises:
        InputError: ``num_classes`` below 2; otherwise as :func:`build_backbone` raises.

    Example:
        >>> net, info = build_model("efficientnet_lite0", 10, weights="none")
        >>> net(torch.zeros(2, 3, 32, 32)).shape, info.feature_dim
        (torch.Size([2, 10]), 1280)
    """
    if num_classes < 2:
        raise InputError(f"num_classes must be >= 2, got {num_classes}")
    backbone, info = build_backbone(arch, weights)
    return TransferNet(backbone, info.feature_dim, num_classes), info


def backbone_groups(backbone: nn.Module, n_groups: int = 4) -> list[list[nn.Parameter]]:
    """The backbone's parameters in ``n_groups`` consecutive chunks, input side first.

    Gradual unfreezing thaws them from the last (closest to the head) to the first.
    """
    params = [p for p in backbone.parameters()]
    size = -(-len(params) // n_groups)
    return [params[i:i + size] for i in range(0, len(params), size)]
