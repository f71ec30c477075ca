"""MiniSom's train arguments the map does not take are refused by name."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.errors import InputError
from dlcourse.som.estimator import SOM


def test_fixed_points_refused_with_its_name():
    X = np.random.default_rng(0).normal(size=(30, 3))
    som = SOM(3, 3, device="cpu")
    with pytest.raises(InputError, match="drop fixed_points"):
        som.train(X, 50, fixed_points={0: (0, 0)})
    som.train(X, 50, fixed_points=None)
    assert som.winner(X[0]) in {(r, c) for r in range(3) for c in range(3)}
