"""Registries of neighbourhood functions, decay schedules and distances, chosen by name.

Neighbourhoods take *squared* grid distances (any array shape) and a radius ``sigma`` and return
weights in the same shape; the best matching unit itself always gets 1. Decay schedules map a
start value, an end value and the fraction of training done (0 -> start, 1 -> end) to the
current value. Names are validated with a ValueError that lists the valid choices.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlcourse.errors import check_choice

# the names of the choices without a function registry live with the config (torch-free)
from dlcourse.som.config import ALGORITHMS, DISTANCES, INITS

__all__ = ["ALGORITHMS", "DECAYS", "DISTANCES", "INITS", "NEIGHBORHOODS", "check_choice",
           "decay_function", "neighborhood_function"]


def _xp(a):
    """numpy for arrays, torch for tensors: the functions below serve both CPU and GPU paths."""
    if type(a).__module__.startswith("torch"):
        import torch

        return torch
    return np


def gaussian(d2, sigma: float):
    """``exp(-d^2 / (2 sigma^2))``: the lesson's neighbourhood."""
    return _xp(d2).exp(-d2 / (2.0 * sigma * sigma))


def bubble(d2, sigma: float):
    """1 inside the disc of radius ``sigma`` (the BMU always included), 0 outside."""
    return ((d2 <= sigma * sigma) | (d2 == 0)) * _xp(d2).ones_like(d2)


def mexican_hat(d2, sigma: float):
    """Ricker wavelet ``exp(-d^2/(2 sigma^2)) (1 - d^2/sigma^2)``: negative beyond ``sigma``."""
    return _xp(d2).exp(-d2 / (2.0 * sigma * sigma)) * (1.0 - d2 / (sigma * sigma))


def triangle(d2, sigma: float):
    """``max(0, 1 - d / sigma)``: falls linearly to 0 at distance ``sigma``."""
    value = 1.0 - _xp(d2).sqrt(d2) / sigma
    return (value > 0) * value


NEIGHBORHOODS: dict[str, Callable] = {
    "gaussian": gaussian,
    "bubble": bubble,
    "mexican_hat": mexican_hat,
    "triangle": triangle,
}


def exponential(start: float, end: float, frac: float) -> float:
    """Geometric interpolation ``start * (end/start)**frac`` (the lesson's exponential decay)."""
    return start * (end / start) ** frac


def linear(start: float, end: float, frac: float) -> float:
    """Straight line from ``start`` to ``end``."""
    return start + (end - start) * frac


def inverse_time(start: float, end: float, frac: float) -> float:
    """``start / (1 + a * frac)`` with ``a`` chosen so that the value reaches ``end`` at frac=1."""
    return start / (1.0 + (start / end - 1.0) * frac)


DECAYS: dict[str, Callable[[float, float, float], float]] = {
    "exponential": exponential,
    "linear": linear,
    "inverse_time": inverse_time,
}



def neighborhood_function(name: str) -> Callable:
    """The neighbourhood function registered as ``name``."""
    return NEIGHBORHOODS[check_choice("neighborhood", name, NEIGHBORHOODS)]


def decay_function(name: str) -> Callable[[float, float, float], float]:
    """The decay schedule registered as ``name``."""
    return DECAYS[check_choice("decay", name, DECAYS)]
