"""Grid geometry, adjacency and the strategy registries of dlcourse.som."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.som import DECAYS, NEIGHBORHOODS, Grid
from dlcourse.som.functions import decay_function, neighborhood_function


def test_hex_inner_units_have_six_neighbours_at_distance_one():
    grid = Grid(6, 7, "hexagonal")
    pos, table = grid.positions(), grid.neighbors()
    r, c = np.divmod(np.arange(grid.size), grid.n)
    inner = (r > 0) & (r < grid.m - 1) & (c > 0) & (c < grid.n - 1)
    counts = (table >= 0).sum(1)
    assert (counts[inner] == 6).all()
    for k in np.flatnonzero(inner):
        gaps = np.linalg.norm(pos[table[k, :6]] - pos[k], axis=1)
        np.testing.assert_allclose(gaps, 1.0)


def test_rectangular_uses_eight_neighbours_and_corners_three():
    table = Grid(4, 5).neighbors()
    counts = (table >= 0).sum(1)
    assert counts[0] == 3 and counts[6] == 8 and counts.max() == 8


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
def test_toroidal_grid_every_unit_has_a_full_neighbourhood(topology):
    grid = Grid(6, 8, topology, toroidal=True)
    counts = (grid.neighbors() >= 0).sum(1)
    assert (counts == (8 if topology == "rectangular" else 6)).all()
    d2 = grid.squared_distances()
    np.testing.assert_allclose(d2, d2.T)
    # opposite edges are adjacent once wrapped
    assert d2[0, grid.n - 1] == pytest.approx(1.0)


def test_small_torus_lists_each_neighbour_once():
    table = Grid(2, 2, toroidal=True).neighbors()
    for row in table:
        valid = row[row >= 0]
        assert len(valid) == len(set(valid.tolist())) == 3


def test_hex_torus_needs_even_rows_and_bad_topology_names_choices():
    with pytest.raises(ValueError, match="even number of rows"):
        Grid(5, 4, "hexagonal", toroidal=True)
    with pytest.raises(ValueError, match="choose one of rectangular, hexagonal"):
        Grid(4, 4, "hexgonal")


@pytest.mark.parametrize("name", sorted(NEIGHBORHOODS))
def test_neighbourhoods_are_one_at_the_bmu_and_fall_off(name):
    fn = neighborhood_function(name)
    d2 = np.array([0.0, 0.25, 1.0, 4.0, 400.0])
    h = fn(d2, 2.0)
    assert h[0] == pytest.approx(1.0)
    assert (np.diff(h[:4]) <= 1e-12).all()  # non-increasing inside the radius
    assert abs(h[-1]) < 1e-6  # nothing far away


def test_neighbourhoods_work_on_torch_tensors_too():
    import torch

    d2 = np.linspace(0, 9, 10)
    for name, fn in NEIGHBORHOODS.items():
        np.testing.assert_allclose(fn(torch.tensor(d2), 1.5).numpy(), fn(d2, 1.5), atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("name", sorted(DECAYS))
def test_decays_run_from_start_to_end_monotonically(name):
    fn = decay_function(name)
    values = [fn(0.5, 0.01, f) for f in np.linspace(0, 1, 11)]
    assert values[0] == pytest.approx(0.5) and values[-1] == pytest.approx(0.01)
    assert (np.diff(values) < 0).all()


def test_unknown_names_list_the_valid_choices():
    with pytest.raises(ValueError, match="unknown neighborhood 'gausian'; choose one of "
                                         "gaussian, bubble, mexican_hat, triangle"):
        neighborhood_function("gausian")
    with pytest.raises(ValueError, match="exponential, linear, inverse_time"):
        decay_function("cosine")


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
@pytest.mark.parametrize("toroidal", [False, True])
@pytest.mark.parametrize("rows", [6, 1])  # one row: a hexagonal grid without odd rows
def test_separable_gaussian_smoothing_equals_the_dense_matrix(topology, toroidal, rows):
    if rows == 1 and toroidal and topology == "hexagonal":
        pytest.skip("a hexagonal torus needs an even number of rows")
    grid = Grid(rows, 5, topology, toroidal)
    values = np.random.default_rng(0).normal(size=(grid.size, 3))
    dense = NEIGHBORHOODS["gaussian"](grid.squared_distances().astype(np.float64), 1.7) @ values
    np.testing.assert_allclose(grid.gaussian_smooth(values, 1.7), dense, rtol=1e-5, atol=1e-6)


def test_config_choices_name_the_registries():
    # SOMConfig lists the names without importing numpy; the registries hold the functions
    from dlcourse.som import config, functions, grid
    from dlcourse.som._kernels import DECAY_CODES, DISTANCE_CODES, NEIGHBORHOOD_CODES

    assert config.NEIGHBORHOODS == tuple(functions.NEIGHBORHOODS) == tuple(NEIGHBORHOOD_CODES)
    assert config.DECAYS == tuple(functions.DECAYS) == tuple(DECAY_CODES)
    assert config.DISTANCES == tuple(DISTANCE_CODES)
    assert grid.TOPOLOGIES == config.TOPOLOGIES
