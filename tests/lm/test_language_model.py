"""LanguageModel on a small real corpus: learning, determinism, save/load, generation, vectors
(exact resume is in test_resume.py)."""

from __future__ import annotations

import math

import pytest
import torch

from dlcourse.engine.persist import read_manifest, write_state
from dlcourse.errors import ConfigError, DlcourseError, IncompatibleModelError, NotFittedError
from dlcourse.lm import LanguageModel, LMConfig, load_corpus


@pytest.fixture(scope="module")
def trained(lee_corpus, tmp_path_factory, tiny_config):
    out = tmp_path_factory.mktemp("lstm")
    lm = LanguageModel(tiny_config("lstm", epochs=3, lr=1e-2)).fit(
        lee_corpus, out_dir=out)
    return lm, out


def test_lstm_learns_the_text(trained, lee_corpus):
    lm, _ = trained
    losses = [h["train_loss"] for h in lm.history_]
    assert losses[-1] < losses[0]
    v = len(lee_corpus.itos)
    assert min(h["valid_ppl"] for h in lm.history_) < v / 5  # far below uniform guessing
    assert lm.history_[0]["items_per_s"] > 0
    # fit keeps the best epoch's weights, and says which (as the classifier does)
    assert lm.perplexity(lee_corpus.valid) == pytest.approx(
        lm.history_[lm.best_epoch_ - 1]["valid_ppl"], rel=1e-4)
    assert lm.history_[lm.best_epoch_ - 1]["valid_ppl"] == min(h["valid_ppl"] for h in lm.history_)


def test_lesson_model_trains_as_the_lesson_says(lee_corpus):
    config = LMConfig.preset("embedding", epochs=2, embed_dim=16, lr=1e-2)
    assert (config.optimizer, config.grad_clip, config.patience) == ("adam", None, None)
    lm = LanguageModel(config, device="cpu").fit(lee_corpus)
    assert len(lm.history_) == 2 and lm.history_[1]["train_loss"] < lm.history_[0]["train_loss"]
    assert lm.perplexity(lee_corpus.test) < len(lee_corpus.itos) / 4  # uniform: V


def test_same_seed_same_weights(tiny_config):
    small = load_corpus("lee", max_lines=15)
    a = LanguageModel(tiny_config(epochs=1)).fit(small)
    b = LanguageModel(tiny_config(epochs=1)).fit(small)
    c = LanguageModel(tiny_config(epochs=1), seed=1).fit(small)
    for (name, pa), pb in zip(a.model_.state_dict().items(), b.model_.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.model_.encoder.weight, c.model_.encoder.weight)


def test_model_file_loads_and_predicts_the_same(trained, lee_corpus):
    lm, out = trained
    manifest = read_manifest(out / "model.safetensors")  # the JSON header, without torch
    assert (manifest["lesson"], manifest["estimator"]) == ("lm", "LanguageModel")
    assert manifest["state"]["itos"] == lee_corpus.itos and manifest["state"]["data"] == "lee"
    # eval_batch_size left to the data: the file holds the streams fit measured with
    assert (lm.config.eval_batch_size, lm.eval_batch_size_) == (None, 10)
    used = {"eval_batch_size": 10}
    assert manifest["config"] == {**lm.config.to_dict(), **used}
    assert manifest["config"]["model"] == "lstm"
    loaded = LanguageModel.load(out)
    # a loaded model goes where it can run ("auto"), whatever device it was trained on
    assert loaded.get_params() == {**lm.get_params(), "device": "auto", **used}
    assert loaded.eval_batch_size_ == 10
    for (name, a), b in zip(lm.model_.state_dict().items(), loaded.model_.state_dict().values()):
        assert torch.equal(a, b), name
    assert loaded.model_.decoder.weight is loaded.model_.encoder.weight  # tying survives
    assert loaded.perplexity(lee_corpus.test) == lm.perplexity(lee_corpus.test)
    assert loaded.generate("the", seed=3) == lm.generate("the", seed=3)
    assert loaded.history_ == lm.history_ and loaded.tokenizer_config_ == lm.tokenizer_config_
    assert loaded.best_epoch_ == lm.best_epoch_
    assert (out / "history.json").exists() and (out / "best.pt").exists()


def test_a_different_size_or_another_lessons_model_is_one_clear_error(trained, tmp_path):
    lm, out = trained
    manifest = read_manifest(out / "model.safetensors")
    weights = {f"model.{k}": v for k, v in lm.model_.state_dict().items()}
    bigger = {**manifest, "config": {**manifest["config"], "embed_dim": 48, "hidden_dim": 48}}
    write_state(tmp_path / "bigger" / "model.safetensors", bigger, weights)
    with pytest.raises(IncompatibleModelError, match="do not fit"):
        LanguageModel.load(tmp_path / "bigger")
    other = {**manifest, "lesson": "som", "estimator": "SOM"}
    write_state(tmp_path / "som" / "model.safetensors", other, weights)
    with pytest.raises(IncompatibleModelError, match="'som' model"):
        LanguageModel.load(tmp_path / "som")


