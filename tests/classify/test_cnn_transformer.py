"""Kim's CNN and the Transformer encoder: shapes, padding masks, learning on real sentences,
the estimator's save/load and seeding with them, word dropout, the model registry."""

import numpy as np
import pytest
import torch

from dlcourse.classify import TextClassifier
from dlcourse.classify.cnn import CNNClassifier, CNNConfig
from dlcourse.classify.layers import WordEmbedding
from dlcourse.classify.models import (
    RNNConfig,
    build_classifier,
    classification_loss,
    config_from_dict,
)
from dlcourse.classify.training import drop_words
from dlcourse.classify.transformer import (
    TransformerClassifier,
    TransformerConfig,
    sinusoidal_positions,
)
from dlcourse.errors import DlcourseError

SMALL = dict(model="cnn", embed_dim=16, hidden_size=8, epochs=6, batch_size=32, lr=0.01,
             pretrained=None, pretrained_vocab=0, adversarial=0.0, device="cpu")


def _cnn(**kw):
    torch.manual_seed(0)
    return CNNClassifier(CNNConfig(**{"vocab_size": 20, "embed_dim": 6, "num_filters": 5,
                                      "dropout": 0.0, **kw})).eval()


def _transformer(**kw):
    torch.manual_seed(0)
    return TransformerClassifier(TransformerConfig(**{
        "vocab_size": 20, "embed_dim": 6, "d_model": 8, "num_heads": 2, "dropout": 0.0, **kw}
    )).eval()


def _padding_gap(m):
    """Largest change of the short items' logits when they share a batch with longer ones."""
    ids = torch.tensor([[2, 3, 4, 5, 6, 7], [6, 7, 0, 0, 0, 0], [9, 0, 0, 0, 0, 0]])
    lengths = torch.tensor([6, 2, 1])
    both = m(ids, lengths)
    gaps = [(both[i] - m(ids[i:i + 1, :n], lengths[i:i + 1])[0]).abs().max().item()
            for i, n in ((1, 2), (2, 1))]
    return both, max(gaps)


@pytest.mark.parametrize("kw", [dict(pooling="max"), dict(pooling="mean"),
                                dict(static_channel=True, kernel_sizes=(1, 2, 5))])
def test_cnn_padding_does_not_change_logits(kw):
    m = _cnn(num_classes=3, **kw)
    both, gap = _padding_gap(m)
    assert both.shape == (3, 3) and gap < 1e-5
    # a sentence of one word is shorter than every filter but 1 wide: still a finite answer
    assert torch.isfinite(both).all()


@pytest.mark.parametrize("pooling", ["cls", "mean", "max"])
@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_transformer_padding_does_not_change_logits(pooling, positions):
    m = _transformer(num_classes=3, pooling=pooling, positions=positions)
    both, gap = _padding_gap(m)
    assert both.shape == (3, 3) and gap < 1e-5


def test_padding_ids_change_nothing_but_the_mask_matters():
    # the padded positions' ids are ignored (whatever the pad row holds); taking the mask away
    # (calling the long length) does change the short item's logits: the test is not trivial
    m = _transformer()
    ids = torch.tensor([[2, 3, 4], [6, 0, 0]])
    with torch.no_grad():
        m.embedding.weight[0] = 5.0  # a non-zero padding row
    a = m(ids, torch.tensor([3, 1]))
    b = m(ids, torch.tensor([3, 3]))
    assert (a[1] - b[1]).abs() > 1e-4
    c = _cnn()
    with torch.no_grad():
        c.embedding.weight[0] = 5.0
    torch.testing.assert_close(c(ids, torch.tensor([3, 1]))[1:], c(ids[1:, :1], torch.tensor([1])))


def test_two_classes_one_logit_and_long_input_is_refused():
    for m in (_cnn(), _transformer()):
        assert m(torch.tensor([[2, 3], [4, 0]]), torch.tensor([2, 1])).shape == (2,)
    m = _transformer(max_positions=4)
    with pytest.raises(ValueError, match="max_positions"):
        m(torch.ones(1, 5, dtype=torch.long), torch.tensor([5]))


def test_configs_name_the_choices():
    with pytest.raises(ValueError, match="choose one of max, mean"):
        CNNConfig(vocab_size=5, pooling="last")
    with pytest.raises(ValueError, match="kernel_sizes"):
        CNNConfig(vocab_size=5, kernel_sizes=(0, 3))
    with pytest.raises(ValueError, match="choose one of cls, mean, max"):
        TransformerConfig(vocab_size=5, pooling="last")
    with pytest.raises(ValueError, match="multiple of num_heads"):
        TransformerConfig(vocab_size=5, d_model=10, num_heads=4)
    with pytest.raises(ValueError, match="choose one of learned, sinusoidal"):
        TransformerConfig(vocab_size=5, positions="rotary")


