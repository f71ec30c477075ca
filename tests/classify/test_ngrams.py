"""The n-gram score beside the networks (``ngrams``): what it sums, padding, its zero start,
checkpoints and the defaults of each model family."""

import numpy as np
import pytest
import torch

from dlcourse.classify import TextClassifier
from dlcourse.classify.cnn import CNNClassifier, CNNConfig
from dlcourse.classify.layers import NgramScore
from dlcourse.classify.models import RNNClassifier, RNNConfig, config_from_dict
from dlcourse.classify.transformer import TransformerClassifier, TransformerConfig

SMALL = dict(model="cnn", embed_dim=16, hidden_size=8, epochs=3, batch_size=32, lr=0.01,
             pretrained=None, pretrained_vocab=0, adversarial=0.0, device="cpu")
IDS = torch.tensor([[2, 3, 4, 5, 6, 7], [6, 7, 0, 0, 0, 0], [9, 0, 0, 0, 0, 0]])
LENGTHS = torch.tensor([6, 2, 1])


def _random_score(vocab=20, outputs=1, ngrams=2, buckets=16):
    torch.manual_seed(0)
    score = NgramScore(vocab, outputs, ngrams, buckets)
    torch.nn.init.normal_(score.weight)
    return score


def test_the_score_is_the_sum_of_its_words_and_hashed_word_pairs():
    s = _random_score(ngrams=3)
    w, v, p = s.weight[:, 0].detach(), 20, 1_000_003
    pair = lambda a, b: v + (a * p + b) % 16  # noqa: E731
    triple = lambda a, b, c: v + (((a * p + b) % 16) * p + c) % 16  # noqa: E731
    want = w[6] + w[7] + w[pair(6, 7)]  # the second text: two words, one pair, no triple
    assert torch.allclose(s(IDS, LENGTHS)[1, 0], want)
    first = (w[2:8].sum() + sum(w[pair(a, a + 1)] for a in range(2, 7))
             + sum(w[triple(a, a + 1, a + 2)] for a in range(2, 6)))
    assert torch.allclose(s(IDS, LENGTHS)[0, 0], first)
    assert torch.allclose(s(IDS, LENGTHS)[2, 0], w[9])  # one word: its row alone


def test_padding_never_counts_and_words_only_has_no_table_for_pairs():
    s = _random_score(outputs=3)
    both = s(IDS, LENGTHS)
    for i, n in ((1, 2), (2, 1)):
        torch.testing.assert_close(both[i], s(IDS[i:i + 1, :n], LENGTHS[i:i + 1])[0])
    # calling the padded positions words changes the score: the mask is what keeps them out
    assert not torch.allclose(both[1], s(IDS[1:2], torch.tensor([6]))[0])
    assert NgramScore(20, 1, ngrams=1).weight.shape == (20, 1)


@pytest.mark.parametrize("make", [
    lambda **kw: CNNClassifier(CNNConfig(vocab_size=20, embed_dim=6, num_filters=5,
                                         dropout=0.0, **kw)),
    lambda **kw: TransformerClassifier(TransformerConfig(vocab_size=20, embed_dim=6, d_model=8,
                                                         num_heads=2, dropout=0.0, **kw)),
    lambda **kw: RNNClassifier(RNNConfig(vocab_size=20, embed_dim=6, hidden_size=5,
                                         dropout=0.0, **kw)),
])
def test_each_model_starts_as_without_it_and_adds_it_padding_free(make):
    torch.manual_seed(0)
    plain = make(num_classes=3).eval()
    torch.manual_seed(0)
    wide = make(num_classes=3, ngrams=2, ngram_buckets=16).eval()
    # the table starts at zero and draws nothing from the generator: the same network
    torch.testing.assert_close(plain(IDS, LENGTHS), wide(IDS, LENGTHS))
    with torch.no_grad():
        torch.nn.init.normal_(wide.ngram_score.weight)
    out = wide(IDS, LENGTHS)
    torch.testing.assert_close(out - plain(IDS, LENGTHS), wide.ngram_score(IDS, LENGTHS))
    torch.testing.assert_close(out[1], wide(IDS[1:2, :2], LENGTHS[1:2])[0])


def test_configs_refuse_negative_ngrams_and_old_checkpoints_load_without_it():
    with pytest.raises(ValueError, match="ngrams must be >= 0, got -1"):
        CNNConfig(vocab_size=5, ngrams=-1)
    old = CNNConfig(vocab_size=9).to_dict()
    del old["ngrams"], old["ngram_buckets"]  # a model saved before the n-gram score
    assert config_from_dict("cnn", old).ngrams == 0


def test_defaults_per_family_and_a_fit_saves_and_reloads_the_table(pang_lee_split, tmp_path):
    train, valid = pang_lee_split
    cnn = TextClassifier(**SMALL).fit(*train, valid=valid)  # the CNN's default: 2
    assert cnn.model_config_.ngrams == 2
    cnn.save(tmp_path / "m")
    again = TextClassifier.load(tmp_path / "m", device="cpu")
    assert again.model_config_.ngrams == 2
    np.testing.assert_allclose(again.predict_proba(valid[0]), cnn.predict_proba(valid[0]),
                               rtol=1e-5, atol=1e-6)
    # the table learned the training texts' classes by itself: with the network's output
    # layer zeroed, the n-gram score alone still answers
    with torch.no_grad():
        again.model_.head.weight.zero_()
        again.model_.head.bias.zero_()
    assert again.evaluate(*train)["accuracy"] > 0.8
    gru = TextClassifier(**dict(SMALL, model="gru", epochs=1)).fit(*train)
    assert gru.model_config_.ngrams == 0 and gru.model_.ngram_score is None
    off = TextClassifier(**dict(SMALL, ngrams=0, epochs=1)).fit(*train)
    assert off.model_.ngram_score is None
