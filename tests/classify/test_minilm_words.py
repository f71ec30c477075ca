"""minilm-words: static word vectors from the real all-MiniLM-L6-v2 encoder, their cache, their
place beside other vectors, and a classifier that starts from them and predicts without them."""

import numpy as np
import pytest
import torch

from dlcourse.classify import TextClassifier
from dlcourse.classify.minilm_words import (
    ENCODER_WIDTH,
    SCALE,
    VectorStore,
    encode_words,
    fit_basis,
    minilm_word_vectors,
    project,
)


@pytest.fixture(scope="module")
def minilm_dir():
    from dlcourse.data import fetch

    return fetch("minilm-l6")


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """The minilm-words store in a fresh folder (its PCA on GloVe's 400 most frequent words:
    see the session fixture in tests/conftest.py)."""
    import dlcourse.classify.minilm_words as mw

    monkeypatch.setattr(mw, "store_folder", lambda dim: tmp_path / f"v2-{dim}")
    return tmp_path / "v2-100"


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


def test_the_basis_keeps_the_top_axes_at_the_chosen_scale():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 20)) * np.linspace(5, 0.1, 20) + 3.0  # (300, 20), decaying spread
    basis = fit_basis(x.astype(np.float32), 4)
    out = project(x, basis)
    assert out.shape == (300, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-4)
    assert abs(out.std() - SCALE) < 1e-5
    assert np.all(np.diff(out.std(0)) < 0)  # the widest axis first
    one = project(x[:1], basis)  # a row's vector does not depend on its company
    np.testing.assert_allclose(one[0], out[0], atol=1e-5)
    with pytest.raises(ValueError, match="dim must be in 1..20"):
        fit_basis(x, 21)


def test_each_word_is_encoded_once(own_cache, monkeypatch):
    import dlcourse.classify.minilm_words as mw

    encoded = []
    real = mw.encode_words

    def counting(words, *args, **kwargs):
        encoded.append(list(words))
        return real(words, *args, **kwargs)

    monkeypatch.setattr(mw, "encode_words", counting)
    words = ["good", "bad", "film", "unwatchably", "overacted", "plotless"]
    first = minilm_word_vectors(words)
    assert first.shape == (6, 100) and first.dtype == np.float32
    # the first call runs the encoder once: the reference words (the PCA is fitted on them),
    # then the words they lack
    from dlcourse.data.readers import read_glove_6b_50d

    reference = list(dict.fromkeys(read_glove_6b_50d()[0][:400]))
    assert len(encoded) == 1
    assert encoded[0] == reference + [w for w in words if w not in reference]
    assert {"unwatchably", "overacted", "plotless"} <= set(encoded[0])
    assert (own_cache / "basis.npz").is_file()
    encoded.clear()
    # another list, partly known: only its new words run; known rows are the same vectors
    again = minilm_word_vectors(["plotless", "film", "snoozefest"])
    assert encoded == [["snoozefest"]]
    np.testing.assert_array_equal(again[:2], first[[5, 2]])
    encoded.clear()
    assert minilm_word_vectors(words[::-1]).shape == (6, 100) and encoded == []
    # a vector does not depend on the list it came with (a fixed basis)
    fresh = minilm_word_vectors(["plotless"], cache=False)
    np.testing.assert_allclose(fresh[0], first[5], atol=1e-4)


def test_the_store_merges_its_files_and_survives_a_read_only_folder(tmp_path, monkeypatch):
    import dlcourse.classify.minilm_words as mw

    monkeypatch.setattr(mw, "MAX_FILES", 3)
    store = VectorStore(tmp_path / "store")
    for i in range(5):
        assert store.add([f"w{i}", "same"], np.full((2, 4), i, np.float32))
    known = store.read()  # 5 files > 3: merged into one
    assert sorted(known) == ["same", "w0", "w1", "w2", "w3", "w4"]
    assert len(list((tmp_path / "store").glob("words-*.npz"))) == 1
    assert store.read().keys() == known.keys()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert not VectorStore(blocked / "store").add(["x"], np.zeros((1, 4), np.float32))


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
    # every word has a minilm vector (the extra GloVe words too), only <pad> is zero
    mini = matrix[:, 50:]
    assert not mini[0].any() and np.all(np.abs(mini[2:]).sum(1) > 0)
    word = vocab.itos[5]
    np.testing.assert_array_equal(mini[5], minilm_word_vectors([word])[0])
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


def test_the_same_seed_gives_the_same_classifier_with_or_without_stored_words(
        pang_lee_split, tiny, own_cache):
    (train, valid) = pang_lee_split
    settings = dict(tiny, model="cnn", hidden_size=8, pretrained="minilm-words", epochs=1)
    cold = TextClassifier(**settings).fit(*train)  # every word through the encoder
    warm = TextClassifier(**settings).fit(*train)  # every word from the store
    a, b = cold.model_.state_dict(), warm.model_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
