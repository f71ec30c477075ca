"""Fixtures: the real 200-sentence Pang & Lee sample and a tiny, fast classifier setting."""

import pytest

TINY = dict(model="gru", embed_dim=32, hidden_size=16, num_layers=1, dropout=0.0, epochs=8,
            batch_size=32, lr=0.01, word_dropout=0.0, adversarial=0.0, pretrained=None,
            pretrained_vocab=0, device="cpu")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The models here are tiny: one intra-op thread is faster, and it keeps these tests from
    slowing to a crawl when other processes load the machine (thread oversubscription)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny():
    """Settings of a small GRU that trains on 200 sentences in well under a second."""
    return dict(TINY)


@pytest.fixture(scope="session")
def pang_lee():
    from dlcourse.classify import load_pang_lee_sample

    texts, labels = load_pang_lee_sample()
    assert len(texts) == 200 and set(labels) == {"pos", "neg"}
    return texts, labels


@pytest.fixture(scope="module")
def tiny_fitted(pang_lee_split):
    from dlcourse.classify import TextClassifier

    train, valid = pang_lee_split
    return TextClassifier(**TINY).fit(*train, valid=valid)


@pytest.fixture(scope="session")
def pang_lee_split(pang_lee):
    """160 training and 40 validation sentences, stratified (the file is sorted by label)."""
    from dlcourse.classify import holdout

    return holdout(*pang_lee, fraction=0.2, seed=0)