def test_generation_is_seeded_and_top_k_1_is_greedy(trained):
    lm, _ = trained
    text = lm.generate("the government", max_tokens=12, temperature=1.0, seed=7)
    assert text == lm.generate("the government", max_tokens=12, temperature=1.0, seed=7)
    assert len(text.split()) == 12 and all(w in lm.itos_ for w in text.split())
    greedy = lm.generate("the government", max_tokens=8, temperature=0)
    assert lm.generate("the government", max_tokens=8, top_k=1, seed=1) == greedy
    assert "<unk>" not in lm.generate("", max_tokens=200, seed=0).split()
    assert "<unk>" in lm.generate("", max_tokens=200, seed=0, allow_unk=True).split()
    sentence = lm.generate("", max_tokens=200, seed=0, stop_at_eos=True)
    # the <eos> it stopped at is a marker, left out: the sentence is the running text's start
    running = lm.generate("", max_tokens=200, seed=0).split()
    assert "<eos>" not in sentence.split() and running[:len(sentence.split())] == sentence.split()
    with pytest.raises(ValueError, match="temperature"):
        lm.generate("the", temperature=-1)
    with pytest.raises(ValueError, match="top_k"):
        lm.generate("the", top_k=-1)
    with pytest.raises(ValueError, match="max_tokens"):
        lm.generate("the", max_tokens=-5)


def test_nearest_words_and_exported_vectors_round_trip(trained, tmp_path):
    from dlcourse.embeddings import KeyedVectors

    lm, _ = trained
    neighbours = lm.most_similar("the", topn=5)
    assert len(neighbours) == 5 and "the" not in [w for w, _ in neighbours]
    path = lm.export_vectors(tmp_path / "vectors.txt")
    kv = KeyedVectors.load_word2vec_format(path)
    assert "<pad>" not in kv and len(kv) == len(lm.itos_) - 1
    row = lm.itos_.index("the")
    assert kv["the"] == pytest.approx(lm.model_.embedding_table[row].detach().numpy(), abs=1e-5)
    with pytest.raises(DlcourseError, match="not in the vocabulary"):
        lm.most_similar("qwxzzy")


def test_evaluate_needs_the_models_vocabulary(trained, lee_corpus):
    lm, _ = trained
    other = load_corpus("lee", max_lines=30)
    with pytest.raises(ValueError, match="vocabulary"):
        lm.evaluate(other)
    same = load_corpus("lee", max_lines=60, vocab=lm.itos_, tokenizer=lm.tokenizer_config_)
    ppl = lm.evaluate(same)
    assert math.isclose(ppl["test_ppl"], lm.perplexity(lee_corpus.test), rel_tol=1e-6)


def test_perplexity_and_generate_take_what_users_have(trained, lee_corpus):
    """Ids as a list or numpy array are a stream; ids outside the vocabulary, float ids and a
    single id are one clear error (they were deep torch errors); a prompt may be a word list."""
    lm, _ = trained
    ids = lee_corpus.test[:400]
    expected = lm.perplexity(ids)
    assert lm.perplexity(ids.tolist()) == expected == lm.perplexity(ids.numpy())
    for bad, match in [([0, len(lm.itos_)], rf"in \[0, {len(lm.itos_)}\), got 0..{len(lm.itos_)}"),
                       (ids.float(), "must be integers, got torch.float32"),
                       ([3], "at least two token ids, got 1")]:
        with pytest.raises(ValueError, match=match):
            lm.perplexity(bad)
    assert lm.generate(["the", "war"], max_tokens=4, seed=1) == lm.generate("the war",
                                                                           max_tokens=4, seed=1)
    with pytest.raises(ValueError, match="evaluate takes a Corpus .*got list"):
        lm.evaluate(["the war began"])  # an AttributeError before
    with pytest.raises(ValueError, match="prompt must be text or a list of words, got int"):
        lm.generate(123)  # a raw TypeError before
    # one string is one line (it was read as a list of one-character lines)
    assert lm.encode("the war").tolist() == lm.encode(["the war"]).tolist()
    assert len(lm.encode("the war")) == 3  # two words and <eos>


