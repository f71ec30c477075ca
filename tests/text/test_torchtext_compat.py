"""torchtext's build_vocab_from_iterator order and Vocab calls, as its code documents them."""

from __future__ import annotations

import pytest

from dlcourse.errors import InputError
from dlcourse.text import Vocab, build_vocab_from_iterator


def test_max_tokens_cuts_ties_alphabetically():
    # torchtext sorts by (-count, token) and then keeps max_tokens - len(specials) of them
    assert build_vocab_from_iterator([["b", "a"]], max_tokens=1).get_itos() == ["a"]
    v = build_vocab_from_iterator([["b", "a", "c", "c"]], specials=["<unk>", "<pad>"],
                                  special_first=False, max_tokens=4)
    assert v.get_itos() == ["c", "a", "<unk>", "<pad>"]
    # a special seen in the text takes a place in the cut, as in torchtext
    v = build_vocab_from_iterator([["b", "a", "<unk>", "<unk>"]], specials=["<unk>"],
                                  max_tokens=2)
    assert v.get_itos() == ["<unk>"]


def test_a_string_is_not_a_token_list():
    v = build_vocab_from_iterator([["h", "hello"]], specials=["<unk>"])
    v.set_default_index(v["<unk>"])
    with pytest.raises(InputError, match="tokenize it first"):
        v("hello")
    with pytest.raises(InputError, match="tokenize it first"):
        v.lookup_indices("hello")
    assert v(["hello", "zz"]) == [v["hello"], 0]


def test_unknown_token_names_set_default_index(tmp_path):
    v = build_vocab_from_iterator([["a"]], specials=["<unk>"])
    with pytest.raises(KeyError, match=r"set_default_index"):
        v["zz"]
    v.set_default_index(v["<unk>"])
    loaded = Vocab.load(v.save(tmp_path / "v.json"))
    assert loaded.get_default_index() == 0 and loaded(["zz"]) == [0]