def test_registry_round_trips_every_config():
    for arch, config in (("rnn", RNNConfig(vocab_size=9, cell="gru")),
                         ("cnn", CNNConfig(vocab_size=9, kernel_sizes=(2, 3))),
                         ("transformer", TransformerConfig(vocab_size=9))):
        again = config_from_dict(arch, config.to_dict())
        assert again == config
        assert type(build_classifier(again)).__name__ == {
            "rnn": "RNNClassifier", "cnn": "CNNClassifier",
            "transformer": "TransformerClassifier"}[arch]


def test_sinusoidal_positions_are_distinct_and_bounded():
    table = sinusoidal_positions(50, 8)
    assert table.shape == (50, 8) and table.abs().max() <= 1.0
    assert torch.cdist(table, table).add(torch.eye(50)).min() > 1e-3  # no two rows alike


def test_static_channel_stays_while_the_tuned_one_moves():
    emb = WordEmbedding(6, 3, padding_idx=0, static_channel=True)
    vecs = torch.randn(6, 3)
    emb.load_vectors(vecs)
    opt = torch.optim.SGD(emb.parameters(), lr=1.0)
    emb(torch.tensor([[1, 2, 0]])).sum().backward()
    opt.step()
    assert not torch.equal(emb.weight.data[1], vecs[1])
    torch.testing.assert_close(emb.static, vecs)
    assert "static" in emb.state_dict() and len(list(emb.parameters())) == 1


def test_word_dropout_rate_and_padding():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, 50, (200, 30), generator=g)
    ids[:, 20:] = 0
    out = drop_words(ids, 0.25, unk_id=1, pad_id=0, generator=g)
    real = ids != 0
    assert (out[~real] == 0).all()
    rate = (out[real] == 1).float().mean().item()
    assert 0.22 < rate < 0.28                        # 4,000 tokens: 0.25 +- 3 standard errors
    assert torch.equal(out[real & (out != 1)], ids[real & (out != 1)])
    assert drop_words(ids, 0.0, 1, 0) is ids


@pytest.mark.parametrize("model", ["cnn", "transformer"])
def test_training_loss_falls_on_real_sentences(pang_lee_split, model):
    (texts, labels), _ = pang_lee_split
    kw = dict(SMALL, model=model, word_dropout=0.0, dropout=0.0)
    if model == "transformer":
        kw.update(hidden_size=16, num_heads=2, batch_size=16, epochs=10)
    clf = TextClassifier(**kw).fit(texts, labels)
    h = clf.history_
    assert h[-1]["train_loss"] < 0.5 * h[0]["train_loss"]
    assert clf.evaluate(texts, labels)["accuracy"] > 0.9        # 160 sentences: memorised


