"""TextClassifier on the real Pang & Lee sample: learning, seeding, persistence, bad input."""

import numpy as np
import pytest
import torch

from dlcourse.classify import TextClassifier
from dlcourse.errors import DlcourseError


def test_training_loss_falls_and_train_set_is_learned(pang_lee_split, tiny):
    (texts, labels), _ = pang_lee_split
    clf = TextClassifier(**tiny).fit(texts, labels)  # no validation: all epochs, last weights
    h = clf.history_
    assert len(h) == tiny["epochs"] and h[-1]["train_loss"] < 0.5 * h[0]["train_loss"]
    assert clf.evaluate(texts, labels)["accuracy"] > 0.9
    assert clf.classes_.tolist() == ["neg", "pos"]


def test_best_epoch_weights_are_kept(tiny_fitted, pang_lee_split):
    _, (texts, labels) = pang_lee_split
    best = max(h["valid_acc"] for h in tiny_fitted.history_)
    assert tiny_fitted.history_[tiny_fitted.best_epoch_ - 1]["valid_acc"] == best
    assert tiny_fitted.evaluate(texts, labels)["accuracy"] == pytest.approx(best)
    assert {"valid_loss", "valid_acc", "valid_f1"} <= set(tiny_fitted.history_[0])


def test_predict_proba_predict_and_evaluate_agree(tiny_fitted, pang_lee):
    texts, labels = pang_lee
    proba = tiny_fitted.predict_proba(texts)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    pred = tiny_fitted.predict(texts)
    assert pred == [tiny_fitted.classes_[i] for i in proba.argmax(1)]
    assert all(type(p) is str for p in pred)  # plain values, not numpy scalars
    m = tiny_fitted.evaluate(texts, labels)
    assert m["accuracy"] == pytest.approx(np.mean(np.array(pred) == np.array(labels)))
    assert 0.5 < m["roc_auc"] <= 1.0 and m["n"] == 200
    assert sum(map(sum, m["confusion_matrix"])) == 200
    # batch size and order do not change a text's probabilities
    np.testing.assert_allclose(tiny_fitted.predict_proba(texts[::-1], batch_size=7)[::-1], proba,
                               rtol=1e-5, atol=1e-6)
    assert tiny_fitted.predict_proba("").shape == (1, 2)  # an empty text still gets an answer


def test_same_seed_same_weights_other_seed_differs(pang_lee, tiny):
    texts, labels = pang_lee
    kw = dict(tiny, epochs=2)
    a = TextClassifier(**kw, seed=3).fit(texts, labels).model_.state_dict()
    b = TextClassifier(**kw, seed=3).fit(texts, labels).model_.state_dict()
    c = TextClassifier(**kw, seed=4).fit(texts, labels).model_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_save_load_gives_same_predictions(tiny_fitted, pang_lee, tmp_path):
    from safetensors.torch import load_file

    from dlcourse.engine.persist import read_manifest

    texts, _ = pang_lee
    tiny_fitted.metadata_ = {"text_col": "review"}
    path = tiny_fitted.save(tmp_path / "m")
    assert path == tmp_path / "m" / "model.safetensors" and not (tmp_path / "m/model.pt").exists()
    manifest = read_manifest(path)  # plain JSON values only
    state = manifest["state"]
    assert manifest["lesson"] == "classify" and manifest["estimator"] == "TextClassifier"
    assert state["classes"] == ["neg", "pos"] and state["vocab"][:2] == ["<pad>", "<unk>"]
    assert state["tokenizer"]["name"] == "basic_english"
    assert manifest["config"] == tiny_fitted.config.to_dict()
    arrays = load_file(path)
    for key, value in tiny_fitted.model_.state_dict().items():
        assert torch.equal(arrays["model." + key], value)
    loaded = TextClassifier.load(tmp_path / "m", device="cpu")
    np.testing.assert_allclose(loaded.predict_proba(texts), tiny_fitted.predict_proba(texts),
                               rtol=1e-6, atol=1e-7)
    assert loaded.metadata_ == {"text_col": "review"}
    assert loaded.history_ == tiny_fitted.history_
    assert loaded.best_epoch_ == tiny_fitted.best_epoch_
    assert loaded.fit_seconds_ == tiny_fitted.fit_seconds_ > 0
    assert loaded.get_params() == {**tiny_fitted.get_params(), "device": "cpu"}


def test_load_rejects_missing_and_foreign(tmp_path):
    from dlcourse.engine.persist import write_state
    from dlcourse.errors import IncompatibleModelError

    with pytest.raises(DlcourseError, match="does not exist"):
        TextClassifier.load(tmp_path / "nothing")
    write_state(tmp_path / "som" / "model.safetensors", {"lesson": "som", "estimator": "SOM"},
                {"weights": np.zeros((3, 2), np.float32)})
    with pytest.raises(IncompatibleModelError, match="holds a 'som' model .* not a TextClassifier"):
        TextClassifier.load(tmp_path / "som")


