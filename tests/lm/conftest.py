"""Small real corpora for the language-model tests (the Lee news corpus from gensim's wheel)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def lee_corpus():
    """The first 60 Lee documents per split (~12k train tokens), vocabulary min_freq 2."""
    from dlcourse.lm import load_corpus

    return load_corpus("lee", max_lines=60, seed=0)


@pytest.fixture(scope="session")
def tiny_config():
    """``tiny_config(model="lstm", **overrides)``: a config that trains in a second on 2 cores."""
    from dlcourse.lm import LMConfig

    def make(model: str = "lstm", **overrides):
        values = dict(embed_dim=32, hidden_dim=32, num_layers=1, dropout=0.0, batch_size=8,
                      bptt=20, epochs=2, device="cpu")
        values.update(overrides)
        return LMConfig.preset(model, **values)

    return make


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and on a shared 2-core machine the
    spinning OpenMP workers make them 20x slower; restore the setting afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
