"""Tables for the SOM lesson: CSV/.npy/sklearn loading and the saved standardiser."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.errors import DlcourseError
from dlcourse.som.data import load_table
from dlcourse.som.scaling import Standardizer


def test_csv_with_header_finds_the_label_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,species\n1,2,x\n3,4,y\n5,6,x\n")
    table = load_table(str(path))
    assert table.feature_names == ["a", "b"] and table.X.shape == (3, 2)
    assert table.labels.tolist() == ["x", "y", "x"]


def test_csv_without_header_and_explicit_label_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,2,0\n3,4,1\n")
    table = load_table(str(path))
    assert table.X.shape == (2, 3) and table.labels is None
    table = load_table(str(path), label_column="x2")
    assert table.X.shape == (2, 2) and table.labels.tolist() == [0, 1]


def test_csv_without_header_and_with_a_text_label_keeps_its_first_row(tmp_path):
    # UCI's iris.data: its first row was read as the header, one sample lost and the next
    # numbered 0
    path = tmp_path / "iris.csv"
    path.write_text("5.1,3.5,Iris-setosa\n4.9,3.0,Iris-setosa\n7.0,3.2,Iris-versicolor\n")
    table = load_table(str(path), label_column="x2")
    assert table.X.tolist() == [[5.1, 3.5], [4.9, 3.0], [7.0, 3.2]]
    assert table.labels.tolist() == ["Iris-setosa", "Iris-setosa", "Iris-versicolor"]
    # a real header's text column name is not among its values: still a header
    path.write_text("a,b,species\n5.1,3.5,setosa\n4.9,3.0,setosa\n")
    assert load_table(str(path)).X.shape == (2, 2)


def test_a_constant_column_keeps_scale_one():
    # a column of 0.1 has a float std of about 1e-17, which scaled any later value by 1e16
    X = np.column_stack([np.full(30, 0.1), np.arange(30.0), np.full(30, 1e-15) * np.arange(30)])
    scale = Standardizer().fit(X).scale_
    assert scale[0] == 1.0 and scale[1] == pytest.approx(np.arange(30.0).std())
    assert scale[2] == pytest.approx((np.full(30, 1e-15) * np.arange(30)).std())  # small, real


def test_csv_problems_are_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,name,kind\n1,bob,x\n2,amy,y\n")
    with pytest.raises(DlcourseError, match="column 'kind' is not numeric"):
        load_table(str(path), label_column="name")
    path.write_text("a,b\n1,\n2,3\n")
    with pytest.raises(DlcourseError, match="missing value in data row 1"):
        load_table(str(path))
    with pytest.raises(DlcourseError, match="has no column 'nope'"):
        load_table(str(path), label_column="nope")


def test_npy_and_limit_are_seeded(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(40.0).reshape(20, 2))
    a = load_table(str(tmp_path / "x.npy"), limit=5, seed=1)
    b = load_table(str(tmp_path / "x.npy"), limit=5, seed=1)
    assert a.X.shape == (5, 2) and np.array_equal(a.X, b.X)
    np.save(tmp_path / "bad.npy", np.zeros(3))
    with pytest.raises(DlcourseError, match="2-D numeric"):
        load_table(str(tmp_path / "bad.npy"))


def test_sklearn_sets_carry_names_and_labels():
    iris = load_table("sklearn:iris")
    assert iris.X.shape == (150, 4) and set(iris.labels) == {"setosa", "versicolor", "virginica"}
    with pytest.raises(DlcourseError, match="choose one of sklearn:iris"):
        load_table("sklearn:mnist")


def test_standardizer_round_trips_through_plain_values():
    X = load_table("sklearn:wine").X
    scaler = Standardizer().fit(X)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(Z.std(0), 1, atol=1e-9)
    again = Standardizer.from_dict(scaler.to_dict())
    np.testing.assert_allclose(again.inverse_transform(again.transform(X)), X)


def test_single_column_and_other_delimiters_read_as_written(tmp_path):
    (tmp_path / "h.csv").write_text("height\n1.7\n1.8\n")  # a sniffer splits "height" on "h"
    table = load_table(str(tmp_path / "h.csv"))
    assert table.feature_names == ["height"] and table.X.ravel().tolist() == [1.7, 1.8]
    (tmp_path / "s.csv").write_text("a;b;kind\n1.5;2;x\n3;4;y\n")
    table = load_table(str(tmp_path / "s.csv"))
    assert table.X.tolist() == [[1.5, 2.0], [3.0, 4.0]] and table.label_column == "kind"
    (tmp_path / "t.tsv").write_text("a\tb\n1\t2\n")
    assert load_table(str(tmp_path / "t.tsv")).X.tolist() == [[1.0, 2.0]]
    (tmp_path / "j.jsonl").write_text('{"a": 1, "y": "p"}\n{"a": 2, "y": "q"}\n')
    table = load_table(str(tmp_path / "j.jsonl"))
    assert table.X.tolist() == [[1.0], [2.0]] and table.labels.tolist() == ["p", "q"]


def test_infinite_values_and_labels_where_none_exist_are_named(tmp_path):
    (tmp_path / "i.csv").write_text("a,b\n1,2\n3,inf\n")
    with pytest.raises(DlcourseError, match=r"infinite value in data row 2, column 'b'"):
        load_table(str(tmp_path / "i.csv"))
    X = np.ones((4, 2))
    X[2, 1] = np.nan
    np.save(tmp_path / "n.npy", X)
    with pytest.raises(DlcourseError, match=r"missing value in data row 3, column 'x1'"):
        load_table(str(tmp_path / "n.npy"))
    with pytest.raises(DlcourseError, match="sklearn:iris has its labels already"):
        load_table("sklearn:iris", label_column="species")
    np.save(tmp_path / "e.npy", np.zeros((0, 3)))
    with pytest.raises(DlcourseError, match=r"holds an empty \(0, 3\) array"):
        load_table(str(tmp_path / "e.npy"))


def test_new_samples_need_no_label_column(tmp_path):
    # what predict does: the map's label column is used when the table has it
    (tmp_path / "new.csv").write_text("a,b\n1,2\n")
    table = load_table(str(tmp_path / "new.csv"), label_column="kind", require_label=False)
    assert table.labels is None and table.X.shape == (1, 2)
    (tmp_path / "text.csv").write_text("a,name\n1,bob\n")
    with pytest.raises(DlcourseError, match=r"column 'name' is not numeric and the map's labels"):
        load_table(str(tmp_path / "text.csv"), label_column="kind", require_label=False)
    # the labels under another usual name (the map's were in 'kind'): used, not refused
    (tmp_path / "label.csv").write_text("a,label\n1,x\n2,y\n")
    table = load_table(str(tmp_path / "label.csv"), label_column="kind", require_label=False)
    assert table.labels.tolist() == ["x", "y"] and table.X.tolist() == [[1.0], [2.0]]