def test_frozen_glove_rows_and_coverage(pang_lee, tiny):
    texts, labels = pang_lee
    clf = TextClassifier(**dict(tiny, epochs=2, pretrained="glove-test", freeze=True))
    clf.fit(texts, labels)
    from dlcourse.classify import load_vectors

    words, vectors = load_vectors("glove-test")
    cov = clf.coverage_
    assert clf.model_config_.embed_dim == vectors.shape[1] and clf.model_config_.freeze_embeddings
    assert 0 < cov["found"] < cov["vocab_size"] and 0 < cov["token_coverage"] < 1
    weight = clf.model_.embedding.weight.detach().numpy()
    known = [w for w in words if w in clf.vocab_.stoi]
    assert len(known) == cov["found"]
    for w in known:  # still the GloVe vector after training: frozen
        np.testing.assert_array_equal(weight[clf.vocab_[w]], vectors[words.index(w)])
    assert not weight[clf.vocab_.pad_id].any()


def test_fine_tuned_vectors_move(pang_lee, tiny):
    texts, labels = pang_lee
    clf = TextClassifier(**dict(tiny, epochs=2, pretrained="glove-test", freeze=False))
    clf.fit(texts, labels)
    from dlcourse.classify import load_vectors

    words, vectors = load_vectors("glove-test")
    w = next(w for w in words if w in clf.vocab_.stoi)
    row = clf.model_.embedding.weight.detach().numpy()[clf.vocab_[w]]
    assert not np.allclose(row, vectors[words.index(w)])


