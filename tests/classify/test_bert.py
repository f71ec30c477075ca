"""--model minilm: the BERT encoder against an independent reference on the real weights, a tiny
random encoder through fit/predict/save/load, the config's refusals, and (slow) a real
fine-tune above chance."""

from __future__ import annotations

import math

import pytest
import torch

from dlcourse.classify import TextClassifier
from dlcourse.classify.bert import BertClassifier, BertConfig, load_bert_weights
from dlcourse.classify.config import ClassifierConfig
from dlcourse.errors import ConfigError, IncompatibleModelError

#: a random encoder small enough to train on 160 sentences in a second or two
TINY_BERT = dict(pretrained=None, hidden_size=16, num_layers=1, num_heads=2, epochs=2,
                 lr=1e-3, device="cpu")


@pytest.fixture(scope="module")
def minilm_dir():
    from dlcourse.data import fetch

    return fetch("minilm-l6")


def reference_first_layer(state: dict, ids: list[int]) -> torch.Tensor:
    """BERT's embeddings and first layer for one unpadded sequence, written out from the
    Hugging Face tensors with explicit softmax attention (no code shared with bert.py)."""
    def ln(x, name):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + 1e-12) * state[name + ".weight"] + state[name + ".bias"]

    def lin(x, name):
        return x @ state[name + ".weight"].T + state[name + ".bias"]

    e, p = "embeddings.", "encoder.layer.0."
    t = len(ids)
    x = (state[e + "word_embeddings.weight"][ids] + state[e + "position_embeddings.weight"][:t]
         + state[e + "token_type_embeddings.weight"][0])
    x = ln(x, e + "LayerNorm")  # (T, 384)
    heads, d = 12, x.shape[1] // 12
    q, k, v = (lin(x, p + f"attention.self.{n}").view(t, heads, d).transpose(0, 1)
               for n in ("query", "key", "value"))  # (12, T, 32)
    att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(d), dim=-1) @ v  # (12, T, 32)
    x = ln(x + lin(att.transpose(0, 1).reshape(t, -1), p + "attention.output.dense"),
           p + "attention.output.LayerNorm")
    h = lin(x, p + "intermediate.dense")
    h = 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))  # exact GELU
    return ln(x + lin(h, p + "output.dense"), p + "output.LayerNorm")


def test_first_layer_matches_an_independent_reference(minilm_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    from dlcourse.text import WordPieceTokenizer

    ids = WordPieceTokenizer(minilm_dir / "vocab.txt").encode_ids("hello world")[0]
    assert ids == [101, 7592, 2088, 102]  # [CLS] hello world [SEP]
    config = BertConfig.from_hf(minilm_dir / "config.json")
    assert (config.hidden_size, config.num_layers, config.num_heads) == (384, 6, 12)
    # the embeddings and layer 0 only (a one-layer encoder loads them strictly)
    state = load_file(str(minilm_dir / "model.safetensors"))
    one_layer = {k: v for k, v in state.items() if not k.startswith("encoder.layer.")
                 or k.startswith("encoder.layer.0.")}
    save_file(one_layer, str(tmp_path / "one.safetensors"))
    model = BertClassifier(BertConfig(**{**config.to_dict(), "num_layers": 1}))
    load_bert_weights(model, tmp_path / "one.safetensors")
    model.eval()
    with torch.no_grad():
        ours = model.encode(torch.tensor([ids]), torch.tensor([4]))[0]  # (4, 384)
    expected = reference_first_layer(state, ids)
    assert ours.shape == (4, 384)
    assert torch.allclose(ours, expected, atol=1e-5), (ours - expected).abs().max()


def test_loading_refuses_another_shape(minilm_dir):
    small = BertClassifier(BertConfig(hidden_size=16, num_layers=1, num_heads=2))
    with pytest.raises(IncompatibleModelError, match="shape"):
        load_bert_weights(small, minilm_dir / "model.safetensors")
    # all six layers in the file, three in the model: refused, not silently cut
    shallow = BertClassifier(BertConfig(num_layers=3))
    with pytest.raises(IncompatibleModelError, match="lacks"):
        load_bert_weights(shallow, minilm_dir / "model.safetensors")


def test_padding_does_not_change_the_logits():
    torch.manual_seed(0)
    model = BertClassifier(BertConfig(vocab_size=50, hidden_size=16, num_layers=2,
                                      num_heads=4)).eval()
    alone = model(torch.tensor([[2, 7, 9, 3]]), torch.tensor([4]))
    padded = model(torch.tensor([[2, 7, 9, 3, 0, 0], [2, 5, 3, 0, 0, 0]]), torch.tensor([4, 3]))
    assert padded.shape == (2,)
    assert torch.allclose(alone, padded[:1], atol=1e-6)


def test_tiny_encoder_fits_predicts_and_reloads_without_the_data(pang_lee_split, tmp_path,
                                                               monkeypatch):
    train, valid = pang_lee_split
    clf = TextClassifier(ClassifierConfig.minilm(**TINY_BERT)).fit(*train, valid=valid)
    # the model's own vocabulary, [CLS] ... [SEP] around every text, no <unk>/<pad> specials
    assert len(clf.vocab_.itos) == 30522 and clf.vocab_.pad_id == 0
    assert clf.model_config_.num_layers == 1 and len(clf.history_) == 2
    proba = clf.predict_proba(valid[0])
    clf.save(tmp_path / "m")

    import dlcourse.data

    def no_data(*args, **kwargs):
        raise AssertionError("load must not need the data set")

    monkeypatch.setattr(dlcourse.data, "fetch", no_data)
    again = TextClassifier.load(tmp_path / "m")
    assert again.config.model == "minilm"
    assert torch.equal(torch.from_numpy(again.predict_proba(valid[0])), torch.from_numpy(proba))
    assert set(again.predict(valid[0])) <= {"pos", "neg"}


@pytest.mark.parametrize("changes, field", [
    (dict(pretrained="glove-6b-50d"), "pretrained"),
    (dict(freeze=True), "freeze"),
    (dict(multichannel=True), "multichannel"),
    (dict(pooling="max"), "pooling"),
    (dict(tokenizer="basic_english"), "tokenizer"),
    (dict(hidden_size=128), "hidden_size"),
    (dict(num_heads=4), "num_heads"),
    (dict(max_len=600), "max_len"),
])
def test_contradictory_settings_are_refused(changes, field):
    with pytest.raises(ConfigError) as info:
        ClassifierConfig.minilm(**changes).validate()
    assert info.value.field == field


def test_plain_minilm_without_the_recipe_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match=r"ClassifierConfig\.minilm\(\)"):
        ClassifierConfig(model="minilm").validate()


