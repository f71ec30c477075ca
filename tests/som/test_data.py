"""Tables for the SOM lesson: CSV/.npy/sklearn loading and the saved standardiser."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.errors import DlcourseError
from dlcourse.som.data import Standardizer, load_table


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
