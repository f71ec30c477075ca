"""Self-organizing maps: the ``SOM`` estimator, its config, its grid and its strategy registries.

Names are imported on first use, so ``dlcourse.som.config`` (what ``dlcourse som --help``
reads) loads neither numpy nor torch.

>>> from dlcourse.som import SOM
>>> from sklearn.datasets import load_iris
>>> som = SOM(8, 8, topology="hexagonal", device="cpu").fit(load_iris().data)
>>> round(som.quantization_error_, 1) < 1.0
True
>>> SOM.load(som.save(tmp_dir)).weights_.shape      # doctest: +SKIP
(8, 8, 4)
"""

from __future__ import annotations

import lazy_loader

# submodule -> the public names it provides, each imported on first use (PEP 562)
__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "config": ["SOMConfig"],
    "estimator": ["SOM"],
    "functions": ["DECAYS", "DISTANCES", "NEIGHBORHOODS"],
    "grid": ["Grid"],
    "init": ["initial_weights", "top_components"],
    "measures": ["as_matrix"],
    "rules": ["batch_rule", "batch_update", "minibatch_rule", "minibatch_update"],
})
