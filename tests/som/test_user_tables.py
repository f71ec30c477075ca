"""Tables as numpy and pandas write them (a '#' header line, spaces in a .csv, pandas' index),
the notes the CLI prints about what reading decided, and the float32 range checks of the
queries and of training (once)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlcourse.errors import DlcourseError
from dlcourse.som.data import load_table
from dlcourse.som.table_files import read_frame

X = np.random.default_rng(0).normal(size=(12, 3))


def test_numpy_savetxt_header_line_names_the_columns(tmp_path):
    # "# a b c" was read as a header of four text columns: "no numeric feature columns"
    np.savetxt(tmp_path / "h.txt", X, header="a b c")
    table = load_table(str(tmp_path / "h.txt"))
    assert table.feature_names == ["a", "b", "c"] and table.named
    np.testing.assert_allclose(table.X, X)
    # in a .csv the names were "# a", "b", "c"
    np.savetxt(tmp_path / "h.csv", X, header="a,b,c", delimiter=",")
    assert load_table(str(tmp_path / "h.csv")).feature_names == ["a", "b", "c"]
    # a comment that does not fit the columns is skipped, as numpy.loadtxt does
    np.savetxt(tmp_path / "c.txt", X, header="made\nby numpy")
    table = load_table(str(tmp_path / "c.txt"))
    assert table.feature_names == ["x0", "x1", "x2"] and not table.named
    np.testing.assert_allclose(table.X, X)
    # a comment above a real header: the header names the columns
    (tmp_path / "r.csv").write_text("# from the lab\nu,v\n1,2\n3,4\n")
    assert load_table(str(tmp_path / "r.csv")).feature_names == ["u", "v"]
    (tmp_path / "only.csv").write_text("# nothing\n#else\n")
    with pytest.raises(DlcourseError, match="holds only comment lines"):
        load_table(str(tmp_path / "only.csv"))


@pytest.mark.parametrize("header, delimiter, name", [("a b c", " ", "f.txt"),
                                                     ("a,b,c", ",", "f.csv"), ("", " ", "g.txt")])
def test_numpy_savetxt_footer_lines_are_skipped(tmp_path, header, delimiter, name):
    # savetxt(footer=...) ends the table with '#' lines: a .csv's footer was read as a row of
    # missing values, a .txt's as a text column
    np.savetxt(tmp_path / name, X, header=header, footer="made by numpy\nin 2026",
               delimiter=delimiter)
    with open(tmp_path / name, "a") as handle:
        handle.write("\n")  # a blank line after the footer too
    table = load_table(str(tmp_path / name))
    np.testing.assert_allclose(table.X, X)
    assert table.feature_names == (header.replace(",", " ").split() or ["x0", "x1", "x2"])
    (tmp_path / "mid.csv").write_text("u,v\n1,2\n# a note\n3,4\n")  # not a footer: refused
    with pytest.raises(DlcourseError):
        load_table(str(tmp_path / "mid.csv"))


def test_a_space_separated_csv_reads_as_its_columns(tmp_path):
    # numpy.savetxt's default separator in a file named .csv: one text column, refused
    np.savetxt(tmp_path / "s.csv", X)
    table = load_table(str(tmp_path / "s.csv"))
    np.testing.assert_allclose(table.X, X)
    (tmp_path / "l.csv").write_text("a b kind\n1 2 x\n3 4 y\n")  # a header and a label
    table = load_table(str(tmp_path / "l.csv"))
    assert table.X.tolist() == [[1, 2], [3, 4]] and table.labels.tolist() == ["x", "y"]
    # a one-column CSV of names keeps the spaces in its fields
    (tmp_path / "names.csv").write_text("full name\nAda Lovelace\nAlan Turing\n")
    assert read_frame(tmp_path / "names.csv", "csv").columns.tolist() == ["full name"]


@pytest.mark.parametrize("header", ["a;b;kind\n", ""])
def test_a_european_spreadsheets_decimal_commas_read_as_numbers(tmp_path, header):
    # Excel in a comma-decimal locale writes "0,126;-0,132": every column was "not numeric"
    # (with a header), or each line split on its decimal commas (without one)
    path = tmp_path / "euro.csv"
    path.write_text(header + "0,126;-1,5e3;x\n2;0,25;y\n1,0;3;x\n")
    table = load_table(str(path))
    assert table.X.tolist() == [[0.126, -1500.0], [2.0, 0.25], [1.0, 3.0]]
    assert table.labels.tolist() == ["x", "y", "x"]
    # as many decimal commas on every line as ';': the commas are not the separator
    (tmp_path / "even.csv").write_text(header.replace(";kind", "") + "0,5;1,5\n2,5;3,5\n")
    assert load_table(str(tmp_path / "even.csv")).X.tolist() == [[0.5, 1.5], [2.5, 3.5]]
    # a ';' file with ordinary decimal points, and a comma-separated one, read as before
    (tmp_path / "dots.csv").write_text("a;b\n0.5;1\n2;3\n")
    assert load_table(str(tmp_path / "dots.csv")).X.tolist() == [[0.5, 1], [2, 3]]
    (tmp_path / "commas.csv").write_text("a,b\n1,2\n3,4\n")
    assert load_table(str(tmp_path / "commas.csv")).X.tolist() == [[1, 2], [3, 4]]


def test_pandas_to_csv_with_its_index_reads_without_it(tmp_path):
    # the header ",0,1,2" read as a data row: "missing value in data row 1, column 'x0'"
    path = tmp_path / "p.csv"
    pd.DataFrame(X).to_csv(path)
    table = load_table(str(path))
    np.testing.assert_allclose(table.X, X)
    assert table.feature_names == ["0", "1", "2"]
    assert len(table.notes) == 1 and "dropped its first column" in table.notes[0]
    # an index that is not 0..n-1 (rows shuffled) is kept, and said to be one
    pd.DataFrame(X, columns=list("abc")).iloc[::-1].to_csv(path)
    table = load_table(str(path))
    assert table.feature_names == ["Unnamed: 0", "a", "b", "c"]
    assert "holds whole numbers, as pandas' index does" in table.notes[0]
    # a header-less row with a missing first value is still data, reported with its row
    path.write_text(",2.5,3.5\n4.5,5.5,6.5\n")
    with pytest.raises(DlcourseError, match=r"missing value in data row 1, column 'x0'"):
        load_table(str(path))


def test_train_says_which_text_column_became_the_labels(cli_run, workdir):
    frame = pd.DataFrame(X, columns=list("abc"))
    frame["kind"] = ["p", "q", "r"] * 4
    frame.to_csv("t.csv", index=False)
    args = ("som", "train", "t.csv", "--grid", "2x2", "--epochs", "1", "--device", "cpu")
    result = cli_run(*args, "--out", "m")
    assert result.code == 0, result.err
    notes = [line for line in result.err.splitlines() if line.startswith("note:")]
    assert notes == ["note: t.csv: column 'kind' holds the labels (its one text column); "
                     "--label-col names another, --label-col none makes it a feature"]
    named = cli_run(*args, "--out", "n", "--label-col", "kind")  # named: nothing to say
    assert named.code == 0 and "note:" not in named.err
    frame.drop(columns="kind").to_csv("p.csv")  # pandas' index, dropped: said once
    result = cli_run("som", "predict", "m", "p.csv")
    assert result.code == 0 and result.err.count("note: p.csv: dropped its first column") == 1


@pytest.mark.parametrize("standardize", ["--standardize", "--no-standardize"])
def test_queries_refuse_data_too_far_for_the_float32_map(refused, workdir, cli_run,
                                                         standardize):
    # evaluate and predict answered QE inf and distance inf, exit 0
    np.savetxt("d.csv", X, delimiter=",", header="a,b,c", comments="")
    np.savetxt("far.csv", X * [1, 1e300, 1], delimiter=",", header="a,b,c", comments="")
    assert cli_run("som", "train", "d.csv", "--out", "m", "--grid", "2x2", "--epochs", "1",
                   standardize, "--device", "cpu").code == 0
    message = r"^error: far.csv: column 'b' lies up to .* from the map's centre; .*training data"
    refused(workdir, "som", "evaluate", "m", "far.csv", "--out", "e", match=message)
    refused(workdir, "som", "predict", "m", "far.csv", "--out", "p.csv", match=message)
    refused(workdir, "som", "plot", "m", "--data", "far.csv", "--out", "pl", match=message)
    refused(workdir, "som", "predict", "m", "d.csv", "--out", "p.csv", match=None)
    refused(workdir, "som", "evaluate", "m", "d.csv", match=None)


def test_train_checks_the_float32_range_once(cli_run, workdir, monkeypatch):
    import dlcourse.som.estimator as estimator
    import dlcourse.som.scaling as scaling

    calls = []
    check = scaling.check_float32_range

    def counted(*args, **kwargs):
        calls.append(args[2])
        return check(*args, **kwargs)

    monkeypatch.setattr(scaling, "check_float32_range", counted)
    monkeypatch.setattr(estimator, "check_float32_range", counted)
    np.savetxt("w.csv", X * [1, 1, 1e20], delimiter=",", header="a,b,c", comments="")
    args = ("som", "train", "w.csv", "--grid", "2x2", "--epochs", "1", "--device", "cpu")
    assert cli_run(*args, "--out", "ok").code == 0 and len(calls) == 1
    # the refusal still names the file, its column and the option to drop
    cli_run(*args, "--out", "m", "--no-standardize").assert_user_error(
        r"^error: w.csv: column 'c' lies up to .* drop --no-standardize or rescale the data$")
    assert len(calls) == 2 and not Path("m").exists()
    with pytest.raises(ValueError, match=r"X: column '2' lies up to .* standardise or rescale"):
        from dlcourse.som import SOM

        SOM(2, 2, device="cpu").fit(X * [1, 1, 1e20])  # the Python API keeps its check


def test_numba_starts_before_the_training_clock(monkeypatch):
    # epoch 0's seconds held numba's start (about 0.2 s of a 0.01 s epoch on small data)
    from dlcourse.som import SOM, _kernels, rules

    events = []
    monkeypatch.setattr(_kernels, "warm", lambda: events.append("warm"))
    start = rules.Control.__init__

    def clock(self):
        events.append("clock")
        start(self)

    monkeypatch.setattr(rules.Control, "__init__", clock)
    SOM(2, 2, epochs=2, device="cpu").fit(X)
    assert events == ["warm", "clock"]


def test_online_runs_past_the_step_limit_are_refused_before_training(cli_run, workdir,
                                                                      monkeypatch):
    # --epochs 99999999999999999999 built a schedule and a sample order until memory ran out;
    # the epochs are bounded alone, their steps once the samples are counted
    import dlcourse.som.config as config
    from dlcourse.errors import ConfigError
    from dlcourse.som import SOM

    monkeypatch.setattr(config, "MAX_STEPS", 100)
    with pytest.raises(ConfigError, match=r"epochs 9 over 12 samples are 108 steps of the "
                       r"online rule; at most 100"):
        SOM(2, 2, epochs=9, algorithm="online", device="cpu").fit(X)
    SOM(2, 2, epochs=9, algorithm="batch", device="cpu").fit(X)  # one pass an epoch: no order
    SOM(2, 2, epochs=9, iterations=50, algorithm="online", device="cpu").fit(X)
    np.savetxt("d.csv", X, delimiter=",")
    cli_run("som", "train", "d.csv", "--out", "m", "--epochs", "9", "--algorithm", "minibatch",
            "--device", "cpu").assert_user_error(r"^error: --epochs 9 over 12 samples are 108")
    assert not Path("m").exists()