def test_text_file_and_split_directory_sources(tmp_path):
    lines = [f"line {i} says the cat sat on the mat number {i % 7}" for i in range(200)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = load_corpus(path, min_freq=1, seed=3)
    n = corpus.summary()
    assert n["train_tokens"] > 7 * n["test_tokens"] > 0 and corpus.itos[:3] == [
        "<pad>", "<unk>", "<eos>"]
    assert (corpus.train == corpus.itos.index("<eos>")).sum() == 160  # one <eos> a line
    again = load_corpus(path, min_freq=1, seed=3)
    assert torch.equal(again.test, corpus.test)
    split_dir = tmp_path / "ptb_like"
    split_dir.mkdir()
    for split, part in (("train", lines[:150]), ("valid", lines[150:175]), ("test", lines[175:])):
        (split_dir / f"x.{split}.txt").write_text("\n".join(part), encoding="utf-8")
    corpus = load_corpus(split_dir, tokenizer="whitespace", min_freq=1)
    assert corpus.test.numel() == 25 * 12  # 11 words + <eos> per line
    # PTB-style text already holds <unk>: it maps to the one <unk> id, not to a new word
    (split_dir / "x.test.txt").write_text("the <unk> sat\nzebra <unk>\n", encoding="utf-8")
    corpus = load_corpus(split_dir, tokenizer="whitespace", min_freq=1)
    unk, eos = corpus.itos.index("<unk>"), corpus.itos.index("<eos>")
    assert corpus.itos.count("<unk>") == 1
    assert corpus.test.tolist() == [corpus.itos.index("the"), unk, corpus.itos.index("sat"), eos,
                                    unk, unk, eos]
    with pytest.raises(FileNotFoundError, match="give one of ptb"):
        load_corpus(tmp_path / "missing.txt")


def test_bad_hyper_parameters_name_the_choices(lee_corpus):
    with pytest.raises(ConfigError, match="choose one of embedding, lstm"):
        LMConfig(model="transformer").validate()
    with pytest.raises(ConfigError, match="choose one of adam, sgd"):
        LanguageModel(optimizer="rmsprop").fit(lee_corpus)  # refused before any work
    with pytest.raises(ConfigError, match="choose one of embedding, lstm, ptb-medium"):
        LMConfig.preset("large")
    with pytest.raises(ConfigError, match="shuffle"):
        LMConfig(model="lstm", shuffle=True).validate()
    with pytest.raises(ConfigError, match="tie_weights needs embed_dim == hidden_dim"):
        LMConfig(embed_dim=32).validate()
    with pytest.raises(ConfigError, match="unknown parameter 'hidden'"):
        LanguageModel(hidden=3)
    with pytest.raises(NotFittedError, match="not fitted"):
        LanguageModel().generate("the")
    with pytest.raises(NotFittedError):
        LanguageModel().save("nowhere")


def test_presets_and_parameters():
    lesson = LMConfig.preset("embedding", epochs=3, lr=None)  # None: keep the recipe's value
    assert (lesson.model, lesson.embed_dim, lesson.epochs, lesson.lr) == ("embedding", 100, 3,
                                                                          1e-3)
    assert LMConfig.preset("ptb-medium").validate().hidden_dim == 650
    assert LMConfig.preset("lstm") == LMConfig()
    lm = LanguageModel(lesson, epochs=5)
    assert lm.epochs == 5 and lm.get_params()["embed_dim"] == 100
    assert lm.set_params(dropout=0.3) is lm and lm.config.dropout == 0.3


def test_batch_must_split_evenly_over_processes(monkeypatch, lee_corpus, tiny_config):
    import dlcourse.lm.language_model as language_model

    monkeypatch.setattr(language_model, "active_ranks", lambda: (0, 3))
    with pytest.raises(ConfigError, match="multiple of 3"):
        LanguageModel(tiny_config(batch_size=8)).fit(lee_corpus)


def test_text_that_is_not_utf8_is_one_error_naming_the_file(tmp_path):
    latin = "caf\xe9 au lait\n".encode("latin-1") * 30
    (tmp_path / "latin.txt").write_bytes(latin)
    with pytest.raises(DlcourseError, match=r"latin.txt:1: byte 0xe9 is not valid utf-8; pass "
                                            r"the file's encoding"):
        load_corpus(tmp_path / "latin.txt")
    corpus = load_corpus(tmp_path / "latin.txt", encoding="latin-1", min_freq=1)
    assert "café" in corpus.itos
    splits = tmp_path / "splits"
    splits.mkdir()
    for split in ("train", "valid", "test"):
        (splits / f"x.{split}.txt").write_text("a line of text\n" * 10, encoding="utf-8")
    (splits / "x.valid.txt").write_bytes(latin)
    with pytest.raises(DlcourseError, match=r"x.valid.txt:1: byte 0xe9 is not valid utf-8"):
        load_corpus(splits)


def test_corpus_names_are_those_of_the_data_list():
    from dlcourse.data import DATASETS
    from dlcourse.lm.config import SOURCES, source_name

    assert set(SOURCES) <= set(DATASETS)  # one name everywhere
    assert [source_name(n) for n in ("lee", "reviews", "wikipedia", "wikitext2", "x.txt")] == [
        "lee", "rt-sentences", "wikipedia-sample", "wikitext-2", None]
