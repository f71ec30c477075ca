"""one_hot, padding, masks, PadCollate, BucketBatchSampler and packed sequences."""

import random

import pytest
import torch
from torch.nn.utils.rnn import pad_packed_sequence
from torch.utils.data import DataLoader

from dlcourse.text import (
    BucketBatchSampler,
    PadCollate,
    Vocab,
    lengths_to_mask,
    one_hot,
    pack_padded,
    pad_sequences,
    padding_fraction,
)


def test_one_hot_lesson_example_dense_and_sparse():
    v = Vocab.build([["apple", "banana", "orange"]], specials=(), unk_token=None, pad_token=None)
    ids = v.lookup(["apple", "banana", "orange"])
    dense = one_hot(ids, len(v))
    assert dense.dtype == torch.float32
    assert dense.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    sparse = one_hot(ids, len(v), sparse=True)
    assert sparse.is_sparse and sparse._nnz() == 3
    assert torch.equal(sparse.to_dense(), dense)
    ids = torch.randint(0, 50, (40,), generator=torch.Generator().manual_seed(0))
    assert torch.equal(one_hot(ids, 50, sparse=True).to_dense(), one_hot(ids, 50))
    assert torch.equal(one_hot(ids, 50).argmax(1), ids)
    assert one_hot(torch.zeros(2, 3, dtype=torch.long), 4).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="id 3 is outside 0..2"):
        one_hot([0, 3], 3)


def test_pad_sequences_sides_layouts_truncation():
    seqs = [[5, 6, 7], [8], torch.tensor([9, 10])]
    padded, lengths = pad_sequences(seqs, pad_id=-1)
    assert padded.tolist() == [[5, 6, 7], [8, -1, -1], [9, 10, -1]]
    assert lengths.tolist() == [3, 1, 2] and padded.dtype == lengths.dtype == torch.long
    left, _ = pad_sequences(seqs, side="left")
    assert left.tolist() == [[5, 6, 7], [0, 0, 8], [0, 9, 10]]
    tb, _ = pad_sequences(seqs, batch_first=False)
    assert tb.shape == (3, 3) and torch.equal(tb, pad_sequences(seqs)[0].t())
    cut, lengths = pad_sequences(seqs, max_len=2)
    assert cut.tolist() == [[5, 6], [8, 0], [9, 10]] and lengths.tolist() == [2, 1, 2]
    tensors = [torch.tensor([5, 6, 7]), torch.tensor([8]), torch.tensor([9, 10])]
    for kwargs in ({}, {"side": "left"}, {"max_len": 2}, {"batch_first": False}):
        assert torch.equal(pad_sequences(tensors, **kwargs)[0],
                           pad_sequences([t.tolist() for t in tensors], **kwargs)[0])
    with pytest.raises(ValueError, match="1-D"):
        pad_sequences([torch.zeros(2, 2, dtype=torch.long)])
    with pytest.raises(ValueError, match="got a string"):
        pad_sequences(["abc"])
    empty, lengths = pad_sequences([[], [1]])
    assert empty.tolist() == [[0], [1]] and lengths.tolist() == [0, 1]
    with pytest.raises(ValueError, match="choose one of right, left"):
        pad_sequences(seqs, side="middle")


def test_mask_marks_real_tokens():
    padded, lengths = pad_sequences([[1, 2, 3], [4]], pad_id=0)
    mask = lengths_to_mask(lengths)
    assert mask.tolist() == [[True, True, True], [True, False, False]]
    assert torch.equal(mask, padded != 0)
    left, lengths = pad_sequences([[1, 2, 3], [4]], side="left")
    assert torch.equal(lengths_to_mask(lengths, side="left"), left != 0)


def test_pad_collate_in_a_dataloader():
    data = [([1, 2, 3], 1), ([4], 0), ([5, 6], 1), ([7, 8, 9, 10], 0)]
    loader = DataLoader(data, batch_size=2, collate_fn=PadCollate(pad_id=0))
    (p1, l1, y1), (p2, l2, y2) = list(loader)
    assert p1.tolist() == [[1, 2, 3], [4, 0, 0]] and l1.tolist() == [3, 1]
    assert y1.tolist() == [1, 0] and y1.dtype == torch.long
    assert p2.shape == (2, 4) and y2.tolist() == [1, 0]
    bare = PadCollate(batch_first=False)([[1, 2], [3]])
    assert len(bare) == 2 and bare[0].shape == (2, 2)
    float_labels = PadCollate()([([1], 0.5), ([2], -1.0)])[2]
    assert float_labels.dtype == torch.float32
    with pytest.raises(ValueError, match="encode labels to ids first"):
        PadCollate()([([1], "pos")])


def _lengths(n=3000, seed=0):
    rng = random.Random(seed)
    return [max(1, int(rng.lognormvariate(3, 0.6))) for _ in range(n)]


def test_bucket_sampler_covers_everything_once_and_repeats_with_seed():
    lengths = _lengths()
    s = BucketBatchSampler(lengths, batch_size=32, seed=3)
    batches = list(s)
    assert len(batches) == len(s)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert batches == list(BucketBatchSampler(lengths, batch_size=32, seed=3))
    s.set_epoch(1)
    assert list(s) != batches  # a new shuffle each epoch
    # without set_epoch each pass draws the next epoch's order, as a DataLoader(shuffle=True)
    # does (it gave the same batches every epoch); set_epoch(e) gives epoch e's again
    passes = BucketBatchSampler(lengths, batch_size=32, seed=3)
    first, second = list(passes), list(passes)
    assert first == batches and second != first
    s.set_epoch(1)
    assert list(s) == second == list(s)  # numbered by the caller: repeatable (a resume)
    dropped = BucketBatchSampler(lengths, batch_size=32, drop_last=True, bucket_size=100)
    assert all(len(b) == 32 for b in dropped) and len(list(dropped)) == len(dropped)
    ordered = list(BucketBatchSampler(lengths, batch_size=32, shuffle=False))
    flat = [lengths[i] for b in ordered for i in b]
    assert flat == sorted(lengths) and len(ordered) == 94


