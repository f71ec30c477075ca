"""The nn.Modules: shapes, packing ignores padding, pooling choices, losses, learning."""

import pytest
import torch

from dlcourse.classify.models import (
    RNNClassifier,
    RNNConfig,
    classification_loss,
    logits_to_proba,
)


def _model(**kw):
    torch.manual_seed(0)
    cfg = dict(vocab_size=20, embed_dim=6, hidden_size=8, dropout=0.0)
    cfg.update(kw)
    return RNNClassifier(RNNConfig(**cfg)).eval()


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_logits(cell, pooling, bidirectional):
    m = _model(cell=cell, pooling=pooling, bidirectional=bidirectional, num_classes=3)
    ids = torch.tensor([[2, 3, 4, 5], [6, 7, 0, 0]])
    lengths = torch.tensor([4, 2])
    both = m(ids, lengths)
    assert both.shape == (2, 3)
    alone = m(ids[1:, :2], lengths[1:])  # the short item without its padding
    torch.testing.assert_close(both[1:], alone, rtol=1e-5, atol=1e-6)


def test_two_classes_give_one_logit_and_probabilities_sum_to_one():
    m = _model()
    logits = m(torch.tensor([[2, 3], [4, 0]]), torch.tensor([2, 1]))
    assert logits.shape == (2,)
    p = logits_to_proba(logits)
    torch.testing.assert_close(p.sum(1), torch.ones(2))
    torch.testing.assert_close(p[:, 1], torch.sigmoid(logits))


def test_bad_config_names_choices():
    with pytest.raises(ValueError, match="choose one of rnn, gru, lstm"):
        RNNConfig(vocab_size=5, cell="transformer")
    with pytest.raises(ValueError, match="choose one of last, mean, max"):
        RNNConfig(vocab_size=5, pooling="sum")
    with pytest.raises(ValueError, match="at least two"):
        RNNConfig(vocab_size=5, num_classes=1)


def test_frozen_embedding_stays_and_vectors_load():
    m = _model(freeze_embeddings=True)
    vecs = torch.randn(20, 6)
    m.load_vectors(vecs)
    torch.testing.assert_close(m.embedding.weight, vecs)
    assert not m.embedding.weight.requires_grad
    with pytest.raises(ValueError, match="shape"):
        m.load_vectors(torch.zeros(3, 6))


def test_weighted_losses_match_definitions():
    logits = torch.tensor([0.3, -1.2, 2.0])
    y = torch.tensor([1, 0, 1])
    plain = classification_loss(logits, y)
    torch.testing.assert_close(
        plain, torch.nn.functional.binary_cross_entropy_with_logits(logits, y.float()))
    torch.testing.assert_close(classification_loss(logits, y, torch.ones(2)), plain)
    # weight on the negative class only -> the loss of the single negative item
    w = classification_loss(logits, y, torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(
        w, torch.nn.functional.binary_cross_entropy_with_logits(logits[1], y[1].float()))
    multi = torch.randn(4, 3)
    t = torch.tensor([0, 2, 1, 2])
    torch.testing.assert_close(classification_loss(multi, t, torch.ones(3)),
                               torch.nn.functional.cross_entropy(multi, t))


def test_soft_targets_weigh_items_as_index_targets_do():
    # distillation's probability targets: a one-hot row is its index target, with or without
    # class weights, for one logit and for C logits alike
    torch.manual_seed(0)
    weights = torch.tensor([1.0, 3.0, 0.5])
    multi, t = torch.randn(6, 3), torch.tensor([0, 2, 1, 2, 1, 0])
    onehot = torch.nn.functional.one_hot(t, 3).float()
    for w in (None, weights):
        torch.testing.assert_close(classification_loss(multi, onehot, w),
                                   classification_loss(multi, t, w))
    binary, yb = torch.randn(5), torch.tensor([1, 0, 0, 1, 1])
    torch.testing.assert_close(classification_loss(binary, yb.float(), weights[:2]),
                               classification_loss(binary, yb, weights[:2]))
    # a mixed row weighs its item by the expected class weight
    soft = torch.tensor([[0.5, 0.5, 0.0]])
    ce = -(soft * torch.log_softmax(multi[:1], 1)).sum()
    torch.testing.assert_close(classification_loss(multi[:1], soft, weights), ce)


def test_lesson_rnn_learns_a_keyword_rule():
    # label = whether token 3 occurs anywhere; the model must carry it through time
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(4, 20, (256, 7), generator=g)
    y = torch.randint(0, 2, (256,), generator=g)
    pos = torch.randint(0, 7, (256,), generator=g)
    ids[y == 1, pos[y == 1]] = 3
    lengths = torch.full((256,), 7)
    m = _model(cell="gru", num_layers=1, bidirectional=False, pooling="max").train()
    opt = torch.optim.Adam(m.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        loss = classification_loss(m(ids, lengths), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
