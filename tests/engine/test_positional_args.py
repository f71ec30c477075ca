"""Too many positional arguments name what each estimator takes and how to pass the rest."""

from __future__ import annotations

import pytest

from dlcourse.embeddings import GloVe, Word2Vec
from dlcourse.som import SOM


@pytest.mark.parametrize("make, message", [
    (lambda: GloVe("cbow"),
     r"^GloVe takes settings by name only, e\.g\. GloVe\(vector_size=\.\.\.\)$"),
    (lambda: Word2Vec("cbow", 5), r"^Word2Vec takes at most 1 positional argument \(method\); pass "
                                  r"the others by name$"),
    (lambda: SOM(3, 3, 4), r"^SOM takes at most 2 positional arguments \(m, n\); pass the others "
                           r"by name \(MiniSom's third, input_len, is not needed"),
])
def test_extra_positional_arguments_say_what_the_estimator_takes(make, message):
    with pytest.raises(TypeError, match=message):
        make()
