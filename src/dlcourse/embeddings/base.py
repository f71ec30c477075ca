"""What word2vec and GloVe share as estimators: a table of word vectors as the fitted model."""

from __future__ import annotations

from dlcourse.embeddings.vectors import KeyedVectors
from dlcourse.engine.estimator import Estimator


class VectorEstimator(Estimator):
    """An estimator whose model is ``wv_``, a :class:`KeyedVectors` (trained without torch)."""

    lesson = "embed"
    framework = "numpy"
    fitted_attribute = "wv_"

    @property
    def wv(self) -> KeyedVectors:
        """The trained vectors (gensim's name for :attr:`wv_`).

        Raises:
            NotFittedError: before ``fit`` or ``load``.
        """
        self.check_is_fitted()
        return self.wv_
