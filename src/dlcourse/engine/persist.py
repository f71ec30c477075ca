"""The model file every lesson writes: one safetensors file holding arrays plus a JSON manifest.

``DIR/model.safetensors`` stores the learned arrays (numpy arrays or torch tensors) and, in the
safetensors header's metadata, a JSON manifest: format name and version, the lesson, the
estimator class, its config and its plain-valued state (vocabulary, classes, history...). One
file means one atomic rename: a crash leaves the old model or the new one. Nothing is pickled,
and a model of a torch-free lesson (SOM, word vectors) is read back without importing torch.
Training checkpoints of the torch-free trainers (``last.safetensors``) use the same layout.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickletools
import struct
import zipfile
from pathlib import Path
from typing import Any

from dlcourse.engine.files import atomic_path, remove_stale_temp_files
from dlcourse.errors import ConfigError, DlcourseError, InputError, MissingFileError, a_quoted

FORMAT = "dlcourse"
FORMAT_VERSION = 2
MODEL_FILE = "model.safetensors"
CHECKPOINT_FILES = ("last.pt", "last.safetensors")  # the torch lessons', the numpy trainers'
_META_KEY = "dlcourse"


def model_path(path: str | os.PathLike) -> Path:
    """The model file for ``path``: a directory means ``path/model.safetensors``."""
    path = Path(path)
    return path / MODEL_FILE if path.suffix != ".safetensors" else path


def _is_torch(value: Any) -> bool:
    return type(value).__module__.startswith("torch")


def write_state(path: str | os.PathLike, manifest: dict[str, Any],
                arrays: dict[str, Any]) -> Path:
    """Write ``arrays`` (numpy arrays or torch tensors) and the JSON ``manifest`` atomically.

    Torch tensors are saved from the CPU, contiguous and unshared (tied weights are stored once
    per name); numpy arrays need no torch.
    """
    path = Path(path)
    meta = {_META_KEY: json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION,
                                   **manifest}, allow_nan=True, default=_json_value)}
    if any(_is_torch(v) for v in arrays.values()):
        import torch
        from safetensors.torch import save_file

        tensors = {k: (v.detach().to("cpu", copy=True).contiguous() if _is_torch(v)
                       else torch.from_numpy(_contiguous(v))) for k, v in arrays.items()}
    else:
        from safetensors.numpy import save_file

        tensors = {k: _contiguous(v) for k, v in arrays.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def _json_value(value: Any) -> Any:
    """numpy arrays and scalars in a manifest (a user's ``metadata_``, say) as JSON values."""
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":
        return value.tolist()
    raise TypeError(f"{type(value).__name__} {value!r} cannot be saved in a model file: give "
                    "plain values (numbers, strings, lists, dicts)")


def _contiguous(value: Any):
    import numpy as np

    return np.ascontiguousarray(value)


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON manifest of a model file, read from its header only (no arrays, no torch).

    Raises:
        MissingFileError: nothing at ``path`` (a FileNotFoundError too), or a folder.
        InputError: a file given where a model folder is expected (a run's ``best.pt``), an
            empty, truncated or foreign file.
        DlcourseError: a file written by a newer dlcourse.
    """
    path = Path(path)
    if not path.exists():
        given = path.parent if path.name == MODEL_FILE else path  # what model_path was given
        if given.is_file():  # a run's best.pt or last.pt, say: not a model folder
            fix = (f"pass the run's folder {given.parent}"
                   if (given.parent / MODEL_FILE).is_file() else "pass a run's folder")
            raise InputError(f"{given} is a file, not a model folder (a folder holding "
                             f"{MODEL_FILE}); {fix}")
        raise MissingFileError(f"{path} does not exist; train a model first or check the path")
    if path.is_dir():
        raise MissingFileError(f"{path} is a directory, not a model file")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty, not a dlcourse model file; pass a directory "
                         "written by a dlcourse train command")
    try:
        with open(path, "rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            if size > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(handle.read(size))
        manifest = json.loads(header["__metadata__"][_META_KEY])
    except Exception as exc:  # truncated, foreign or hand-edited file: one line
        raise InputError(f"{path} is not a dlcourse model file ({_reason(exc)}); "
                         "pass a directory written by a dlcourse train command") from exc
    if manifest.get("format") != FORMAT:
        raise InputError(f"{path} is not a dlcourse model file")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise DlcourseError(f"{path} was written by a newer dlcourse (format "
                            f"{manifest['format_version']}); upgrade dlcourse to read it")
    return manifest


def check_model_dir(path: str | os.PathLike, lesson: str, what: str = "MODEL_DIR") -> Path:
    """A directory (or model file) holding a ``lesson`` model written by ``dlcourse <lesson>
    train``; ``what`` names it in the messages (the argument or option).

    Reads only the model file's header (no torch), so a wrong path fails before any work.

    Raises:
        DlcourseError: missing, holding no model file (or an older dlcourse's model.pt), or
            another lesson's model.
    """
    if not str(path).strip():  # Path("") is ".", the working folder
        raise InputError(f"{what} is empty; pass the folder a 'dlcourse {lesson} train' run "
                         "wrote (its --out)")
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"{what} {path} does not exist; train one with "
                               f"'dlcourse {lesson} train DATA --out {path}'")
    if path.is_file() and path.suffix != ".safetensors":  # a run's best.pt, say
        fix = (f"pass the run's folder {path.parent}" if (path.parent / MODEL_FILE).is_file()
               else f"pass a folder written by 'dlcourse {lesson} train'")
        raise InputError(f"{what} {path} is a file, not a model folder; {fix}")
    file = path if path.is_file() else path / MODEL_FILE
    if not file.exists() and (path / "model.pt").exists():
        raise DlcourseError(f"{what} {path} holds a model.pt written by an older dlcourse; "
                            f"train it again with 'dlcourse {lesson} train DATA --out {path}'")
    if not file.exists():
        raise DlcourseError(f"{what} {path} holds no {MODEL_FILE}; pass a directory written "
                            f"by 'dlcourse {lesson} train'")
    found = read_manifest(file).get("lesson")
    if found != lesson:
        raise DlcourseError(f"{what} {path} holds {a_quoted(found)} model, not "
                            f"{a_quoted(lesson)} one; use 'dlcourse {found} ...' for it")
    later = unfinished_checkpoint(path)
    if later is not None:
        logging.getLogger("dlcourse").warning(
            "note: %s also holds the checkpoint %s of a later run that did not finish; this "
            "reads the model of the run before it ('dlcourse %s train ... --resume' finishes "
            "the later one)", path, later.name, lesson)
    return path


def checkpoint_manifest(out_dir: str | os.PathLike, lesson: str) -> dict[str, Any]:
    """The manifest of ``out_dir/last.safetensors``, a checkpoint of a ``lesson`` run (the
    numpy trainers': SOM, word2vec, GloVe), read to resume it.

    Raises:
        DlcourseError: no such checkpoint (naming another lesson's run where the folder holds
            one), or a checkpoint of another lesson.
    """
    out_dir = Path(out_dir)
    path = out_dir / CHECKPOINT_FILES[1]
    other = f"not {a_quoted(lesson)} one; train into a new --out (in Python: another out_dir)"
    if not path.exists():
        if (out_dir / MODEL_FILE).exists():  # a finished run of some lesson
            found = read_manifest(out_dir / MODEL_FILE).get("lesson")
            if found != lesson:
                raise DlcourseError(f"cannot resume {out_dir}: it holds {a_quoted(found)} run, "
                                    + other)
        elif (out_dir / CHECKPOINT_FILES[0]).exists():  # the torch lessons' checkpoint
            raise DlcourseError(f"cannot resume {out_dir}: it holds another lesson's run "
                                f"({CHECKPOINT_FILES[0]}), " + other)
        raise nothing_to_resume(path)
    manifest = read_manifest(path)
    if manifest.get("lesson") != lesson or manifest.get("kind") != "checkpoint":
        raise DlcourseError(f"cannot resume {out_dir}: it holds "
                            f"{a_quoted(manifest.get('lesson'))} run, " + other)
    return manifest


def nothing_to_resume(path: Path) -> MissingFileError:
    """The error of ``--resume`` where the checkpoint ``path`` does not exist. A run killed
    while writing its first checkpoint left only a temporary file: it is removed and named."""
    removed = remove_stale_temp_files(path.parent)
    killed = (f" (a run killed while writing its first checkpoint left only a temporary file, "
              f"{', '.join(sorted(p.name for p in removed))}, now removed)" if removed else "")
    return MissingFileError(f"nothing to resume: {path} does not exist{killed}; "
                            "run without --resume (in Python: resume=False)")


def unfinished_checkpoint(folder: str | os.PathLike) -> Path | None:
    """The checkpoint in ``folder`` written after its model file, or None.

    A run writes its model when it ends, after its last checkpoint; a checkpoint newer than
    the model belongs to a later run into the same folder, stopped before its end.
    """
    folder = Path(folder)
    try:
        model = (folder / MODEL_FILE).stat().st_mtime_ns
    except OSError:  # a model file given directly, or none
        return None
    for name in CHECKPOINT_FILES:
        with contextlib.suppress(OSError):
            if (folder / name).stat().st_mtime_ns > model:
                return folder / name
    return None


def folder_notes(out_dir: Path, resume: bool) -> list[tuple[int, str]]:
    """(level, message) of what a run into ``out_dir`` should be told: the temporary files of
    a killed run (removed now), an interrupted run's checkpoint it replaces, or a finished run
    whose model it replaces when it ends."""
    notes = []
    removed = remove_stale_temp_files(out_dir)
    if removed:
        notes.append((logging.INFO, f"removed {len(removed)} temporary file(s) a killed run "
                      f"left in {out_dir} ({', '.join(sorted(p.name for p in removed))})"))
    interrupted = None if resume else interrupted_checkpoint(out_dir)
    if interrupted is not None:
        notes.append((logging.WARNING, f"{out_dir} holds an interrupted run's checkpoint "
                      f"({interrupted.name}): this run starts over and replaces it; to continue "
                      "that run instead, stop this one and add --resume"))
    elif not resume and (out_dir / MODEL_FILE).is_file():
        # said at the start: stopped midway, the folder holds the old model beside this run's
        # checkpoint, and evaluate reads the old one
        notes.append((logging.INFO, f"{out_dir} holds a finished run: this one replaces its "
                      "model when it ends (until then the folder's model is the old one)"))
    return notes


def interrupted_checkpoint(out_dir: Path) -> Path | None:
    """The checkpoint of a run stopped before it wrote its model in ``out_dir`` (newer than
    the folder's model, or with no model beside it), else None."""
    if (out_dir / MODEL_FILE).is_file():
        return unfinished_checkpoint(out_dir)
    return next((out_dir / name for name in CHECKPOINT_FILES if (out_dir / name).is_file()),
                None)


def checkpoint_lesson(path: Path) -> str | None:
    """The lesson of a training checkpoint, read without torch (None when unreadable).

    ``last.safetensors`` names it in its manifest. ``last.pt`` is torch's zip of a pickle: its
    top-level ``"lesson"`` key is found among the pickle's opcodes, which are read, never run.
    """
    if path.suffix == ".safetensors":
        try:
            return read_manifest(path).get("lesson")
        except DlcourseError:
            return None
    memo, last, after_key = {}, None, False
    try:
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith("data.pkl"))
            for op, arg, _ in pickletools.genops(archive.read(name)):
                if op.name in ("BINPUT", "LONG_BINPUT"):  # protocol 2 keeps strings by index
                    memo[arg] = last
                    continue
                value = memo.get(arg) if op.name in ("BINGET", "LONG_BINGET") else (
                    arg if isinstance(arg, str) else None)
                if after_key:
                    return value
                last, after_key = value, value == "lesson"
    except (OSError, StopIteration, ValueError, zipfile.BadZipFile):
        return None
    return None


def check_out_lesson(out: Path, lesson: str, option: str = "out_dir") -> None:
    """Refuse to train into a folder holding another lesson's model or interrupted run: the
    two runs' files (model, checkpoints, figures) would mix. A finished or interrupted run of
    the same lesson is replaced.

    Raises:
        InputError: naming ``option`` (``--out`` for the CLI), the folder and what it holds.
    """
    if (out / MODEL_FILE).is_file():
        try:
            found = read_manifest(out / MODEL_FILE).get("lesson")
        except DlcourseError:
            found = None
        what = f"{a_quoted(found)} model" if found else f"a {MODEL_FILE} of another program"
    else:
        checkpoint = interrupted_checkpoint(out)
        if checkpoint is None:
            return
        found = checkpoint_lesson(checkpoint)
        if found is None:  # unreadable here: the run's own check (resume) or replacement
            return
        what = f"an interrupted '{found}' run's checkpoint ({checkpoint.name})"
    if found != lesson:
        raise InputError(f"{option} {out} holds {what}, not {a_quoted(lesson)} one; use "
                         "another folder")


def read_state(path: str | os.PathLike, framework: str = "numpy",
               device: str = "cpu") -> tuple[dict[str, Any], dict[str, Any]]:
    """(manifest, arrays) of a file written by :func:`write_state`.

    ``framework="numpy"`` returns numpy arrays without importing torch; ``"torch"`` returns
    tensors on ``device`` (default the CPU).
    """
    from safetensors import SafetensorError

    path = Path(path)
    manifest = read_manifest(path)
    try:
        if framework == "torch":
            from safetensors.torch import load_file

            arrays = load_file(str(path), device=str(device))
        else:
            from safetensors.numpy import load_file

            arrays = load_file(str(path))
    except (SafetensorError, ValueError) as exc:  # a header that lies about the bytes after it
        raise DlcourseError(f"cannot read {path}: {_reason(exc)}; the file is damaged, "
                            "train or save the model again") from exc
    except OSError as exc:  # not the file's fault: permissions, a vanished disk
        raise DlcourseError(f"cannot read {path}: {exc.strerror or _reason(exc)}") from exc
    return manifest, arrays


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


#: the keys under which lessons keep a digest of their training data in a checkpoint
DATA_KEYS = ("data", "training_texts", "training_images")


def check_resume_config(saved: dict[str, Any], current: dict[str, Any], where: str | os.PathLike,
                        free: tuple[str, ...] = ("epochs", "device", "progress"),
                        before: dict[str, Any] | None = None) -> None:
    """Refuse to resume a run whose settings differ from the current ones.

    Args:
        saved: the config stored in the run's checkpoint.
        current: the config of the run being resumed.
        where: the run folder (for the message).
        free: settings that may change between the runs (more epochs, another device).
        before: settings added since ``saved`` may have been written, with the value a run
            saved without them was trained with (``Config.before``); other settings
            ``saved`` lacks are not compared.

    Raises:
        ConfigError: naming the first setting that differs (its ``field``; the CLI names the
            option) and its two values.
    """
    saved = {**(before or {}), **saved}
    for name, value in current.items():
        if name in free or name not in saved:
            continue
        if saved[name] != value and name in DATA_KEYS:  # a digest of the rows, no setting
            raise InputError(
                f"cannot resume {where}: it was trained on other data ({saved[name]}), this "
                f"run reads {value}; resume with the same data (and --limit) or train into a "
                "new --out (in Python: another out_dir)")
        if saved[name] != value:
            raise ConfigError(
                f"cannot resume {where}: it was trained with {name}={saved[name]!r}, this run "
                f"asks for {value!r}; resume with the same settings or train into a new --out "
                "(in Python: another out_dir)",
                field=name)


def check_resume_epochs(started: int | None, config: Any, out_dir: Any) -> None:
    """Refuse a resumed run with other ``epochs`` than the ``started`` ones where the run
    depends on their number (``config.epochs_span()``): it would equal no run never stopped.

    Raises:
        ConfigError: naming ``epochs``, what spans them and the number the run started with.
    """
    span = config.epochs_span()
    if started is None or started == config.epochs or span is None:
        return
    what, free = span
    plural = "s" * (started != 1)
    raise ConfigError(
        f"epochs {config.epochs} cannot continue {out_dir}: its {what} spans the {started} "
        f"epoch{plural} the run started with; resume with {started} epoch{plural} ({free} may "
        "add epochs) or train into a new --out (in Python: another out_dir)", "epochs")
