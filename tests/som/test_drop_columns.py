"""--drop-cols: a table with an ID and a text column trains without editing the file, the map
remembers the columns it left out, and the refusals name every column at once with the fix
(the user's probe: one text column reported per run, and --label-col as the only advice)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlcourse.engine.persist import read_manifest
from dlcourse.som import SOM

TRAIN = ("--grid", "3x3", "--epochs", "2", "--device", "cpu")


def own_frame(n: int = 60) -> pd.DataFrame:
    """The probe's table: an ID, a category and two measurements."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({"id": [f"S{i}" for i in range(n)],
                         "color": rng.choice(["red", "blue"], n),
                         "h": rng.normal(1500, 300, n), "x": rng.normal(0, 1, n)})


@pytest.fixture
def tables(workdir):
    """own.csv in data/ of a fresh working directory (commands use relative paths)."""
    Path("data").mkdir()
    own_frame().to_csv("data/own.csv", index=False)
    return workdir


def test_an_id_and_a_text_column_are_named_together_with_the_option(cli_run, tables):
    result = cli_run("som", "train", "data/own.csv", "--out", "s1", *TRAIN)
    result.assert_user_error(r"data/own.csv: columns 'id', 'color' are not numeric; leave them "
                             r"out with --drop-cols id,color, or name the label column with "
                             r"--label-col$")
    # with the labels named, the other text column is the one left to drop
    cli_run("som", "train", "data/own.csv", "--out", "s1", "--label-col", "id", *TRAIN
            ).assert_user_error(r"column 'color' is not numeric; leave it out with "
                                r"--drop-cols color \(the labels are in 'id'\)")
    assert "s1" not in tables()


@pytest.mark.parametrize("args, match", [
    (("--drop-cols", "idd,color"),
     r"^error: --drop-cols idd: data/own.csv has no such column; its columns: id, color, h, x$"),
    (("--drop-cols", "id,,color"), r"--drop-cols 'id,,color' has an empty column name"),
    (("--drop-cols", "id,color", "--label-col", "color"),
     r"column 'color' is both --label-col and in --drop-cols"),
    # every feature dropped: said so (it blamed the file's separator)
    (("--drop-cols", "id,color,h,x"),
     r"^error: data/own.csv: --drop-cols leaves no feature column \(it drops 4 of its 4 "
     r"columns\); drop fewer columns$"),
    (("--drop-cols", "color,h,x", "--label-col", "id"),
     r"it drops 3 of its 4 columns; the labels are in 'id'\); drop fewer columns$"),
])
def test_bad_drop_cols_are_one_line_before_any_work(cli_run, tables, args, match):
    cli_run("som", "train", "data/own.csv", "--out", "s1", *TRAIN, *args).assert_user_error(match)
    assert "s1" not in tables()


def test_a_matrix_or_a_data_set_has_no_columns_to_drop(cli_run, workdir):
    np.save("m.npy", np.random.default_rng(0).normal(size=(20, 3)))
    cli_run("som", "train", "m.npy", "--out", "s", "--drop-cols", "x0", *TRAIN
            ).assert_user_error(r"m.npy has no named columns to leave out; --drop-cols names "
                                "columns of a table file")
    cli_run("som", "train", "sklearn:iris", "--out", "s", "--drop-cols", "a", *TRAIN
            ).assert_user_error(r"sklearn:iris has no named columns to leave out")


def test_dropped_columns_are_saved_and_left_out_by_every_verb(cli_run, tables):
    # repeated and comma-separated spellings add up
    result = cli_run("som", "train", "data/own.csv", "--out", "s1", "--drop-cols", "id",
                     "--drop-columns", "color", *TRAIN)
    assert result.code == 0, result.err
    meta = read_manifest(Path("s1/model.safetensors"))["metadata"]
    assert meta["drop_columns"] == ["color", "id"] and meta["feature_names"] == ["h", "x"]
    assert meta["label_column"] is None
    # the same layout, without retyping --drop-cols
    result = cli_run("som", "evaluate", "s1", "data/own.csv")
    assert result.code == 0, result.err
    assert "own.csv" in result.out and " 60 " in result.out
    assert cli_run("som", "evaluate", "s1").code == 0  # the training data, found again
    result = cli_run("som", "predict", "s1", "data/own.csv", "--out", "pred.csv")
    assert result.code == 0, result.err
    with open("pred.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 60 and list(rows[0]) == ["sample", "row", "col", "distance"]
    result = cli_run("som", "plot", "s1", "--data", "data/own.csv", "--out", "figures")
    assert result.code == 0, result.err
    assert Path("figures/hit_map.png").stat().st_size > 1000
    # new samples without the ID column: the saved drop applies where the column is there
    own_frame(8).drop(columns=["id"]).to_csv("new.csv", index=False)
    result = cli_run("som", "predict", "s1", "new.csv")
    assert result.code == 0, result.err
    # more text columns in new data: named with the option; typed, they are left out too
    own_frame(8).assign(note="n", site="a b").to_csv("noted.csv", index=False)
    cli_run("som", "predict", "s1", "noted.csv").assert_user_error(
        r"columns 'note', 'site' are not numeric; leave them out with --drop-cols note,site "
        r"\(the map was trained without labels\)")
    assert cli_run("som", "predict", "s1", "noted.csv", "--drop-cols", "note,site").code == 0
    cli_run("som", "evaluate", "s1", "noted.csv", "--drop-cols", "nope").assert_user_error(
        r"--drop-cols nope: noted.csv has no such column; its columns: id, color, h, x, note, "
        r"site")


def test_a_resume_needs_the_same_drop_cols_in_any_order(cli_run, tables):
    args = ("som", "train", "data/own.csv", "--out", "s1", *TRAIN)
    assert cli_run(*args, "--drop-cols", "id,color").code == 0
    cli_run(*args, "--drop-cols", "id", "--resume").assert_user_error(
        r"cannot resume s1: it was trained with --drop-cols 'color,id', this run asks for 'id'")
    result = cli_run(*args, "--drop-cols", "color,id", "--resume")
    assert result.code == 0, result.err


def test_an_integer_id_column_is_noted(cli_run, workdir):
    frame = own_frame().drop(columns=["id", "color"])
    frame.insert(0, "cust_id", np.arange(1000, 1000 + len(frame)))
    frame.to_csv("ids.csv", index=False)
    result = cli_run("som", "train", "ids.csv", "--out", "s1", *TRAIN)
    assert result.code == 0, result.err
    assert ("note: ids.csv: column 'cust_id' looks like a row ID (a different integer on every "
            "row), used as a feature; if it measures nothing, leave it out with --drop-cols "
            "cust_id") in result.err
    result = cli_run("som", "train", "ids.csv", "--out", "s2", "--drop-cols", "cust_id", *TRAIN)
    assert result.code == 0 and "cust_id" not in result.err, result.err
    assert read_manifest(Path("s2/model.safetensors"))["metadata"]["feature_names"] == ["h", "x"]


def test_fit_on_a_dataframe_names_its_text_columns_and_the_drop():
    frame = own_frame()
    with pytest.raises(ValueError, match=r"X must be numeric, got dtype object: its columns "
                       r"'id', 'color' are not numeric; leave them out, e.g. "
                       r"X.drop\(columns=\['id', 'color'\]\)"):
        SOM(3, 3, epochs=1, device="cpu").fit(frame)
    som = SOM(3, 3, epochs=1, device="cpu").fit(frame.drop(columns=["id", "color"]))
    assert list(som.feature_names_in_) == ["h", "x"]
    # numbers held as objects are still numbers
    assert som.predict(frame[["h", "x"]].astype(object)).shape == (60, 2)
