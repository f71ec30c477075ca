"""Device names without importing torch (a 2-4 s import): their spelling, and whether "auto"
can mean the CPU.

``resolve_device("auto")`` must ask torch whether a GPU is usable. The torch-free lessons (SOM,
word vectors) only need to know whether that question is worth asking: on a machine with no
trace of an NVIDIA or AMD driver and no Apple GPU, "auto" is the CPU, decided in microseconds.
"""

from __future__ import annotations

import os
import platform
import re
import sys

from dlcourse.errors import ConfigError

_DRIVER_TRACES = ("/proc/driver/nvidia/version", "/dev/nvidia0", "/dev/nvidiactl", "/dev/kfd",
                  "/dev/dxg")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device_name(device: str, field: str = "device") -> str:
    """``device`` if it is spelled like a device (auto, cpu, cuda, cuda:N, mps), lower-cased;
    whether it exists is found out when it is used (that needs torch).

    Raises:
        ConfigError: naming the valid spellings.
    """
    if not isinstance(device, str) or not _DEVICE.match(device.strip().lower()):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps", field)
    return device.strip().lower()


def accelerator_possible() -> bool:
    """False when no GPU can be present (no driver trace, not Apple silicon); True otherwise."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False  # the user hid every GPU
    if sys.platform == "darwin":
        return platform.machine() == "arm64"  # MPS
    return any(os.path.exists(path) for path in _DRIVER_TRACES)


def is_cpu_spec(device: object) -> bool:
    """True when ``device`` certainly means the CPU: "cpu", or "auto"/None on a machine where
    :func:`accelerator_possible` is False. Never imports torch."""
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        return not accelerator_possible()
    return isinstance(device, str) and device.strip().lower() == "cpu" or (
        getattr(device, "type", None) == "cpu")
