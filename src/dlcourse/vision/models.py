"""Backbones by name, their ImageNet weights, and the new head: ``TransferNet = backbone + head``.

Architectures: torchvision's resnet18 (default), resnet34, resnet50, mobilenet_v3_small,
mobilenet_v3_large, efficientnet_b0, convnext_tiny, and ``efficientnet_lite0`` (our own module,
whose ImageNet weights are available offline). Weights:

- ``"imagenet"``: the lesson's ImageNet weights (torchvision's ``IMAGENET1K_V1``; for Lite0 the
  offline file)
- a torchvision enum name such as ``"IMAGENET1K_V2"`` or ``"DEFAULT"``
- a path to a local state-dict file of the architecture (with its original 1000-class head)
- ``"none"``: random initialisation (training from scratch)

torchvision weights come from ``<dlcourse cache>/weights/`` or are downloaded there (online only);
offline, a DataUnavailableError names the fixes.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from dlcourse.errors import DataUnavailableError, DlcourseError
from dlcourse.vision.config import ARCHS
from dlcourse.vision.efficientnet_lite import (
    LITE_IMAGE_SIZE,
    LITE_MEAN,
    LITE_STD,
    EfficientNetLite0,
    load_lite0_state_dict,
)
from dlcourse.vision.transforms import IMAGENET_MEAN, IMAGENET_STD

log = logging.getLogger(__name__)

LITE0_DATASET = "efficientnet-lite0"
LITE0_FILE = "efficientnet-lite0-57934424.pth"


@dataclass(frozen=True)
class BackboneInfo:
    """What the rest of the lesson needs to know about a backbone and its weights."""

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
        """Rebuild from :meth:`to_dict`'s output (JSON lists back to tuples)."""
        return cls(**{**values, "mean": tuple(values["mean"]), "std": tuple(values["std"])})


