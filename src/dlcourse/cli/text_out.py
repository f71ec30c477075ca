"""Where `dlcourse text vocab --out` saves a vocabulary: a .json file or a folder's
vocab.json, checked before any text is read, and never a trained model's own."""

from __future__ import annotations

from pathlib import Path

from dlcourse.cli.common import check_out_dir
from dlcourse.engine.persist import MODEL_FILE, read_manifest
from dlcourse.errors import DlcourseError, InputError, a_quoted


def vocab_target(out: str) -> Path:
    """``--out`` of ``text vocab``: a ``.json`` file, or a folder that gets ``vocab.json``;
    checked writable without creating anything.

    A new name with another suffix (``x.txt``) is refused rather than made a folder: it reads
    as a file, and a vocabulary is JSON.
    """
    if not str(out).strip():  # Path("") is the working folder
        raise DlcourseError("--out is empty; give a folder or FILE.json")
    path = Path(out)
    if path.is_dir():
        _refuse_model_folder(path, path)
        return check_out_dir(path) / "vocab.json"
    if path.suffix.lower() == ".json":
        if path.exists():
            _refuse_model_folder(path.parent, path)
        check_out_dir(path.parent)
        return path
    if path.exists():
        raise DlcourseError(f"--out {path} exists and is neither a folder nor a .json file; "
                            "choose a folder or FILE.json")
    if path.suffix:
        raise DlcourseError(f"--out {path}: a vocabulary is saved as JSON; give "
                            f"{path.with_suffix('.json')} or a folder name without a suffix "
                            "(it gets vocab.json)")
    return check_out_dir(path) / "vocab.json"


def _refuse_model_folder(folder: Path, out: Path) -> None:
    """A trained model's folder keeps its own vocab.json (classify, lm): a new vocabulary
    there would replace the model's or lie beside it as if it were."""
    if (folder / MODEL_FILE).is_file():
        try:
            lesson = read_manifest(folder / MODEL_FILE).get("lesson")
        except DlcourseError:
            lesson = None
        what = f"{a_quoted(lesson)} model" if lesson else f"a {MODEL_FILE}"
        where = "holds" if out == folder else "is in a folder holding"
        raise InputError(f"--out {out} {where} {what}; save the vocabulary elsewhere")
