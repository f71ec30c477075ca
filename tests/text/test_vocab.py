"""Vocab: ordering rules, limits, unknown tokens, streaming builds and JSON round-trips."""

import json
from collections import Counter

import pytest
import torch

from dlcourse.errors import DlcourseError
from dlcourse.text import Vocab, get_tokenizer


def test_order_specials_then_frequency_then_first_occurrence():
    v = Vocab.build([["b", "a", "c"], ["a", "d", "c"], ["e"]])
    # a, c: 2 each (a first seen after b, but b has 1); b, d, e: 1 each in first-seen order
    assert v.itos == ["<pad>", "<unk>", "a", "c", "b", "d", "e"]
    assert v.freqs == [0, 0, 2, 2, 1, 1, 1]
    assert v.stoi == {t: i for i, t in enumerate(v.itos)}
    assert (v.pad_id, v.unk_id, len(v)) == (0, 1, 7)


def test_max_size_min_freq_and_specials():
    lists = [["x"] * 5 + ["y"] * 3 + ["z"] * 2 + ["w"], ["<eos>", "q"]]
    v = Vocab.build(lists, max_size=2, specials=("<pad>", "<unk>", "<bos>", "<eos>"))
    assert v.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "x", "y"]  # max_size excludes specials
    v = Vocab.build(lists, min_freq=2)
    assert v.itos == ["<pad>", "<unk>", "x", "y", "z"]
    v = Vocab.build(lists, specials=("[PAD]", "[UNK]"), unk_token="[UNK]", pad_token="[PAD]")
    assert (v.pad_id, v.unk_id, v["never-seen"]) == (0, 1, 1)
    no_unk = Vocab.build(lists, specials=("<pad>",))  # default role names: absent means none
    assert no_unk.unk_id is None and no_unk.pad_id == 0
    with pytest.raises(ValueError, match=r"unk_token '\[UNK\]' is not among specials"):
        Vocab.build(lists, specials=("<pad>",), unk_token="[UNK]")
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(lists, min_freq=0)


def test_lookup_unknown_and_membership():
    v = Vocab.build([["the", "cat", "the"]])
    assert v["the"] == 2 and v["dog"] == v.unk_id
    assert "cat" in v and "dog" not in v
    assert v.lookup(["the", "dog", "cat"]) == [2, 1, 3]
    assert v.lookup_tokens([2, 3]) == ["the", "cat"]
    assert v.lookup_tokens(torch.tensor([3, 0])) == ["cat", "<pad>"]
    with pytest.raises(ValueError, match="id 99 is out of range"):
        v.lookup_tokens([2, 99])
    strict = Vocab.build([["a"]], specials=())
    assert strict.itos == ["a"] and strict.unk_id is None and strict.pad_id is None
    with pytest.raises(DlcourseError, match="'b' is not in the vocabulary") as err:
        strict["b"]
    assert isinstance(err.value, KeyError)
    with pytest.raises(KeyError):
        strict.lookup(["a", "b"])


def test_plain_string_is_rejected():
    with pytest.raises(ValueError, match="tokenize first"):
        Vocab.build(["a text, not tokens"])


def test_streaming_build_on_real_corpus_matches_counter():
    from dlcourse.data.readers import read_lee

    docs = read_lee()
    tok = get_tokenizer("basic_english")
    counts = Counter(t for d in docs for t in tok(d))
    # a generator: Vocab.build must not need len() or a second pass
    v = Vocab.build(tok.stream(d for d in docs), max_size=1000, min_freq=2)
    assert len(v) == 1002
    assert [v.freqs[v[t]] for t, _ in counts.most_common(50)] == \
        [c for _, c in counts.most_common(50)]
    assert v.itos[2] == counts.most_common(1)[0][0]
    assert all(c >= 2 for c in v.freqs[2:])
    assert v.freqs[2:] == sorted(v.freqs[2:], reverse=True)
    # coverage = kept running tokens / all running tokens; the top 1,000 types cover ~79%
    cov = v.coverage(tok.batch(docs))
    assert cov == pytest.approx(sum(v.freqs) / sum(counts.values()))
    assert 0.7 < cov < 0.9


def test_save_load_and_dict_round_trip(tmp_path):
    v = Vocab.build([["ß", "é", "é", "日本"]], specials=("<pad>", "<unk>", "<bos>"))
    path = v.save(tmp_path / "sub" / "vocab.json")
    assert json.loads(path.read_text(encoding="utf-8"))["itos"][3] == "é"
    again = Vocab.load(path)
    assert again == v and again.itos == v.itos and again.freqs == v.freqs
    assert Vocab.from_dict(v.to_dict()) == v
    assert Vocab.from_dict(json.loads(json.dumps(v.to_dict()))).lookup(["é"]) == v.lookup(["é"])
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DlcourseError, match="bad.json: not a vocabulary JSON"):
        Vocab.load(tmp_path / "bad.json")
    with pytest.raises(DlcourseError, match="not found"):
        Vocab.load(tmp_path / "missing.json")
    with pytest.raises(DlcourseError, match="sub is a directory; give the JSON file"):
        Vocab.load(tmp_path / "sub")


