"""Self-organizing maps: the ``SOM`` estimator, its grid and its strategy registries.

>>> from dlcourse.som import SOM
>>> from sklearn.datasets import load_iris
>>> som = SOM(8, 8, topology="hexagonal", device="cpu").fit(load_iris().data)
>>> round(som.quantization_error_, 1) < 1.0
True
"""

from dlcourse.som.estimator import SOM, as_matrix, batch_update, initial_weights, minibatch_update
from dlcourse.som.functions import DECAYS, DISTANCES, NEIGHBORHOODS
from dlcourse.som.grid import Grid

__all__ = [
    "DECAYS",
    "DISTANCES",
    "NEIGHBORHOODS",
    "SOM",
    "Grid",
    "as_matrix",
    "batch_update",
    "initial_weights",
    "minibatch_update",
]
