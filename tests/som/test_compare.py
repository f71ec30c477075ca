"""The MiniSom comparison follows the same sigma and learning-rate curves on both sides."""

from __future__ import annotations

import pytest

from dlcourse.som.compare import SCHEDULES, matching_params
from dlcourse.som.functions import decay_function


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_matching_params_follow_minisoms_decay_curves(schedule):
    minisom = pytest.importorskip("minisom")
    lr_name, sigma_name = SCHEDULES[schedule]
    peer = minisom.MiniSom(4, 4, 3, sigma=3.0, learning_rate=0.5, decay_function=lr_name,
                           sigma_decay_function=sigma_name)
    ours = matching_params(schedule, 3.0, 0.5)
    decay = decay_function(ours["decay"])
    total = 1000
    for t in (0, 1, 250, 999, 1000):
        frac = t / total
        assert decay(ours["sigma"], ours["sigma_end"], frac) == pytest.approx(
            peer._sigma_decay_function(3.0, t, total), rel=1e-12)
        assert decay(ours["learning_rate"], ours["learning_rate_end"], frac) == pytest.approx(
            peer._learning_rate_decay_function(0.5, t, total), rel=1e-12)


def test_unknown_schedule_names_the_choices():
    with pytest.raises(ValueError, match="choose one of to_one, default"):
        matching_params("asymptotic", 3.0)
