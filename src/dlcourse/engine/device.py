"""Device selection ("auto", "cpu", "cuda:N", "mps") and moving nested batches to a device."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from dlcourse.errors import DlcourseError

#: the hint of an absent GPU's refusal, for Python and the command line alike (the CLI swaps it
#: for its own words: dlcourse.cli.common.cli_device_message)
CPU_HINT = '(--device cpu, device="cpu")'


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """Turn a device spec into a ``torch.device``.

    ``"auto"`` (or None) picks CUDA when present, then Apple's MPS, else the CPU. Under torchrun
    the CUDA device of ``LOCAL_RANK`` is chosen. Raises DlcourseError for an unavailable device.

    Args:
        spec: ``"auto"``/None, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` (any case), or a
            ``torch.device``, returned unchecked.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(spec, torch.device):
        return spec
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            from dlcourse.engine.distributed import local_rank

            return torch.device("cuda", local_rank() % torch.cuda.device_count())
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError as exc:
        raise DlcourseError(f"unknown device {spec!r}; use auto, cpu, cuda, cuda:N or mps") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DlcourseError(
                f"device {spec!r} asked for but CUDA is not available; use the CPU {CPU_HINT}"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DlcourseError(
                f"device {spec!r} does not exist: {torch.cuda.device_count()} CUDA device(s) here"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DlcourseError(f"device 'mps' asked for but MPS is not available; use the CPU "
                            f"{CPU_HINT}")
    return device


def to_device(batch: Any, device: torch.device, non_blocking: bool = True) -> Any:
    """Move every tensor inside nested tuples, lists and dicts to ``device``.

    Args:
        batch: a tensor, or tuples (namedtuples too), lists and dicts nesting them; other
            values are returned as they are.
        device: the target device.
        non_blocking: passed to ``Tensor.to`` (asynchronous copies from pinned memory).

    Returns:
        the same structure (dicts become plain ``dict``) holding the moved tensors.
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(v, device, non_blocking) for v in batch))
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device, non_blocking) for v in batch)
    return batch