def test_duplicate_tokens_rejected():
    with pytest.raises(ValueError, match="'a' appears more than once"):
        Vocab(["<pad>", "<unk>", "a", "a"])


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    from dlcourse.engine import load_checkpoint, save_checkpoint
    from dlcourse.text import tokenizer_from_config

    tok = get_tokenizer("regex", pattern=r"[a-z]+", lowercase=True)
    v = Vocab.build(tok.stream(["The cat", "the hat"]), specials=("<pad>", "<unk>", "<eos>"))
    save_checkpoint(tmp_path / "model.pt", {"vocab": v.to_dict(), "tokenizer": tok.config})
    state = load_checkpoint(tmp_path / "model.pt")  # torch.load(weights_only=True)
    assert Vocab.from_dict(state["vocab"]) == v
    assert tokenizer_from_config(state["tokenizer"])("A CAT!") == ["a", "cat"]


def test_a_vocabulary_dict_without_roles_keeps_the_default_tokens():
    # as a bare list does ({"itos": [...]} lost <unk> and <pad>, so unknown words failed)
    v = Vocab.from_dict({"itos": ["<pad>", "<unk>", "a"]})
    assert (v.pad_id, v.unk_id) == (0, 1) and v.lookup(["a", "zebra"]) == [2, 1]
    assert Vocab.from_dict({"itos": ["a"], "unk_token": None}).unk_id is None
    with pytest.raises(ValueError, match="needs an 'itos' token list"):
        Vocab.from_dict({"itos": "abc"})  # read as the tokens a, b, c before
    with pytest.raises(ValueError, match="id -1 is out of range"):
        v.lookup_tokens([-1])  # the last token before


def test_torchtext_tutorial_code_runs_as_written():
    """The PyTorch text-classification tutorial's vocabulary lines, unchanged but the import:
    build_vocab_from_iterator, set_default_index, vocab(tokens), get_itos/get_stoi."""
    from dlcourse.text import build_vocab_from_iterator, get_tokenizer

    train_iter = [(1, "Here is an example!"), (2, "an example, and another example")]
    tokenizer = get_tokenizer("basic_english")

    def yield_tokens(data_iter):
        for _, text in data_iter:
            yield tokenizer(text)

    vocab = build_vocab_from_iterator(yield_tokens(train_iter), specials=["<unk>"])
    with pytest.raises(KeyError, match=r"'zebra' is not in the vocabulary and it has no "
                       r"unknown token; call vocab.set_default_index\(vocab\['<unk>'\]\)"):
        vocab(["zebra"])  # as in torchtext: no default index yet
    vocab.set_default_index(vocab["<unk>"])
    # by count, ties alphabetical, as torchtext orders them
    assert vocab.get_itos() == ["<unk>", "example", "an", "!", ",", "and", "another", "here",
                                "is"]
    assert vocab(["here", "is", "an", "example", "zebra"]) == [7, 8, 2, 1, 0]
    assert vocab.get_stoi()["example"] == 1 and vocab.lookup_token(1) == "example"
    assert vocab.lookup_indices(["and"]) == [5] and vocab.get_default_index() == 0
    capped = build_vocab_from_iterator(yield_tokens(train_iter), specials=["<unk>", "<pad>"],
                                       special_first=False, max_tokens=4, min_freq=1)
    assert capped.get_itos() == ["example", "an", "<unk>", "<pad>"]
    assert build_vocab_from_iterator(yield_tokens(train_iter), min_freq=2).get_itos() == [
        "example", "an"]
    with pytest.raises(ValueError, match="max_tokens 1 leaves no room"):
        build_vocab_from_iterator([["a"]], specials=["<unk>"], max_tokens=1)


def test_a_vocabulary_without_unk_says_how_to_get_one():
    # the hint was set_default_index(vocab['<unk>']) where '<unk>' is not a token either
    from dlcourse.text import Vocab

    vocab = Vocab.build([["a", "b"], ["a"]], specials=("<pad>",))
    # build_vocab_from_iterator sets no unknown token even with '<unk>' among the specials:
    # the hint names both steps
    with pytest.raises(KeyError, match=r"'zz' is not in the vocabulary and it has no unknown "
                       r"token; build it with '<unk>' among its specials and set_default_index"
                       r"\(vocab\['<unk>'\]\) \(Vocab.build does both by default\)"):
        vocab["zz"]
    assert vocab["a"] == 1 and "zz" not in vocab