class TransferNet(nn.Module):
    """A pretrained (or fresh) backbone producing (B, D) features and a linear head (D -> classes).

    ``features(x)`` gives the backbone's pooled features, ``forward(x)`` the class logits.
    """

    def __init__(self, backbone: nn.Module, feature_dim: int, num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) normalised images -> (B, D) features."""
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))                    # (B, num_classes)


def _check_arch(arch: str) -> None:
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")


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


def _weights_enum(arch: str, name: str):
    from torchvision.models import get_model_weights

    enum = get_model_weights(arch)
    choice = "IMAGENET1K_V1" if name == "imagenet" else name
    try:
        return enum[choice]
    except KeyError:
        valid = ", ".join(["imagenet", "none", "PATH", *enum.__members__])
        raise ValueError(f"unknown weights {name!r} for {arch}; choose one of {valid}") from None


def _download_state_dict(arch: str, weights) -> dict[str, torch.Tensor]:
    from dlcourse.data import cache_dir, fetch

    if arch == "resnet18" and weights.name == "IMAGENET1K_V1":
        # the lesson's own weights are a registered data set (cache, checksum, clear message)
        return _read_state_file(fetch("resnet18-imagenet") / weights.url.rsplit("/", 1)[-1])
    model_dir = Path(cache_dir()) / "weights"
    fname = weights.url.rsplit("/", 1)[-1]
    try:
        return torch.hub.load_state_dict_from_url(weights.url, model_dir=str(model_dir),
                                                  progress=False, check_hash=True,
                                                  weights_only=True, map_location="cpu")
    except Exception as exc:  # URLError / socket errors when offline, or a hash mismatch
        raise DataUnavailableError(
            f"cannot get {arch} {weights.name} weights ({str(exc).splitlines()[0][:100]}); "
            f"connect to the internet, or put {fname} into {model_dir}, or pass --weights PATH, "
            "or use --arch efficientnet_lite0 (ImageNet weights available offline)") from None


def _read_state_file(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise DlcourseError(f"weights file {path} does not exist; give a state-dict file, "
                            "'imagenet' or 'none'")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DlcourseError(f"cannot read weights {path}: {str(exc).splitlines()[0]}") from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]            # a checkpoint dict holding the state dict
    if not isinstance(state, dict):
        raise DlcourseError(f"{path} does not hold a state dict")
    return state


def lite0_weights_path() -> Path:
    """Path of the offline ImageNet EfficientNet-Lite0 state dict (via the data layer)."""
    from dlcourse.data import fetch

    return Path(fetch(LITE0_DATASET)) / LITE0_FILE


def _is_path(weights: str) -> bool:
    return weights not in ("imagenet", "none") and (
        "/" in weights or "\\" in weights or Path(weights).suffix in (".pt", ".pth", ".bin")
        or Path(weights).exists())


def check_weights(arch: str, weights: str) -> None:
    """Refuse an unknown architecture or weights name, or a missing weights file, before any
    work (nothing is read or downloaded).

    Raises:
        ValueError: unknown architecture or weights name (the message lists the valid ones).
        DlcourseError: a weights PATH that is not a file.
    """
    _check_arch(arch)
    weights = str(weights)
    if weights == "none":
        return
    if _is_path(weights):
        path = Path(weights).expanduser()
        if not path.is_file():
            raise DlcourseError(f"weights file {path} does not exist; give a state-dict file, "
                                "'imagenet' or 'none'")
    elif arch == "efficientnet_lite0":
        if weights not in ("imagenet", "IMAGENET1K_V1", "DEFAULT"):
            raise ValueError(f"unknown weights {weights!r} for efficientnet_lite0; "
                             "choose one of imagenet, none, PATH")
    else:
        _weights_enum(arch, weights)


def build_backbone(arch: str = "resnet18",
                   weights: str = "imagenet") -> tuple[nn.Module, BackboneInfo]:
    """Build ``arch`` with ``weights`` and strip its ImageNet classifier.

    Returns ``(backbone, info)``: ``backbone(x)`` maps (B, 3, H, W) to (B, info.feature_dim).

    Raises:
        ValueError: unknown architecture or weights name (the message lists the valid ones).
        DataUnavailableError: weights that must be downloaded while offline.
        DlcourseError: a weights file that is missing, unreadable or does not fit the architecture.
    """
    weights = str(weights)
    check_weights(arch, weights)
    state, label = None, "none"
    if _is_path(weights):
        state, label = _read_state_file(Path(weights).expanduser()), f"file:{weights}"
    elif weights != "none" and arch == "efficientnet_lite0":
        state, label = _read_state_file(lite0_weights_path()), "IMAGENET1K_V1"

    if arch == "efficientnet_lite0":
        model = EfficientNetLite0()
        if state is not None:
            _load(lambda s: load_lite0_state_dict(model, s), state, arch, label)
        mean, std, size = LITE_MEAN, LITE_STD, LITE_IMAGE_SIZE
    else:
        import torchvision

        model = torchvision.models.get_model(arch, weights=None)
        mean, std, size = IMAGENET_MEAN, IMAGENET_STD, 224
        if weights != "none" and state is None:
            enum = _weights_enum(arch, weights)
            state, label = _download_state_dict(arch, enum), enum.name
            preset = enum.transforms()
            mean, std = tuple(preset.mean), tuple(preset.std)
            size = int(preset.crop_size[0])
        if state is not None:
            _load(lambda s: model.load_state_dict(s, strict=True), state, arch, label)
    dim = _strip_last_linear(model)
    return model, BackboneInfo(arch, label, dim, tuple(mean), tuple(std), size)


def _load(loader, state, arch: str, label: str) -> None:
    try:
        loader(state)
    except (RuntimeError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise DlcourseError(f"weights {label} do not fit {arch}: {first[:160]}; give a state dict "
                            f"of {arch} with its 1000-class ImageNet head") from None


def build_model(arch: str, num_classes: int,
                weights: str = "imagenet") -> tuple[TransferNet, BackboneInfo]:
    """``arch`` with ``weights`` and a fresh ``num_classes``-way linear head.

    Example:
        >>> net, info = build_model("efficientnet_lite0", 10, weights="none")
        >>> net(torch.zeros(2, 3, 32, 32)).shape, info.feature_dim
        (torch.Size([2, 10]), 1280)
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    backbone, info = build_backbone(arch, weights)
    return TransferNet(backbone, info.feature_dim, num_classes), info


def backbone_groups(backbone: nn.Module, n_groups: int = 4) -> list[list[nn.Parameter]]:
    """The backbone's parameters in ``n_groups`` consecutive chunks, input side first.

    Gradual unfreezing thaws them from the last (closest to the head) to the first.
    """
    params = [p for p in backbone.parameters()]
    size = -(-len(params) // n_groups)
    return [params[i:i + size] for i in range(0, len(params), size)]
