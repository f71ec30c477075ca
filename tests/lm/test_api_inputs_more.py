"""LanguageModel inputs refused in our words, and a refused run prints nothing first."""

from __future__ import annotations

import logging

import pytest
import torch

from dlcourse.errors import ConfigError, InputError
from dlcourse.lm import LanguageModel, corpus_from_splits


@pytest.fixture(scope="module")
def lm():
    torch.set_num_threads(1)
    corpus = corpus_from_splits("t", ["a b c d e f g h"] * 30, ["a b c"] * 10, ["a b c"] * 10,
                                min_freq=1)
    return LanguageModel("embedding", embed_dim=4, epochs=1, batch_size=4,
                         device="cpu").fit(corpus)


def test_encode_and_perplexity_refusals(lm):
    with pytest.raises(InputError, match=r"encode takes a text or a list of texts, got int 5"):
        lm.encode(5)  # it was TypeError: 'int' object is not iterable
    with pytest.raises(InputError, match=r"got list \['a b', None\]"):
        lm.encode(["a b", None])
    assert lm.encode(line for line in ["a b", "c"]).tolist() == lm.encode(["a b", "c"]).tolist()
    with pytest.raises(InputError, match=r"perplexity takes one \(N,\) id stream, got shape "
                                         r"\(2, 2\); pass ids.reshape\(-1\)"):
        lm.perplexity(torch.tensor([[1, 2], [3, 4]]))  # it was read as one stream, silently


def test_streams_refused_before_the_eval_streams_note(caplog):
    # "note: eval_batch_size 10 is more streams than ..." came before the batch_size refusal
    tiny = corpus_from_splits("t", ["a b c d"], ["a b"], ["a b"], min_freq=1)
    with caplog.at_level(logging.INFO, logger="dlcourse"), \
            pytest.raises(ConfigError, match=r"batch_size 20 is more streams than the train "
                                             r"split of 't' holds"):
        LanguageModel("embedding", embed_dim=4).fit(tiny)
    assert "note:" not in caplog.text
