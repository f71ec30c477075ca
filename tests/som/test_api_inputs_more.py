"""SOM inputs refused in our words: non-numeric or non-finite weights, missing labels."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.errors import InputError
from dlcourse.som import SOM


@pytest.mark.parametrize("weights, message", [
    (np.full((2, 2, 3), "a"), r"weights must be numbers, an \(m, n, d\) array; got <U1 values"),
    # the first query blamed the data ("lies up to 1 from the map's centre ... overflow")
    (np.full((2, 2, 3), np.nan), r"weights hold 12 values that are NaN or infinite"),
    (np.zeros((4, 3)), r"weights must be \(m, n, d\), got shape \(4, 3\)"),
])
def test_from_weights_refusals(weights, message):
    with pytest.raises(InputError, match=message):
        SOM.from_weights(weights)


@pytest.mark.parametrize("labels", [[1, None, 2], [1.0, np.nan, 2.0]])
def test_a_missing_label_is_refused(labels):
    # a unit's label None meant "won no sample": a missing label read the same
    X = np.random.default_rng(0).normal(size=(3, 2))
    with pytest.raises(InputError, match=r"y\[1\] is missing \((None|nan)\); drop that row"):
        SOM(2, 2, epochs=1, device="cpu").fit(X, labels)
