"""What the benchmarks' ``--distributed`` modes share: run a worker with 1 and 2 processes."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from dlcourse.engine.distributed import launch


def scaling_rows(worker_args: Callable[[Path], list], nprocs: Sequence[int] = (1, 2),
                 threads: int | None = None) -> list[dict]:
    """Launch ``worker_args(out)`` under torchrun with each process count in ``nprocs``.

    The worker's rank 0 writes its result as JSON to ``out``; the results come back in order,
    each with the launch's wall time added as ``wall_s``.
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for nproc in nprocs:
            out = Path(tmp) / f"ddp{nproc}.json"
            start = time.perf_counter()
            launch(worker_args(out), nproc, threads=threads, capture=False, check=True)
            rows.append({**json.loads(out.read_text()), "wall_s": time.perf_counter() - start})
    return rows


def comm_share(synced_s: float, unsynced_s: float, world: int) -> float:
    """Share of a synchronised step spent on gradient exchange: (synced - no_sync) / synced."""
    return max(0.0, (synced_s - unsynced_s) / synced_s) if world > 1 else 0.0