def test_recipe_and_other_models_defaults():
    c = ClassifierConfig.minilm().validate()
    assert (c.lr, c.epochs, c.batch_size, c.schedule, c.word_dropout, c.adversarial,
            c.max_len) == (3e-5, 2, 32, "warmup", 0.0, 0.0, 64)
    d = ClassifierConfig()  # the default CNN recipe is untouched
    assert (d.model, d.lr, d.epochs, d.batch_size, d.schedule, d.max_len) == (
        "cnn", 1e-3, 10, 50, None, 400)


def test_warmup_schedule_rises_then_decays():
    from dlcourse.classify.training import lr_schedule

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = lr_schedule(opt, "warmup", 100)
    rates = []
    for _ in range(100):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a > b for a, b in zip(rates[9:], rates[10:])) and rates[-1] < 0.02


@pytest.mark.slow
def test_real_fine_tune_beats_chance_on_held_out_sentences():
    from dlcourse.classify import rt_split

    split = rt_split()
    train = (split["train"][0][:500], split["train"][1][:500])
    test = (split["test"][0][:300], split["test"][1][:300])
    # 500 sentences are 16 steps of the recipe's batches of 32: too few at 3e-5; 32 steps at
    # 1e-4 learn (0.68 measured, 0.57 with the recipe's rate and batch)
    config = ClassifierConfig.minilm(epochs=1, lr=1e-4, batch_size=16, device="cpu", seed=0)
    accuracy = TextClassifier(config).fit(*train).evaluate(*test)["accuracy"]
    # chance is 0.5; 300 sentences: 0.62 is over four standard errors above it
    assert accuracy > 0.62, accuracy


def test_cli_train_predict_evaluate_a_tiny_minilm(tmp_path, capsys, caplog):
    from dlcourse.cli.main import main

    out = tmp_path / "run"
    # the recipe comes with --model minilm; a random 1-layer encoder keeps this fast
    main(["--threads", "1", "classify", "train", "pang-lee-sample", "--model", "minilm",
          "--pretrained", "none", "--hidden-size", "16", "--layers", "1", "--heads", "2",
          "--lr", "1e-3", "--dry-run", "--device", "cpu", "--out", str(out)])
    assert "best epoch 1" in capsys.readouterr().out
    # a progress message on the log (stderr; `dlcourse -q` hides it), not a result on stdout
    assert "training minilm on 180 texts" in caplog.text
    saved = TextClassifier.load(out)
    assert (saved.config.lr, saved.config.schedule, saved.config.max_len) == (1e-3, "warmup", 64)
    main(["classify", "predict", str(out), "a gorgeous, witty film", "tedious and flat"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["text", "label", "p_neg", "p_pos"] and len(lines) == 4
    main(["classify", "evaluate", str(out), "pang-lee-sample"])
    assert "accuracy" in capsys.readouterr().out
