"""Stream batching, the two models and the Kneser-Ney bigram: shapes and properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.lm import (
    BPTTBatches,
    EmbeddingModel,
    KneserNeyBigram,
    LSTMModel,
    batchify,
    build_model,
    detach_hidden,
    stream_loss,
    stream_totals,
)


def test_batchify_cuts_contiguous_streams():
    data = batchify(torch.arange(23), 4)
    assert data.shape == (4, 5)
    assert data[1].tolist() == [5, 6, 7, 8, 9]  # row b = the b-th consecutive chunk


def test_bptt_windows_cover_each_stream_in_order_with_shifted_targets():
    ids = torch.arange(103)
    batches = BPTTBatches(ids, batch_size=4, bptt=7)
    xs, ys = zip(*batches)
    assert len(xs) == len(batches) == 4  # 25 columns -> 24 predictions -> windows 7+7+7+3
    assert [x.shape[1] for x in xs] == [7, 7, 7, 3]
    stream_x, stream_y = torch.cat(xs, dim=1), torch.cat(ys, dim=1)
    assert torch.equal(stream_x, batches.data[:, :-1])
    assert torch.equal(stream_y, batches.data[:, 1:])
    assert batches.num_tokens == stream_y.numel()


def test_rank_shards_split_the_streams_and_the_loss_totals():
    ids = torch.arange(103)
    whole = BPTTBatches(ids, batch_size=4, bptt=7)
    shards = [BPTTBatches(ids, batch_size=4, bptt=7, rank=r, world_size=2) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == len(whole)  # same windows on every rank
    for (x, y), (x0, y0), (x1, y1) in zip(whole, *shards):
        assert torch.equal(x[0::2], x0) and torch.equal(x[1::2], x1)  # rows r::world
        assert torch.equal(y[0::2], y0) and torch.equal(y[1::2], y1)
    with pytest.raises(ValueError, match="rank"):
        BPTTBatches(ids, 4, 7, rank=2, world_size=2)
    torch.manual_seed(0)
    model = LSTMModel(vocab_size=103, embed_dim=8, hidden_dim=8, num_layers=1, dropout=0.0)
    parts = [stream_totals(model, ids, 3, 5, rank=r, world_size=2) for r in (0, 1)]
    assert sum(n for _, n in parts) == stream_totals(model, ids, 3, 5)[1]
    assert sum(t for t, _ in parts) / sum(n for _, n in parts) == pytest.approx(
        stream_loss(model, ids, 3, 5), rel=1e-6)
    assert stream_totals(model, ids, 3, 5, rank=3, world_size=4) == (0.0, 0)  # no rows left


def test_shuffled_windows_are_a_permutation():
    plain = [x[0, 0].item() for x, _ in BPTTBatches(torch.arange(400), 2, 9)]
    torch.manual_seed(1)
    mixed = [x[0, 0].item() for x, _ in BPTTBatches(torch.arange(400), 2, 9, shuffle=True)]
    assert sorted(mixed) == plain and mixed != plain


@pytest.mark.parametrize("kwargs", [dict(batch_size=0, bptt=5), dict(batch_size=2, bptt=0),
                                    dict(batch_size=50, bptt=5)])
def test_bad_batching_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        BPTTBatches(torch.arange(60), **kwargs)


def test_models_return_logits_over_the_vocabulary():
    x = torch.randint(0, 40, (3, 6))
    logits, hidden = EmbeddingModel(40, 8)(x)
    assert logits.shape == (3, 6, 40) and hidden is None
    logits, (h, c) = LSTMModel(40, 12, 12, num_layers=2)(x)
    assert logits.shape == (3, 6, 40) and h.shape == c.shape == (2, 3, 12)


def test_weight_tying_shares_one_tensor_and_needs_equal_sizes():
    model = LSTMModel(50, 16, 16, tie_weights=True)
    assert model.decoder.weight is model.encoder.weight
    untied = LSTMModel(50, 16, 16, tie_weights=False)
    assert sum(p.numel() for p in model.parameters()) + 50 * 16 == sum(
        p.numel() for p in untied.parameters())
    with pytest.raises(ValueError, match="embed_dim == hidden_dim"):
        LSTMModel(50, 16, 24, tie_weights=True)
    with pytest.raises(ValueError, match="choose one of embedding, lstm"):
        build_model("gru", 50)
    # a setting left out takes the model's default (it was a bare KeyError)
    assert build_model("embedding", 50).embedding_table.shape == (50, 100)
    lstm = build_model("lstm", 50, embed_dim=16, hidden_dim=16, dropout=0.1)
    assert isinstance(lstm, LSTMModel) and lstm.decoder.out_features == 50
    with pytest.raises(ValueError, match="build_model takes no hiden_dim"):
        build_model("lstm", 50, hiden_dim=16)


def test_carried_hidden_state_equals_one_long_pass():
    torch.manual_seed(0)
    model = LSTMModel(30, 8, 8, num_layers=2, dropout=0.0).eval()
    x = torch.randint(0, 30, (2, 12))
    full, _ = model(x)
    first, hidden = model(x[:, :5])
    second, _ = model(x[:, 5:], detach_hidden(hidden))
    assert torch.allclose(torch.cat([first, second], dim=1), full, atol=1e-6)
    assert not detach_hidden(hidden)[0].requires_grad


@pytest.mark.parametrize("ids, match", [
    (torch.tensor([0, 1, 7, 2]), r"token ids must be in \[0, 5\), got 0..7"),
    (torch.tensor([0, -1, 2]), r"in \[0, 5\), got -1..2"),
    (torch.tensor([0.0, 1.0, 2.0]), "token ids must be integers, got torch.float32"),
    (torch.tensor([3]), "need at least two token ids, got 1"),
])
def test_kneser_ney_refuses_ids_it_cannot_count(ids, match):
    with pytest.raises(ValueError, match=match):
        KneserNeyBigram(5).fit(ids)
    with pytest.raises(ValueError, match="not fitted yet"):  # NotFittedError, a ValueError
        KneserNeyBigram(5).perplexity(torch.tensor([0, 1]))
    fitted = KneserNeyBigram(5).fit(torch.tensor([0, 1, 2, 3, 4, 1]))
    with pytest.raises(ValueError, match=match):
        fitted.perplexity(ids)


def test_kneser_ney_follows_the_estimator_contract(tmp_path, lee_corpus, python_without_torch):
    """Settings checked at fit, V from the data when not given, one model file without torch."""
    from dlcourse.errors import ConfigError

    assert KneserNeyBigram(0).vocab_size == 0  # __init__ only stores
    with pytest.raises(ConfigError, match="vocab_size must be >= 1"):
        KneserNeyBigram(0).fit(lee_corpus.train)
    with pytest.raises(ConfigError, match="discount must be < 1"):
        KneserNeyBigram(discount=1.0).fit(lee_corpus.train)
    kn = KneserNeyBigram().fit(lee_corpus.train)
    assert kn.vocab_size_ == int(lee_corpus.train.max()) + 1 and repr(kn) == "KneserNeyBigram()"
    kn.save(tmp_path / "kn")
    out = python_without_torch("import numpy as np; from dlcourse.lm.ngram import KneserNeyBigram\n"
                               f"kn = KneserNeyBigram.load({str(tmp_path / 'kn')!r})\n"
                               "print(repr(kn.perplexity(np.array([3, 4, 5, 6]))))")
    assert float(out) == kn.perplexity(np.array([3, 4, 5, 6]))


def test_kneser_ney_distributions_sum_to_one_and_beat_unigram_on_real_text(lee_corpus):
    v = len(lee_corpus.itos)
    kn = KneserNeyBigram(v).fit(lee_corpus.train)
    assert 0 < kn.discount_ < 1
    seen = int(lee_corpus.train[0])
    never = next(i for i in range(v) if kn.context_count_[i] == 0)  # e.g. <pad>
    for prev in (seen, never):
        assert kn.prob(prev).sum() == pytest.approx(1.0, abs=1e-9)
    counts = np.bincount(lee_corpus.train.numpy(), minlength=v) + 1.0
    test = lee_corpus.test.numpy()
    unigram_ppl = float(np.exp(-np.log(counts[test] / counts.sum()).mean()))
    bigram_ppl = kn.perplexity(lee_corpus.test)
    assert kn.perplexity(lee_corpus.train) < bigram_ppl < unigram_ppl < v


def test_corpus_from_splits_takes_lists_of_lines_only():
    """A split given as one string was read a character a line (a 5-word 'vocabulary', no
    error); a pandas Series is a list of lines; a None line is named."""
    import pandas as pd

    from dlcourse.lm.corpus import corpus_from_splits

    with pytest.raises(ValueError, match="the train split must be a list of lines, got one"):
        corpus_from_splits("x", "the cat sat", ["a dog"], ["the end"])
    with pytest.raises(ValueError, match="line 1 of the valid split is NoneType None"):
        corpus_from_splits("x", ["the cat sat"], ["a dog", None], ["the end"])
    corpus = corpus_from_splits("x", pd.Series(["the cat sat", "the dog sat"]), ("a cat",),
                                iter(["the end"]), min_freq=1)
    assert corpus.train.numel() == 8 and {"cat", "dog", "sat"} <= set(corpus.itos)


def test_the_stream_functions_take_a_device_name():
    from dlcourse.lm import perplexity

    torch.manual_seed(0)
    model, ids = EmbeddingModel(20, 4), torch.randint(0, 20, (200,))
    # "cpu" failed at device.type: only a torch.device was read
    assert perplexity(model, ids, device="cpu") == perplexity(model, ids,
                                                               device=torch.device("cpu"))
