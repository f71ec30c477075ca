"""Checkpoints and atomic writes."""

from __future__ import annotations

import pytest
import torch

from dlcourse.engine import atomic_write, load_checkpoint, save_checkpoint, write_json
from dlcourse.errors import DlcourseError


def test_round_trip_loads_with_weights_only(tmp_path):
    model = torch.nn.Linear(3, 2)
    path = save_checkpoint(
        tmp_path / "m.pt",
        {"model": model.state_dict(), "vocab": ["a", "b"], "config": {"lr": 0.1, "layers": [1, 2]}},
    )
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "dlcourse" and raw["vocab"] == ["a", "b"]
    state = load_checkpoint(path)
    assert torch.equal(state["model"]["weight"], model.weight.detach())


def test_failed_write_leaves_old_file_intact(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_truncated_and_foreign_files_are_clear_errors(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", {"x": torch.zeros(1000)})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DlcourseError, match="cannot read checkpoint"):
        load_checkpoint(path)
    torch.save({"x": 1}, tmp_path / "other.pt")
    with pytest.raises(DlcourseError, match="not a dlcourse checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(DlcourseError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


class Custom:
    """Any class: unpickling it would run code from the file."""


def test_pickled_objects_are_refused(tmp_path):
    torch.save({"format": "dlcourse", "obj": Custom()}, tmp_path / "evil.pt")
    with pytest.raises(DlcourseError, match="pickled Python objects") as info:
        load_checkpoint(tmp_path / "evil.pt")
    assert "weights_only=False" not in str(info.value)  # never suggest the unsafe way


def test_write_json(tmp_path):
    write_json(tmp_path / "a" / "h.json", [{"epoch": 1}])
    assert (tmp_path / "a" / "h.json").read_text().startswith("[")


def test_write_json_writes_strict_json(tmp_path):
    # NaN (a som metrics.json's QE of an overflowing map) made files other readers refuse
    import json

    import numpy as np

    values = {"qe": float("nan"), "te": np.float64("inf"), "ok": 0.5,
              "rows": [1.0, -np.inf, (2.0, float("nan"))], "name": "x"}
    path = write_json(tmp_path / "m.json", values)

    def refuse(token):
        raise ValueError(token)

    assert json.loads(path.read_text(), parse_constant=refuse) == {
        "qe": None, "te": None, "ok": 0.5, "rows": [1.0, None, [2.0, None]], "name": "x"}
