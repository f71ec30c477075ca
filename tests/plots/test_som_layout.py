"""The SOM figures lay out units as the SOM does, without importing the lesson."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dlcourse.plots.som import _links, _positions
from dlcourse.som.grid import Grid


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
@pytest.mark.parametrize("shape", [(3, 4), (5, 5), (1, 6), (6, 1), (7, 9)])
def test_cells_and_links_are_the_maps_own(shape, topology):
    m, n = shape
    grid = Grid(m, n, topology)
    np.testing.assert_allclose(_positions(m, n, topology), grid.positions())
    table = grid.neighbors()  # (K, 8), -1 padded
    expected = {(i, int(j)) for i in range(m * n) for j in table[i] if j > i}
    links = _links(m, n, topology)
    assert {tuple(sorted(map(int, pair))) for pair in links} == expected
    assert len(links) == len(expected)  # each link drawn once


def test_the_som_figures_do_not_import_the_som_lesson():
    code = ("import sys, dlcourse.plots.som; "
            "print(sorted(m for m in sys.modules if m.startswith('dlcourse.som')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