@pytest.mark.parametrize("model, extra", [
    ("cnn", dict(multichannel=True, pretrained="glove-test")),
    ("transformer", dict(pooling="cls", positions="sinusoidal", num_heads=2)),
])
def test_save_load_round_trip_and_seeding(pang_lee_split, tmp_path, model, extra):
    train, valid = pang_lee_split
    kw = dict(SMALL, model=model, epochs=2, **extra)
    a = TextClassifier(**kw, seed=1).fit(*train, valid=valid)
    b = TextClassifier(**kw, seed=1).fit(*train, valid=valid)
    c = TextClassifier(**kw, seed=2).fit(*train, valid=valid)
    sa, sb, sc = (x.model_.state_dict() for x in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    from dlcourse.engine.persist import read_manifest

    a.save(tmp_path / "m")
    state = read_manifest(tmp_path / "m" / "model.safetensors")["state"]
    assert state["architecture"] == model
    loaded = TextClassifier.load(tmp_path / "m", device="cpu")
    assert type(loaded.model_) is type(a.model_) and loaded.model_config_ == a.model_config_
    np.testing.assert_allclose(loaded.predict_proba(valid[0]), a.predict_proba(valid[0]),
                               rtol=1e-5, atol=1e-6)
    assert loaded.get_params()["model"] == model


def test_a_model_pt_of_the_old_layout_is_refused_with_the_fix(tiny_fitted, tmp_path):
    # models saved before model.safetensors must be trained again (the README says so)
    from dlcourse.engine import save_checkpoint

    save_checkpoint(tmp_path / "old" / "model.pt", {"lesson": "classify", "model": {}})
    with pytest.raises(DlcourseError, match="model.safetensors does not exist; train a model"):
        TextClassifier.load(tmp_path / "old", device="cpu")


def test_model_defaults_and_bad_combinations(pang_lee, tiny):
    texts, labels = pang_lee
    clf = TextClassifier(**dict(SMALL, hidden_size=None, epochs=1)).fit(texts, labels)
    assert clf.model_config_.num_filters == 100 and clf.model_config_.dropout == 0.5
    assert clf.model_config_.kernel_sizes == (3, 4, 5)
    with pytest.raises(ValueError, match="multichannel applies to the cnn and transformer"):
        TextClassifier(**dict(tiny, multichannel=True)).fit(texts, labels)
    with pytest.raises(ValueError, match="word_dropout"):
        TextClassifier(**dict(tiny, word_dropout=1.0)).fit(texts, labels)
    with pytest.raises(ValueError, match="unknown schedule .step.; choose one of linear, cosine"):
        TextClassifier(**dict(tiny, schedule="step")).fit(texts, labels)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_schedules_decay_to_zero(pang_lee, tiny, schedule):
    texts, labels = pang_lee
    clf = TextClassifier(**dict(tiny, epochs=3, schedule=schedule)).fit(texts, labels)
    lrs = [h["lr"] for h in clf.history_]           # after each epoch
    assert lrs[0] < tiny["lr"] and lrs == sorted(lrs, reverse=True) and lrs[-1] < 1e-9


@pytest.mark.parametrize("model", ["cnn", "transformer", "gru"])
@pytest.mark.parametrize("freeze", [False, True])
def test_adversarial_loss_raises_the_loss_and_leaves_padding(model, freeze):
    from dlcourse.classify.models import model_config
    from dlcourse.classify.training import adversarial_loss

    torch.manual_seed(0)
    m = build_classifier(model_config(model, vocab_size=30, embed_dim=8, hidden_size=8,
                                      num_heads=2, dropout=0.0, freeze_embeddings=freeze))
    ids = torch.randint(2, 30, (6, 5))
    ids[3:, 3:] = 0
    lengths = (ids != 0).sum(1)
    y = torch.tensor([0, 1, 0, 1, 1, 0])

    def loss_fn(logits):
        return classification_loss(logits, y)

    clean = loss_fn(m(ids, lengths))
    torch.testing.assert_close(adversarial_loss(m, ids, lengths, loss_fn, 0.0), clean)
    both = adversarial_loss(m, ids, lengths, loss_fn, 1.0)
    assert both > clean                       # the perturbed half is worse: (clean + adv) / 2
    # what the layer after the embedding reads: the clean vectors, then the perturbed ones
    after = {"cnn": "convs.0", "transformer": "project", "gru": "embed_dropout"}[model]
    after = m.get_submodule(after)
    seen = []
    hook = after.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    try:
        adversarial_loss(m, ids, lengths, loss_fn, 1.0)
    finally:
        hook.remove()
    if model == "cnn":
        seen = [x.transpose(1, 2) for x in seen]                     # (B, E, T) -> (B, T, E)
    # each sentence moved by 1.0, its padding not at all
    moved = seen[1] - seen[0]                                        # (B, T, E)
    torch.testing.assert_close(moved.flatten(1).norm(dim=1), torch.ones(6))
    assert moved[3:, 3:].abs().max() == 0
    both.backward()
    assert all(p.grad is not None for p in m.parameters() if p.requires_grad)


def test_fit_time_word2vec_is_reproducible_and_concatenates(pang_lee):
    from dlcourse.classify.pretrained import sources, train_word2vec, vocabulary_vectors
    from dlcourse.text import Vocab, get_tokenizer

    texts, _ = pang_lee
    tokens = get_tokenizer("basic_english").batch(texts)
    words, a = train_word2vec(tokens, 12, seed=0)
    _, b = train_word2vec(tokens, 12, seed=0)
    _, c = train_word2vec(tokens, 12, seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)       # workers=1: bit-identical
    assert a.shape == (len(words), 12) and "the" in words
    assert sources("glove-test+word2vec") == ["glove-test", "word2vec"]
    vocab = Vocab.build(tokens, specials=("<pad>", "<unk>"))
    itos, matrix, cov = vocabulary_vectors("glove-test+word2vec", tokens, vocab.itos, dim=12,
                                           pad_id=0, extra_words=76)
    assert matrix.shape == (len(itos), 50 + 12)
    assert len(itos) > len(vocab.itos) and itos[:len(vocab.itos)] == vocab.itos
    np.testing.assert_array_equal(matrix[vocab["the"], 50:], a[words.index("the")])
    assert cov["vocab_size"] == len(vocab.itos) and not matrix[0].any()


def test_estimator_default_vectors_without_pretrained(pang_lee):
    texts, labels = pang_lee
    kw = dict(SMALL, pretrained="word2vec", embed_dim=12, epochs=1)
    clf = TextClassifier(**kw).fit(texts, labels)
    from collections import Counter

    counts = Counter(t for tokens in clf.tokenizer_.batch(texts) for t in tokens)
    assert clf.model_config_.embed_dim == 12
    assert clf.coverage_["found"] == sum(n >= 2 for n in counts.values())  # min_count 2
    again = TextClassifier(**kw).fit(texts, labels)
    a, b = clf.model_.state_dict(), again.model_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("model", ["cnn", "lstm"])
def test_fixed_rows_train_like_a_full_table(model):
    # rows no training batch holds get no gradient, so keeping them out of the optimizer
    # (trained_rows) must train exactly the same model, only faster
    from dlcourse.classify.models import model_config

    g = torch.Generator().manual_seed(0)
    vectors = torch.randn(40, 6, generator=g)
    ids = torch.randint(1, 25, (16, 7), generator=g)                 # ids < 25: seen rows
    y = torch.randint(0, 2, (16,), generator=g)
    lengths = torch.full((16,), 7)
    tables, start = [], None
    for rows in (None, 25):
        m = build_classifier(model_config(model, vocab_size=40, embed_dim=6, hidden_size=8,
                                          dropout=0.0, trained_rows=rows))
        m.load_vectors(vectors)
        layers = {k: v.clone() for k, v in m.state_dict().items()
                  if not k.startswith("embedding.")}
        start = start or layers
        m.load_state_dict(start, strict=False)                      # the same initial layers
        opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=0.05)
        for _ in range(5):
            loss = classification_loss(m(ids, lengths), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        tables.append((m.embedding.table().detach().clone(), m(ids, lengths).detach()))
    assert tables[1][0].shape == (40, 6)
    torch.testing.assert_close(tables[0][0], tables[1][0])
    torch.testing.assert_close(tables[0][1], tables[1][1])
    assert not torch.equal(tables[0][0][:25], vectors[:25])          # the seen rows moved
    torch.testing.assert_close(tables[1][0][25:], vectors[25:])      # the others did not


@pytest.mark.parametrize("model", ["cnn", "gru"])
def test_adversarial_gradient_is_the_mean_of_clean_and_perturbed(model):
    # against the plain way: (loss + loss on the shifted vectors) / 2 through one graph
    from dlcourse.classify.models import model_config
    from dlcourse.classify.training import adversarial_loss

    torch.manual_seed(0)
    m = build_classifier(model_config(model, vocab_size=30, embed_dim=8, hidden_size=8,
                                      dropout=0.0))
    ids = torch.randint(2, 30, (6, 5))
    ids[3:, 3:] = 0
    lengths = (ids != 0).sum(1)
    y = torch.tensor([0, 1, 0, 1, 1, 0])

    def loss_fn(logits):
        return classification_loss(logits, y)

    ours = adversarial_loss(m, ids, lengths, loss_fn, 1.0)
    ours.backward()
    got = {n: p.grad.clone() for n, p in m.named_parameters()}
    m.zero_grad()
    seen = []
    hook = m.embedding.register_forward_hook(lambda mod, a, out: seen.append(out) or out)
    clean = loss_fn(m(ids, lengths))
    hook.remove()
    (g,) = torch.autograd.grad(clean, seen[0], retain_graph=True)
    g = g * (ids != 0).unsqueeze(-1)
    shift = (g / g.flatten(1).norm(dim=1)[:, None, None]).detach()
    hook = m.embedding.register_forward_hook(lambda mod, a, out: out + shift)
    adv = loss_fn(m(ids, lengths))
    hook.remove()
    reference = 0.5 * (clean + adv)
    reference.backward()
    torch.testing.assert_close(ours, reference)
    for n, p in m.named_parameters():
        torch.testing.assert_close(got[n], p.grad, rtol=1e-5, atol=1e-6)
