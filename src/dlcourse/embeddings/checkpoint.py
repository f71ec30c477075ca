"""``OUT/last.safetensors``: the training checkpoint of Word2Vec and GloVe, and ``--resume``.

A checkpoint holds the working arrays (numpy, through :func:`dlcourse.engine.persist.write_state`,
so no torch) and, in its JSON manifest, the settings a resumed run must share, the position
reached (epoch, and inside it the chunk, block or round) and the history. The trainers write it
after an epoch (at most every :data:`CHECKPOINT_EVERY_S` seconds: an epoch of CBOW on a million
words takes a fraction of a second, a checkpoint tens of megabytes), at the end of the run and
on Ctrl-C. The write is atomic: a ``kill -9`` leaves the previous checkpoint or the new one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.engine.array_checkpoint import ArrayCheckpoint
from dlcourse.engine.interrupt import RESUME_HINT
from dlcourse.engine.persist import check_resume_config, checkpoint_manifest
from dlcourse.errors import DlcourseError

LESSON = "embed"
CHECKPOINT_EVERY_S = 10.0


def data_fingerprint(words: list[str], counts: np.ndarray) -> str:
    """``"N tokens, V words, <hash>"`` of a corpus's vocabulary and counts: enough to tell a
    resumed run that it got another corpus (or another min_count), without keeping the text."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update("\n".join(words).encode("utf-8", "surrogatepass"))
    digest.update(np.ascontiguousarray(counts, dtype=np.int64).tobytes())
    return f"{int(counts.sum())} tokens, {len(words)} words, {digest.hexdigest()}"


def check_resumable(out_dir: str | os.PathLike, estimator: str,
                    settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Refuse ``--resume`` of ``out_dir`` before any work; returns the checkpoint's manifest.

    Args:
        out_dir: the run's folder.
        estimator: the class that resumes ("Word2Vec" or "GloVe").
        settings: this run's settings (see :class:`RunCheckpoint`); None checks only that the
            folder holds a checkpoint of ``estimator``.

    Raises:
        DlcourseError: no checkpoint, another lesson's or trainer's run, or settings that
            differ (naming the first one and both values).
    """
    manifest = checkpoint_manifest(out_dir, LESSON)
    if manifest.get("estimator") != estimator:
        raise DlcourseError(f"cannot resume {out_dir}: it holds a {manifest.get('estimator')} "
                            f"run and this run trains {estimator}; resume with the same "
                            "--method or train into a new --out (in Python: another out_dir)")
    if settings is not None:
        saved = manifest.get("settings") or {}
        trainers = (saved.get("trainer"), settings.get("trainer"))
        if None not in trainers and trainers[0] != trainers[1]:  # backend may differ, not this
            raise DlcourseError(
                f"cannot resume {out_dir}: it was trained by the {trainers[0]} trainer and this "
                f"run would train with the {trainers[1]} one; resume with --backend "
                f"{trainers[0]} (in Python: backend={trainers[0]!r})")
        check_resume_config(saved, settings, out_dir, free=())
    return manifest


class RunCheckpoint(ArrayCheckpoint):
    """The checkpoint of one Word2Vec or GloVe run in ``out_dir``.

    Args:
        out_dir: the run's folder.
        estimator: "Word2Vec" or "GloVe".
        settings: plain values a resumed run must share (the config without the settings that
            may change, see ``config.RESUME_FREE``, the resolved trainer and the data's
            fingerprint).
        config: the whole config (saved for reading, not compared).
    """

    def __init__(self, out_dir: str | os.PathLike, estimator: str, settings: dict[str, Any],
                 config: dict[str, Any]) -> None:
        super().__init__(out_dir, LESSON, estimator, settings, config, CHECKPOINT_EVERY_S)

    def write(self, arrays: dict[str, np.ndarray], state: dict[str, Any]) -> Path:
        """Save the working ``arrays`` and the plain ``state`` atomically (rank 0 only)."""
        return self.write_arrays(arrays, state)

    def read(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, state) of the saved run, after :func:`check_resumable` against this run.

        Raises:
            DlcourseError: nothing to resume, another run, other settings or data.
        """
        check_resumable(self.path.parent, self.estimator, self.settings)
        manifest, arrays = self.read_arrays()
        return arrays, manifest.get("state") or {}


def interrupted_message(where: str, checkpoint: RunCheckpoint | None) -> str:
    """The one line a stopped run ends with: where it stopped and how to go on."""
    if checkpoint is None:
        return f"interrupted {where}; no out_dir was given, so nothing was saved"
    return f"interrupted {where}; checkpoint saved to {checkpoint.path}; {RESUME_HINT}"