def test_three_classes_use_softmax(pang_lee, tiny):
    from dlcourse.classify import load_rt_sentences

    texts, _ = load_rt_sentences()
    texts = texts[:300]
    labels = [i % 3 for i in range(300)]  # ints as labels
    clf = TextClassifier(**dict(tiny, epochs=1)).fit(texts, labels)
    assert clf.classes_.tolist() == [0, 1, 2]
    proba = clf.predict_proba(texts[:5])
    assert proba.shape == (5, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    m = clf.evaluate(texts[:50], labels[:50])
    assert "roc_auc" not in m and len(m["per_class"]) == 3


def test_wordpiece_tokenizer_round_trips(pang_lee, tmp_path, tiny):
    texts, labels = pang_lee
    clf = TextClassifier(**dict(tiny, epochs=1), tokenizer="wordpiece").fit(texts, labels)
    assert any(t.startswith("##") for t in clf.vocab_.itos)
    clf.save(tmp_path)
    loaded = TextClassifier.load(tmp_path, device="cpu")
    assert loaded.tokenizer_.config == clf.tokenizer_.config
    np.testing.assert_allclose(loaded.predict_proba(texts[:20]), clf.predict_proba(texts[:20]),
                               rtol=1e-6)


def test_balanced_class_weights_raise_minority_recall(pang_lee, tiny):
    texts, labels = pang_lee
    # keep every "pos" but only a fifth of the "neg" sentences: 5:1 imbalance
    keep = [i for i, y in enumerate(labels) if y == "pos" or i % 5 == 0]
    t, y = [texts[i] for i in keep], [labels[i] for i in keep]
    kw = dict(tiny, epochs=3, lr=0.003)
    plain = TextClassifier(**kw).fit(t, y).evaluate(t, y)
    balanced = TextClassifier(**kw, class_weight="balanced").fit(t, y).evaluate(t, y)
    assert balanced["per_class"][0]["recall"] > plain["per_class"][0]["recall"]


def test_a_bad_validation_set_is_refused_before_training(pang_lee_split, tiny, monkeypatch):
    import dlcourse.classify.estimator as estimator

    (texts, labels), _ = pang_lee_split
    monkeypatch.setattr(estimator, "train_classifier",
                        lambda *a, **k: pytest.fail("training started"))
    for valid, match in [((texts[:5], labels[:3]), "5 texts but 3 labels"),
                         ({"texts": texts[:5]}, "valid must be a pair"),
                         (("a film", "pos"), "valid texts must be a list of strings")]:
        with pytest.raises(DlcourseError, match=match):
            TextClassifier(**{**tiny, "epochs": 1}).fit(texts, labels, valid=valid)


@pytest.mark.parametrize(
    "kwargs, args, error, match",
    [
        (dict(model="bert"), None, ValueError, "choose one of cnn, transformer, rnn, gru, lstm"),
        (dict(monitor="auc"), None, ValueError, "choose one of accuracy, f1, loss"),
        (dict(class_weight="inverse"), None, ValueError, "balanced"),
        (dict(pooling="sum"), None, ValueError, "choose one of max, mean, last, cls"),
        (dict(pooling="cls"), None, ValueError, "pooling cls is for the transformer, not gru"),
        (dict(lr=0), None, ValueError, "lr must be > 0"),
        (dict(epochs=1.5), None, ValueError, "epochs must be an integer"),
        (dict(pretrained="no/such/vectors.txt"), None, DlcourseError, "glove-6b-50d, glove-test, "
                                                                      "word2vec"),
        ({}, (["a", "b"], ["x"]), DlcourseError, "one label per text"),
        ({}, (["a", "b"], ["x", "x"]), DlcourseError, "at least two"),
        ({}, ([], []), DlcourseError, "non-empty"),
        ({}, ("good film", ["pos"]), DlcourseError, "texts must be a list of strings, got one"),
        ({}, (["good film", None], ["pos", "neg"]), DlcourseError,
         "item 1 is NoneType None; drop or fill"),
        ({}, (["good film", 3], ["pos", "neg"]), DlcourseError, "item 1 is int 3"),
        ({}, (["good film", "bad film"], ["pos", float("nan")]), DlcourseError,
         r"label 1 is missing \(nan\)"),
        ({}, (["good film", "bad film"], ["pos", None]), DlcourseError, "label 1 is missing"),
    ],
)
def test_bad_input_names_problem_and_fix(kwargs, args, error, match, tiny):
    args = args or (["good film", "bad film"], ["pos", "neg"])
    with pytest.raises(error, match=match):
        TextClassifier(**{**tiny, "epochs": 1, **kwargs}).fit(*args)


def test_use_before_fit_and_unknown_labels(tiny_fitted):
    from dlcourse.errors import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted yet"):
        TextClassifier().predict(["x"])
    with pytest.raises(DlcourseError, match="not seen in training"):
        tiny_fitted.evaluate(["a fine film"], ["neutral"])


def test_vectors_from_the_embeddings_lesson(pang_lee, tiny, tmp_path):
    from dlcourse.embeddings import KeyedVectors

    texts, labels = pang_lee
    rng = np.random.default_rng(0)
    words = ["film", "funny", "dull", "the"]
    kv = KeyedVectors(words, rng.normal(size=(4, 8)).astype(np.float32))
    kv.save(tmp_path / "emb")  # a model directory, as `dlcourse embed train --out` writes
    for source in (kv, str(tmp_path / "emb")):
        clf = TextClassifier(**dict(tiny, epochs=1, pretrained=source, freeze=True))
        clf.fit(texts, labels)
        assert clf.model_config_.embed_dim == 8 and clf.coverage_["found"] == 4
        row = clf.model_.embedding.weight.detach().numpy()[clf.vocab_["dull"]]
        np.testing.assert_array_equal(row, kv.vectors[2])
    assert TextClassifier(**dict(tiny, pretrained=kv)).config.to_dict()["pretrained"] == \
        "KeyedVectors"


def test_resume_equals_uninterrupted(pang_lee_split, tiny, tmp_path):
    train, valid = pang_lee_split
    # no weight average: its decay follows the first run's length (2 epochs here), which a
    # longer resumed run keeps (the engine's tests cover resume with an average)
    kw = dict(tiny, epochs=3, patience=None, ema_span=0.0)
    straight = TextClassifier(**kw).fit(*train, valid=valid)
    TextClassifier(**dict(kw, epochs=2)).fit(*train, valid=valid, out_dir=tmp_path)
    resumed = TextClassifier(**kw).fit(*train, valid=valid, out_dir=tmp_path, resume=True)
    a, b = straight.model_.state_dict(), resumed.model_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # the same best epoch's weights
    assert resumed.best_epoch_ == straight.best_epoch_ and len(resumed.history_) == 3
    assert [h["valid_loss"] for h in resumed.history_] == \
        [h["valid_loss"] for h in straight.history_]


def test_resuming_a_run_that_stopped_early_keeps_its_best_weights(pang_lee_split, tiny, tmp_path):
    train, valid = pang_lee_split
    kw = dict(tiny, epochs=30, lr=0.05, monitor="loss", patience=1)
    first = TextClassifier(**kw).fit(*train, valid=valid, out_dir=tmp_path)
    assert first.best_epoch_ < len(first.history_) < 30             # stopped early
    again = TextClassifier(**kw).fit(*train, valid=valid, out_dir=tmp_path, resume=True)
    a, b = first.model_.state_dict(), again.model_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert again.best_epoch_ == first.best_epoch_


def test_scikit_learn_model_selection_runs_on_the_classifier(pang_lee, tiny):
    """score is accuracy and the classifier says it is one: cross_val_score clones it onto
    stratified folds (the file is sorted by label: plain folds would train on one class) and
    GridSearchCV refits the best setting."""
    from sklearn.base import is_classifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

    from dlcourse.classify import TextClassifier

    texts, labels = np.array(pang_lee[0]), np.array(pang_lee[1])
    tiny["epochs"] = 3
    assert is_classifier(TextClassifier(**tiny))
    scores = cross_val_score(TextClassifier(**tiny), texts, labels, cv=2)
    by_hand = [TextClassifier(**tiny).fit(texts[a], labels[a]).score(texts[b], labels[b])
               for a, b in StratifiedKFold(2).split(texts, labels)]
    assert scores.tolist() == pytest.approx(by_hand)
    search = GridSearchCV(TextClassifier(**tiny), {"hidden_size": [8, 16]}, cv=2).fit(texts,
                                                                                      labels)
    best = search.best_estimator_
    assert best.hidden_size == search.best_params_["hidden_size"]
    assert best.score(texts, labels) == pytest.approx(np.mean(best.predict(texts) == labels))
