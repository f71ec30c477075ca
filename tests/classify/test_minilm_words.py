"""minilm-words: static word vectors from the real all-MiniLM-L6-v2 encoder, their cache, their
place beside other vectors, and a classifier that starts from them and predicts without them."""

import numpy as np
import pytest
import torch

from dlcourse.classify import TextClassifier
from dlcourse.classify.minilm_words import (
    ENCODER_WIDTH,
    SCALE,
    encode_words,
    minilm_word_vectors,
    reduce,
)


@pytest.fixture(scope="module")
def minilm_dir():
    from dlcourse.data import fetch

    return fetch("minilm-l6")


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """The minilm-words cache in a fresh folder (the data sets stay where they are)."""
    import dlcourse.data

    monkeypatch.setattr(dlcourse.data, "cache_dir", lambda: tmp_path)
    return tmp_path / "minilm-words"


def cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_the_encoder_words_carry_meaning(minilm_dir):
    words = ["film", "movie", "banana", "terrible", "awful", "wonderful", "delightful",
             "unbelievably"]
    v = dict(zip(words, encode_words(words, minilm_dir)))  # (8, 384)
    assert all(vec.shape == (ENCODER_WIDTH,) and np.isfinite(vec).all() for vec in v.values())
    assert cosine(v["film"], v["movie"]) > cosine(v["film"], v["banana"]) + 0.1
    assert cosine(v["terrible"], v["awful"]) > cosine(v["terrible"], v["banana"]) + 0.1
    assert cosine(v["wonderful"], v["delightful"]) > cosine(v["wonderful"], v["awful"])
    # a word of several pieces is the mean of its pieces' states, not its first piece's alone
    alone = encode_words(["unbelievably"], minilm_dir)[0]
    np.testing.assert_allclose(alone, v["unbelievably"], atol=1e-5)  # batching changes nothing


def test_reduce_keeps_the_top_axes_at_the_chosen_scale():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 20)) * np.linspace(5, 0.1, 20) + 3.0  # (300, 20), decaying spread
    out = reduce(x.astype(np.float32), 4)
    assert out.shape == (300, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-4)
    assert abs(out.std() - SCALE) < 1e-5
    spread = out.std(0)
    assert np.all(np.diff(spread) < 0)  # the widest axis first
    with pytest.raises(ValueError, match="dim must be in 1..20"):
        reduce(x, 21)


def test_vectors_are_cached_by_their_words(own_cache, monkeypatch):
    import dlcourse.classify.minilm_words as mw

    words = ["good", "bad", "film", "plot", "actor", "boring", "fun"]
    first = minilm_word_vectors(words, dim=5)
    assert first.shape == (7, 5) and len(list(own_cache.glob("*.npy"))) == 1
    assert minilm_word_vectors(words[:3]).shape == (3, 3)  # fewer words than widths
    assert len(list(own_cache.glob("*.npy"))) == 2

    def no_encoder(*args, **kwargs):
        raise AssertionError("the encoder ran although the vectors were cached")

    monkeypatch.setattr(mw, "encode_words", no_encoder)
    np.testing.assert_array_equal(minilm_word_vectors(words, dim=5), first)
    with pytest.raises(AssertionError, match="encoder ran"):
        minilm_word_vectors(words[::-1], dim=5)  # other rows, another entry


def test_minilm_words_beside_glove_covers_the_whole_vocabulary(pang_lee, own_cache):
    from dlcourse.classify.pretrained import check_pretrained, vocabulary_vectors
    from dlcourse.text import Vocab, get_tokenizer

    check_pretrained("glove-test+minilm-words")
    tokens = get_tokenizer("basic_english").batch(pang_lee[0])
    vocab = Vocab.build(tokens, specials=("<pad>", "<unk>"))
    itos, matrix, cov = vocabulary_vectors("glove-test+minilm-words", tokens, vocab.itos,
                                           dim=12, pad_id=0, extra_words=76)
    assert matrix.shape == (len(itos), 50 + 100)
    assert len(itos) > len(vocab.itos)  # GloVe's words join; minilm-words brings none
    # every word has a minilm vector (the extra GloVe words too): the 100 columns are the
    # PCA of all of them, centred, and only <pad> is zero
    mini = matrix[:, 50:]
    assert not mini[0].any() and np.all(np.abs(mini[2:]).sum(1) > 0)
    np.testing.assert_allclose(mini[2:].mean(0), 0, atol=1e-4)
    assert cov["vocab_size"] == len(vocab.itos)  # the first source's coverage (GloVe's)


def test_a_classifier_from_minilm_words_predicts_without_the_encoder(
        pang_lee_split, tiny, own_cache, tmp_path, monkeypatch):
    import dlcourse.data

    (train, valid) = pang_lee_split
    clf = TextClassifier(**dict(tiny, model="cnn", hidden_size=8, pretrained="minilm-words",
                                epochs=3)).fit(*train, valid=valid)
    assert clf.model_config_.embed_dim == 100
    assert clf.coverage_["found"] == clf.coverage_["vocab_size"] - 2  # all but <pad>, <unk>
    clf.save(tmp_path / "model")

    def no_data(name, *args, **kwargs):
        raise AssertionError(f"prediction fetched {name}")

    monkeypatch.setattr(dlcourse.data, "fetch", no_data)
    loaded = TextClassifier.load(tmp_path / "model")
    texts = valid[0][:8]
    assert loaded.predict(texts) == clf.predict(texts)
    assert torch.allclose(torch.as_tensor(loaded.predict_proba(texts)),
                          torch.as_tensor(clf.predict_proba(texts)))
