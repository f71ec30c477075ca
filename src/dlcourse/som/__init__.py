"""Self-organizing maps: the ``SOM`` estimator, its grid and its strategy registries.

>>> from dlcourse.som import SOM
>>> from sklearn.datasets import load_iris
>>> som = SOM(8, 8, topology="hexagonal", device="cpu").fit(load_iris().data)
>>> round(som.quantization_error_, 1) < 1.0
True
"""

from dlcourse.som.estimator import SOM, as_matrix
from dlcourse.som.functions import DECAYS, DISTANCES, NEIGHBORHOODS
from dlcourse.som.grid import Grid
from dlcourse.som.init import initial_weights, top_components
from dlcourse.som.rules import batch_rule, batch_update, minibatch_rule, minibatch_update

__all__ = [
    "DECAYS",
    "DISTANCES",
    "NEIGHBORHOODS",
    "SOM",
    "Grid",
    "as_matrix",
    "batch_rule",
    "batch_update",
    "initial_weights",
    "minibatch_rule",
    "minibatch_update",
    "top_components",
]