def test_torchtext_habits_get_torchtexts_answers_or_a_clear_refusal():
    """What a torchtext user writes: PadCollate(vocab.pad_id) after build_vocab_from_iterator,
    legacy vocab.stoi[t] for an unknown word, and a few slips that gave wrong ids silently."""
    from dlcourse.errors import InputError
    from dlcourse.text import PadCollate, build_vocab_from_iterator

    vocab = build_vocab_from_iterator([["a", "b", "a"]], specials=["<unk>", "<pad>"])
    assert vocab.pad_id == 1 and vocab.unk_id is None  # pad_id was None: the first batch failed
    assert PadCollate(vocab.pad_id)([[2, 3], [2]])[0].tolist() == [[2, 3], [2, 1]]
    with pytest.raises(KeyError):
        vocab.stoi["zz"]  # no unknown token yet, as torchtext's vocab["zz"] raises
    vocab.set_default_index(vocab["<unk>"])
    assert vocab.stoi["zz"] == 0 and vocab.stoi.get("zz") is None and "zz" not in vocab.stoi
    with pytest.raises(InputError, match="lookup takes a list of tokens, got the string 'cat'"):
        vocab.lookup("cat")  # was [0, 0, 0]: its characters, each unknown
    with pytest.raises(InputError, match=r"vocab\[...\] takes a token \(a string\), got int 3"):
        vocab[3]  # was the unknown id
    with pytest.raises(InputError, match=r"specials must be a list of tokens, got the string "
                                         r"'<unk>'; write specials=\['<unk>'\]"):
        build_vocab_from_iterator([["a"]], specials="<unk>")  # was '<', 'u', 'n', 'k', '>'


def test_assigning_a_role_keeps_its_token_id_and_lookups_in_step():
    """``vocab.unk_id = i`` (legacy torchtext code sets it so) changed the id but not what
    ``vocab[t]``, ``stoi[t]`` or ``unk_token`` answered; and torchtext's code catches the
    RuntimeError its vocabulary raised for an unknown token."""
    from dlcourse.errors import InputError
    from dlcourse.text import UnknownTokenError, build_vocab_from_iterator

    vocab = build_vocab_from_iterator([["a", "b", "a"]], specials=["<unk>", "<pad>"])
    with pytest.raises(RuntimeError):
        vocab["zz"]
    assert issubclass(UnknownTokenError, KeyError)
    vocab.unk_id = 0
    assert (vocab.unk_token, vocab["zz"], vocab.stoi["zz"], vocab.lookup(["zz"])) == (
        "<unk>", 0, 0, [0])
    vocab.unk_token = "a"
    assert (vocab.unk_id, vocab["zz"], vocab.get_default_index()) == (2, 2, 2)
    vocab.pad_id = 2
    assert vocab.pad_token == "a"
    vocab.unk_token = None
    with pytest.raises(KeyError):
        vocab.stoi["zz"]
    with pytest.raises(InputError, match="unk_token 'zz' is not in the vocabulary"):
        vocab.unk_token = "zz"
    with pytest.raises(InputError, match="out of range"):
        vocab.pad_id = 9
    assert vocab.pad_token == "a" and vocab.unk_id is None  # a refused assignment changes nothing


def test_settings_of_the_wrong_kind_are_named_not_a_typeerror(tmp_path):
    from dlcourse.errors import InputError, MissingFileError
    from dlcourse.text import BucketBatchSampler, LabelEncoder, Vocab, load_table

    with pytest.raises(InputError, match="max_size must be a whole number >= 0 or None, got 2.5"):
        Vocab.build([["a"]], max_size=2.5)
    with pytest.raises(InputError, match="min_freq must be a whole number >= 1, got '2'"):
        Vocab.build([["a"]], min_freq="2")
    with pytest.raises(InputError, match="batch_size must be a whole number >= 1, got 2.5"):
        BucketBatchSampler([3, 1, 2], batch_size=2.5)
    with pytest.raises(InputError, match="lengths must be the length of every example"):
        BucketBatchSampler([([1, 2], 0), ([3], 1)], batch_size=2)  # the data, not its lengths
    with pytest.raises(InputError, match="classes must be distinct"):
        LabelEncoder.from_classes(["a", "a"])  # two ids for one class
    with pytest.raises(MissingFileError, match="missing.csv: no such file"):
        load_table(tmp_path / "missing.csv")  # a FileNotFoundError too, as Vocab.load's
