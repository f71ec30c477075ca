"""How the SOM lesson reads table files (delimiter, header or data row, what evaluate and
predict accept) and the checks on values too large for the standardiser or the float32 map."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.errors import DlcourseError, InputError
from dlcourse.som import SOM
from dlcourse.som.data import load_table
from dlcourse.som.scaling import Standardizer, check_float32_range
from dlcourse.text.formats import choose_delimiter, splits_on_whitespace

ROWS = "0.5,1.5,-2.0,pos\n-1.0,0.25,3.0,neg\n2.0,-0.5,1.0,pos\n"  # a labelled table, no header


def test_a_matrix_saved_by_numpy_savetxt_reads_as_its_columns(tmp_path):
    # savetxt's default: one space between columns, which no CSV delimiter fits; the file read
    # as one text column and was refused ("has no numeric feature columns")
    X = np.random.default_rng(0).normal(size=(6, 3))
    np.savetxt(tmp_path / "m.txt", X)
    table = load_table(str(tmp_path / "m.txt"))
    np.testing.assert_allclose(table.X, X)
    assert table.feature_names == ["x0", "x1", "x2"] and not table.named
    np.savetxt(tmp_path / "aligned.txt", X, fmt="%9.4f")  # runs of spaces, leading ones too
    np.testing.assert_allclose(load_table(str(tmp_path / "aligned.txt")).X, X, atol=1e-4)
    (tmp_path / "h.txt").write_text("a b  kind\n1 2 x\n3 4 y\n")  # a header and a label
    table = load_table(str(tmp_path / "h.txt"))
    assert table.X.tolist() == [[1, 2], [3, 4]] and table.labels.tolist() == ["x", "y"]
    # a one-column text file with a spaced header is not split on its spaces
    (tmp_path / "one.txt").write_text("my value\n1.5\n2.5\n")
    table = load_table(str(tmp_path / "one.txt"))
    assert table.feature_names == ["my value"] and table.X.ravel().tolist() == [1.5, 2.5]


def test_whitespace_is_a_separator_for_text_files_only():
    # the text layer's delimiter choice is unchanged: a CSV's spaces belong to its fields
    assert choose_delimiter("1 2 3\n4 5 6\n") == ","
    assert splits_on_whitespace("1 2 3\n4  5\t6\n")
    assert not splits_on_whitespace("my value\n1.5\n")  # ragged: two fields, then one
    assert not splits_on_whitespace("height\n1.7\n")  # one column


def test_a_first_row_with_an_empty_cell_is_data_not_a_header(tmp_path):
    # pandas named the empty cell "Unnamed: 1", not a number: the row became the header, the
    # table lost it and had features named "1.0", "Unnamed: 1", "3.0"
    path = tmp_path / "f.csv"
    path.write_text("1.0,,3.0\n4.0,5.0,6.0\n7.0,8.0,9.0\n")
    with pytest.raises(DlcourseError, match=r"missing value in data row 1, column 'x1'"):
        load_table(str(path))
    # a repeated number was renamed "1.0.1" by pandas: the same loss
    path.write_text("1.0,1.0,3.0\n4.0,5.0,6.0\n")
    assert load_table(str(path)).X.tolist() == [[1, 1, 3], [4, 5, 6]]
    # pandas' to_csv writes an empty first header cell for the index: still a header, and
    # the index (0, 1, 2...: no information) is dropped with a note
    path.write_text(",a,b\n0,1.5,2.5\n1,3.5,4.5\n")
    table = load_table(str(path))
    assert table.feature_names == ["a", "b"] and table.X.tolist() == [[1.5, 2.5], [3.5, 4.5]]
    assert "dropped its first column" in table.notes[0]


def test_new_data_without_a_header_has_its_text_column_as_the_label(tmp_path):
    # evaluate and predict (require_label=False, the map's label column 'label') refused the
    # header-less copy of the training table that train itself accepts
    path = tmp_path / "noh.csv"
    path.write_text(ROWS)
    train = load_table(str(path))
    assert train.label_column == "x3"
    table = load_table(str(path), label_column="label", require_label=False)
    assert table.labels.tolist() == ["pos", "neg", "pos"] and table.X.tolist() == \
        train.X.tolist()
    # a header-less file with two text columns is still refused
    path.write_text("1.0,a,pos\n2.0,b,neg\n")
    with pytest.raises(DlcourseError, match="are not numeric and the map's labels"):
        load_table(str(path), label_column="label", require_label=False)


def test_a_header_alone_says_so_to_evaluate_and_predict(tmp_path):
    # a header's columns have no type: they were reported as non-numeric columns
    path = tmp_path / "hdr.csv"
    path.write_text("a,b,c\n")
    for kwargs in ({}, {"label_column": "label", "require_label": False}):
        with pytest.raises(DlcourseError, match=r"hdr.csv has a header but no data rows"):
            load_table(str(path), **kwargs)


def test_cli_evaluate_and_predict_take_the_header_less_training_table(cli_run, workdir):
    from pathlib import Path

    Path("h.csv").write_text("a,b,c,label\n" + ROWS)
    Path("noh.csv").write_text(ROWS)
    assert cli_run("som", "train", "h.csv", "--out", "m", "--grid", "2x2", "--epochs",
                   "1").code == 0
    for verb in ("evaluate", "predict"):
        result = cli_run("som", verb, "m", "noh.csv")
        assert result.code == 0, result.err
    assert "label_agreement" in cli_run("som", "evaluate", "m", "noh.csv").out
    Path("hdr.csv").write_text("a,b,c\n")
    cli_run("som", "predict", "m", "hdr.csv").assert_user_error(
        "hdr.csv has a header but no data rows")


def test_standardizing_huge_values_keeps_their_column():
    # the std of values past ~1e154 overflowed to inf: scale inf, the column ignored (all 0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2)) * [1.0, 1e200] + [0.0, 3e200]
    scaler = Standardizer().fit(X)
    assert np.isfinite(scaler.scale_).all() and np.isfinite(scaler.mean_).all()
    np.testing.assert_allclose(scaler.mean_[1], X[:, 1].mean(), rtol=1e-12)
    np.testing.assert_allclose(scaler.scale_[1], (X[:, 1] / 1e200).std() * 1e200, rtol=1e-12)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z.std(axis=0), [1.0, 1.0], rtol=1e-9)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-9)
    # values whose x - mean could overflow float64 are refused, the column named
    X[0, 1] = 1e308
    with pytest.raises(DlcourseError, match=r"column 'b' holds values up to 1e\+308"):
        Standardizer().fit(X, ["a", "b"])


def test_unstandardized_data_too_spread_for_float32_is_refused():
    # with --no-standardize a spread past ~1e18 overflows the float32 squared distances: QE inf,
    # every row on one unit, NaN in metrics.json
    X = np.random.default_rng(0).normal(size=(20, 3))
    check_float32_range(X, ["a", "b", "c"], "d.csv")  # accepted
    check_float32_range(X + 1e30, ["a", "b", "c"], "d.csv")  # an offset alone is no spread
    X[:, 2] *= 1e20
    with pytest.raises(DlcourseError, match=r"d.csv: column 'c' lies up to .* from its mean; "
                       r".*drop --no-standardize or rescale"):
        check_float32_range(X, ["a", "b", "c"], "d.csv")
    X[:, 2] = [1e308, -1e308] * 10  # a mean that overflows float64 is refused too
    with pytest.raises(DlcourseError, match="column 'c'"):
        check_float32_range(X, ["a", "b", "c"], "d.csv")


def test_cli_refuses_values_too_large_to_standardise_before_writing(cli_run, workdir):
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[0, 2] = 1.5e308  # x - mean overflows float64: the scale was inf, the column ignored
    np.savetxt("w.csv", X, delimiter=",", header="a,b,c", comments="")
    before = workdir()
    cli_run("som", "train", "w.csv", "--out", "m", "--grid", "2x2", "--epochs", "1") \
        .assert_user_error(r"column 'c' holds values up to 1.5e\+308, too large to standardise")
    assert workdir() == before


def test_the_python_queries_refuse_rows_the_float32_search_cannot_measure():
    # the CLI refused such data for evaluate and predict, SOM's own queries answered QE inf
    rng = np.random.default_rng(0)
    som = SOM(3, 3, epochs=2, device="cpu").fit(rng.normal(size=(30, 2)))
    far = rng.normal(size=(5, 2))
    assert np.isfinite(som.quantization_error(far * 1e3))  # far out, but measurable
    far[0, 1] = 1e30
    for query in (som.predict, som.transform, som.quantization_error, som.evaluate):
        with pytest.raises(InputError, match=r"X: column '1' lies up to 1e\+30 from the map's "
                           r"centre; .*pass data in the units and range of the training data"):
            query(far)
