"""``OUT/last.safetensors``: the training checkpoint of the numpy trainers (SOM, word2vec, GloVe).

A checkpoint holds the working arrays (through :func:`dlcourse.engine.persist.write_state`, so
no torch) and, in its JSON manifest, the settings a resumed run must share, the whole config
(for reading) and the trainer's position and history as plain values. The write is atomic: a
``kill -9`` leaves the previous checkpoint or the new one. Each lesson checks what a resumed
run must share (``check_resumable`` in ``som.training`` and ``embeddings.checkpoint``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse import __version__
from dlcourse.engine.distributed import is_main_process
from dlcourse.engine.persist import CHECKPOINT_FILES, read_state, write_state

CHECKPOINT_FILE = CHECKPOINT_FILES[1]  # last.safetensors


class ArrayCheckpoint:
    """The checkpoint of one run in ``out_dir``.

    Args:
        out_dir: the run's folder.
        lesson: the lesson whose run it is ("som", "embed"), as model folders name it.
        estimator: the class that trains ("SOM", "Word2Vec", "GloVe").
        settings: plain values a resumed run must share (the config's resume values, the
            data's fingerprint, what the CLI did to the data).
        config: the whole config (saved for reading, not compared).
        every_s: an epoch's checkpoint is :meth:`due` when this many seconds passed since the
            last write (always written at the end of the run and on Ctrl-C).
    """

    def __init__(self, out_dir: str | os.PathLike, lesson: str, estimator: str,
                 settings: dict[str, Any], config: dict[str, Any], every_s: float) -> None:
        self.path = Path(out_dir) / CHECKPOINT_FILE
        self.lesson, self.estimator = lesson, estimator
        self.settings, self.config, self.every_s = settings, config, every_s
        self.written_at = time.monotonic()

    def due(self) -> bool:
        """Whether an epoch's checkpoint is due (``every_s`` since the last write)."""
        return time.monotonic() - self.written_at >= self.every_s

    def write_arrays(self, arrays: dict[str, np.ndarray], state: dict[str, Any]) -> Path:
        """Save the working ``arrays`` and the plain ``state`` atomically (rank 0 only)."""
        self.written_at = time.monotonic()
        if not is_main_process():
            return self.path
        manifest = {"lesson": self.lesson, "estimator": self.estimator, "kind": "checkpoint",
                    "dlcourse_version": __version__, "config": self.config,
                    "settings": self.settings, "state": state}
        return write_state(self.path, manifest, arrays)

    def read_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(manifest, arrays) of the saved run; the lesson checks them against this run."""
        return read_state(self.path)
