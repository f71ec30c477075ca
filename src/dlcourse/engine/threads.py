"""How many CPU threads the numeric libraries get: never more than the physical cores, and
under torchrun the cores split between the processes of a machine (torch-free).

Torch's own default is every logical core, which on a busy or hyper-threaded machine is often
slower than fewer (on a shared 2-core machine 2 intra-op threads were measured up to 5x slower
than 1 under load). The CLI applies :func:`default_threads` before torch, numpy or numba load,
through the environment variables they read at import.
"""

from __future__ import annotations

import glob
import os
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def physical_cores() -> int:
    """Physical cores this process may run on (logical CPUs when the topology is unknown)."""
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1
    cores = set()
    for cpu in allowed:
        pattern = f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"
        found = glob.glob(pattern)
        if not found:
            return len(allowed)
        with open(found[0]) as handle:
            cores.add(handle.read().strip())
    return max(1, len(cores))


def default_threads() -> int:
    """Physical cores divided among the processes torchrun starts on this machine (>= 1)."""
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
    return max(1, physical_cores() // max(1, local_world))


def thread_budget() -> int:
    """The threads a numeric job of this process may use: what :func:`apply_threads` chose
    (``dlcourse --threads N``, OMP_NUM_THREADS), else :func:`default_threads`."""
    for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return default_threads()


def apply_threads(threads: int | None) -> int:
    """Use ``threads`` (or the user's OMP_NUM_THREADS, or :func:`default_threads`) for torch,
    BLAS and numba; returns the number chosen.

    Sets the environment variables the libraries read when they load, and tells torch directly
    when it is already loaded (in-process callers such as tests).
    """
    if threads is None:
        preset = os.environ.get("OMP_NUM_THREADS", "")
        threads = int(preset) if preset.isdigit() and int(preset) > 0 else default_threads()
    for name in THREAD_VARIABLES:
        if name == "NUMBA_NUM_THREADS" and "numba" in sys.modules:
            continue  # numba refuses a change after it loaded
        os.environ[name] = str(threads)
    torch = sys.modules.get("torch")  # None also when a test made torch unimportable
    if torch is not None:
        torch.set_num_threads(threads)
    return threads
