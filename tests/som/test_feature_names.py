"""A map fitted on a table keeps its column names (scikit-learn's ``feature_names_in_``): a
query with the columns reordered or renamed is refused instead of silently finding other
units, and the names travel with the model file."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dlcourse.som.estimator import SOM

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def table():
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True).frame.drop(columns="target")
    return (data - data.mean()) / data.std()


@pytest.fixture(scope="module")
def som(table):
    return SOM(5, 5, epochs=3, device="cpu").fit(table)


def test_the_names_are_kept_and_checked_at_every_query(som, table):
    assert list(som.feature_names_in_) == list(table.columns)
    reordered = table[list(table.columns[::-1])]
    # the reordered table would land on other units: refused, with the fix
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        assert not np.array_equal(som.predict(reordered.to_numpy()), som.predict(table))
    with pytest.raises(ValueError, match=r"another order: the map was trained on \['alcohol'"):
        som.predict(reordered)
    with pytest.raises(ValueError, match=r"columns \['alcool'\] unseen at fit time"):
        som.transform(table.rename(columns={"alcohol": "alcool"}))
    np.testing.assert_array_equal(som.predict(reordered[som.feature_names_in_]),
                                  som.predict(table))


def test_only_one_side_named_warns_as_scikit_learn_does(som, table):
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        som.predict(table.to_numpy())
    plain = SOM(5, 5, epochs=3, device="cpu").fit(table.to_numpy())
    assert not hasattr(plain, "feature_names_in_")
    with pytest.warns(UserWarning, match="fitted without feature names"):
        plain.predict(table)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain.predict(table.to_numpy())  # neither side named: nothing to say
        SOM(5, 5, epochs=1, device="cpu").fit(table).fit(table.to_numpy()).predict(
            table.to_numpy())  # a refit on plain data drops the old names


def test_the_names_travel_with_the_model_file(som, table, tmp_path):
    som.save(tmp_path)
    loaded = SOM.load(tmp_path)
    assert list(loaded.feature_names_in_) == list(table.columns)
    with pytest.raises(ValueError, match="another order"):
        loaded.predict(table[list(table.columns[::-1])])