def test_bucketing_pads_less_than_random_batches():
    lengths = _lengths()
    bucketed = list(BucketBatchSampler(lengths, batch_size=32))
    order = list(range(len(lengths)))
    random.Random(0).shuffle(order)
    random_batches = [order[i:i + 32] for i in range(0, len(order), 32)]
    frac_bucket = padding_fraction(bucketed, lengths)
    frac_random = padding_fraction(random_batches, lengths)
    assert frac_bucket < 0.05 < 0.3 < frac_random
    assert padding_fraction([[0, 1]], [3, 1]) == pytest.approx(1 / 3)


def test_bucket_sampler_in_dataloader():
    data = [(list(range(n)), n % 2) for n in _lengths(200)]
    sampler = BucketBatchSampler([len(x) for x, _ in data], batch_size=16, seed=0)
    loader = DataLoader(data, batch_sampler=sampler, collate_fn=PadCollate())
    seen = sum(len(y) for _, _, y in loader)
    assert seen == 200


def test_pack_padded_lstm_equals_per_sequence_run():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 5, batch_first=True)
    seqs = [torch.randn(n, 4) for n in (3, 5, 1)]
    lengths = torch.tensor([3, 5, 1])
    batch = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True)  # (B, T, 4)
    out, (h, _) = lstm(pack_padded(batch, lengths))
    out, out_lengths = pad_packed_sequence(out, batch_first=True)  # (B, T, 5)
    assert out_lengths.tolist() == [3, 5, 1]
    for i, s in enumerate(seqs):
        alone, (h_alone, _) = lstm(s[None])
        assert torch.allclose(out[i, : len(s)], alone[0], atol=1e-6)
        assert torch.allclose(h[0, i], h_alone[0, 0], atol=1e-6)  # last real step, not padding
    with pytest.raises(ValueError, match="every length >= 1"):
        pack_padded(batch, torch.tensor([3, 0, 1]))


def test_pad_collate_tells_a_pair_of_ids_from_an_id_list_and_label():
    assert PadCollate()([(4, 5), (6, 7)])[0].tolist() == [[4, 5], [6, 7]]  # a TypeError before
    padded, lengths, labels = PadCollate()([[[4, 5], 1], [[6], 0]])  # lists: labelled too
    assert padded.tolist() == [[4, 5], [6, 0]] and labels.tolist() == [1, 0]
    with pytest.raises(ValueError, match="token ids must be integers"):
        pad_sequences([[1.5, 2.5], [1.0]])  # read as 1, 2 and 1 before


def test_torchtext_shaped_items_and_one_hot_slips_are_named():
    from dlcourse.errors import InputError
    from dlcourse.text import TextTable, Vocab, one_hot
    from dlcourse.text.labels import LabelEncoder

    with pytest.raises(InputError, match=r"takes \(ids, label\) items; these look like "
                                         r"\(label, ids\)"):
        PadCollate(0)([(1, [1, 2]), (0, [3])])  # torchtext's datasets yield (label, text)
    with pytest.raises(InputError, match="one_hot takes token ids, got the token 'a'"):
        one_hot(["a"], 3)  # it named pad_sequences
    with pytest.raises(InputError, match="one_hot takes whole-number ids .* rectangular shape"):
        one_hot([[1, 2], [0]], 3)
    with pytest.raises(InputError, match="num_classes must be a whole number"):
        one_hot([1], 3.0)  # torch's own TypeError
    # a plain function as the tokenizer, as torchtext's are (AttributeError: no .batch)
    table = TextTable(["a b", "b c"], ["x", "y"])
    vocab = Vocab.build([["a", "b", "c"]])
    encoded = table.encode(str.split, vocab, LabelEncoder().fit(["x", "y"]))
    assert encoded == [(vocab.lookup(["a", "b"]), 0), (vocab.lookup(["b", "c"]), 1)]


def test_fixed_len_pads_and_cuts_every_row_as_torchtexts_fix_length():
    # max_len only cut: a batch of short texts stayed short (Field(fix_length) had no twin)
    from dlcourse.errors import InputError
    from dlcourse.text import pad_sequences

    padded, lengths = pad_sequences([[1], [2, 3, 4, 5, 6, 7]], fixed_len=5)
    assert padded.tolist() == [[1, 0, 0, 0, 0], [2, 3, 4, 5, 6]] and lengths.tolist() == [1, 5]
    assert pad_sequences([[1]], fixed_len=3, side="left")[0].tolist() == [[0, 0, 1]]
    batch = PadCollate(9, fixed_len=4)([([1, 2], 1), ([3], 0)])
    assert batch[0].tolist() == [[1, 2, 9, 9], [3, 9, 9, 9]] and batch[2].tolist() == [1, 0]
    with pytest.raises(InputError, match="fixed_len must be a whole number >= 1 or None"):
        pad_sequences([[1]], fixed_len=0)
