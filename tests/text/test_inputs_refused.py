"""pad_sequences and Vocab refuse what is not ids or tokens with our words, not torch's or
Python's, and no longer accept a string as a token list."""

from __future__ import annotations

import pytest
import torch

from dlcourse.errors import InputError
from dlcourse.text import Vocab, pad_sequences


@pytest.mark.parametrize("seqs, message", [
    ([["a", "b"], ["c"]], r"pad_sequences takes id sequences, got the token 'a'; map tokens to "
                          r"ids first \(vocab.lookup\(tokens\)\)"),  # torch: too many dimensions
    (None, r"pad_sequences takes a list of id sequences, got NoneType"),
    (5, r"pad_sequences takes a list of id sequences, got int"),
    ([5, 6], r"got 5 where a sequence goes"),
    ([[1, [2]], [3]], r"token ids must be whole numbers that fit int64"),
    ([[2 ** 63], [1]], r"token ids must be whole numbers that fit int64"),
])
def test_pad_sequences_refusals(seqs, message):
    with pytest.raises(InputError, match=message):
        pad_sequences(seqs)


def test_pad_sequences_still_pads_ids():
    padded, lengths = pad_sequences([[1, 2], torch.tensor([3]).tolist()])
    assert padded.tolist() == [[1, 2], [3, 0]] and lengths.tolist() == [2, 1]


@pytest.mark.parametrize("make, message", [
    (lambda: Vocab("abc"), r"itos must be a list of tokens, got one string"),  # was a, b, c
    (lambda: Vocab(None), r"itos must be a list of tokens, got NoneType"),
    (lambda: Vocab(["a", 1]), r"tokens must be strings, found int 1 in itos"),
    (lambda: Vocab.build(None), r"Vocab.build takes an iterable of token lists, got NoneType"),
    (lambda: Vocab.build([[None, "a"], ["b"]]), r"found NoneType None in the token lists"),
    (lambda: Vocab.build(torch.tensor([[1, 2]])), r"found Tensor tensor\(1\) in the token"),
])
def test_vocab_refusals(make, message):
    with pytest.raises(InputError, match=message):
        make()
