"""LanguageModel on a small real corpus: learning, determinism, save/load, generation, vectors."""

from __future__ import annotations

import math

import pytest
import torch

from dlcourse.errors import DlcourseError
from dlcourse.lm import LanguageModel, LMConfig, load_corpus


@pytest.fixture(scope="module")
def trained(lee_corpus, tmp_path_factory, tiny_config):
    out = tmp_path_factory.mktemp("lstm")
    lm = LanguageModel(tiny_config("lstm", epochs=3, lr=1e-2)).fit(
        lee_corpus, out_dir=out, device="cpu", progress=False)
    return lm, out


def test_lstm_learns_the_text(trained, lee_corpus):
    lm, _ = trained
    losses = [h["train_loss"] for h in lm.history_]
    assert losses[-1] < losses[0]
    v = len(lee_corpus.itos)
    assert min(h["valid_ppl"] for h in lm.history_) < v / 5  # far below uniform guessing
    assert lm.history_[0]["items_per_s"] > 0
    # fit keeps the best epoch's weights
    assert lm.perplexity(lee_corpus.valid) == pytest.approx(
        min(h["valid_ppl"] for h in lm.history_), rel=1e-4)


def test_lesson_model_trains_as_the_lesson_says(lee_corpus):
    config = LMConfig.preset("embedding", epochs=2, embed_dim=16, lr=1e-2)
    assert (config.optimizer, config.grad_clip, config.patience) == ("adam", None, None)
    lm = LanguageModel(config).fit(lee_corpus, device="cpu", progress=False)
    assert len(lm.history_) == 2 and lm.history_[1]["train_loss"] < lm.history_[0]["train_loss"]
    assert lm.perplexity(lee_corpus.test) < len(lee_corpus.itos) / 4  # uniform: V


def test_same_seed_same_weights(tiny_config):
    small = load_corpus("lee", max_lines=15)
    a = LanguageModel(tiny_config(epochs=1)).fit(small, device="cpu", progress=False)
    b = LanguageModel(tiny_config(epochs=1)).fit(small, device="cpu", progress=False)
    c = LanguageModel(tiny_config(epochs=1, seed=1)).fit(small, device="cpu", progress=False)
    for (name, pa), pb in zip(a.model_.state_dict().items(), b.model_.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.model_.encoder.weight, c.model_.encoder.weight)


def test_checkpoint_loads_safely_and_predicts_the_same(trained, lee_corpus):
    lm, out = trained
    state = torch.load(out / "model.pt", weights_only=True)
    assert state["lesson"] == "lm" and state["vocab"] == lee_corpus.itos
    assert state["config"]["model"] == "lstm" and state["config"]["data"] == "lee"
    loaded = LanguageModel.load(out, device="cpu")
    assert loaded.perplexity(lee_corpus.test) == pytest.approx(lm.perplexity(lee_corpus.test))
    assert loaded.generate("the", seed=3) == lm.generate("the", seed=3)
    assert (out / "history.json").exists() and (out / "best.pt").exists()


def test_resume_equals_uninterrupted(tiny_config, tmp_path):
    small = load_corpus("lee", max_lines=15)
    full = LanguageModel(tiny_config(epochs=2, patience=None)).fit(
        small, out_dir=tmp_path / "full", device="cpu", progress=False)
    LanguageModel(tiny_config(epochs=1, patience=None)).fit(
        small, out_dir=tmp_path / "part", device="cpu", progress=False)
    resumed = LanguageModel(tiny_config(epochs=2, patience=None)).fit(
        small, out_dir=tmp_path / "part", device="cpu", resume=True, progress=False)
    assert [h["train_loss"] for h in resumed.history_] == pytest.approx(
        [h["train_loss"] for h in full.history_])
    last_full = torch.load(tmp_path / "full" / "last.pt", weights_only=True)["model"]
    last_part = torch.load(tmp_path / "part" / "last.pt", weights_only=True)["model"]
    for key in last_full:
        assert torch.equal(last_full[key], last_part[key]), key


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
    assert sentence.split()[-1] == "<eos>" or len(sentence.split()) == 200
    with pytest.raises(ValueError, match="temperature"):
        lm.generate("the", temperature=-1)
    with pytest.raises(ValueError, match="top_k"):
        lm.generate("the", top_k=0)


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


def test_bad_hyper_parameters_name_the_choices():
    with pytest.raises(ValueError, match="choose one of embedding, lstm"):
        LMConfig(model="transformer")
    with pytest.raises(ValueError, match="choose one of adam, sgd"):
        LMConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="choose one of embedding, lstm, ptb-medium"):
        LMConfig.preset("large")
    with pytest.raises(ValueError, match="shuffle"):
        LMConfig(model="lstm", shuffle=True)
    with pytest.raises(DlcourseError, match="not trained"):
        LanguageModel().generate("the")


def test_batch_must_split_evenly_over_processes(monkeypatch, lee_corpus, tiny_config):
    import dlcourse.lm.language_model as language_model

    monkeypatch.setattr(language_model, "is_distributed", lambda: True)
    monkeypatch.setattr(language_model, "world_size", lambda: 3)
    with pytest.raises(ValueError, match="multiple of 3"):
        LanguageModel(tiny_config(batch_size=8)).fit(lee_corpus, device="cpu", progress=False)
