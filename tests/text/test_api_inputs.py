"""The Python API refuses bad inputs with the library's narrow errors (InputError is a
ValueError, NotFittedError, MissingFileError) and takes numpy/torch values where plain ones
work: LabelEncoder, Vocab.lookup_tokens/load and every tokenizer."""

import json

import numpy as np
import pytest

from dlcourse.errors import InputError, MissingFileError, NotFittedError
from dlcourse.text import LabelEncoder, Vocab, basic_english, get_tokenizer


@pytest.fixture(scope="module")
def vocab():
    return Vocab.build([["the", "cat", "the"]])  # <pad> <unk> the cat


def test_label_encoder_errors_are_narrow(tmp_path):
    enc = LabelEncoder().fit(["pos", "neg"])
    with pytest.raises(InputError, match="unknown label 'meh'; the encoder knows neg, pos"):
        enc.transform(["meh"])
    with pytest.raises(NotFittedError, match="not fitted; call fit"):
        LabelEncoder().transform(["a"])
    with pytest.raises(NotFittedError):
        LabelEncoder().inverse_transform([0])
    with pytest.raises(MissingFileError, match="label file .*nosuch.json not found"):
        LabelEncoder.load(tmp_path / "nosuch.json")
    with pytest.raises(MissingFileError, match="is a directory"):
        LabelEncoder.load(tmp_path)
    for i, text in enumerate(["{not json", '{"classes": "ab"}', "[1, 2]"]):
        (tmp_path / f"bad{i}.json").write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match="not a LabelEncoder JSON file"):
            LabelEncoder.load(tmp_path / f"bad{i}.json")


def test_label_encoder_stores_plain_values_and_saves_numpy_labels(tmp_path):
    enc = LabelEncoder().fit(np.array([2, 1, 2]))
    assert enc.classes_ == [1, 2] and all(type(c) is int for c in enc.classes_)
    path = enc.save(tmp_path / "le.json")
    assert json.loads(path.read_text(encoding="utf-8")) == {"classes": [1, 2]}
    assert LabelEncoder.load(path).transform(np.array([2, 1])) == [1, 0]
    texts = LabelEncoder().fit(np.array(["pos", "neg"])).save(tmp_path / "s.json")
    assert LabelEncoder.load(texts).classes_ == ["neg", "pos"]
    assert LabelEncoder.from_classes(np.array([3, 4])).save(tmp_path / "c.json").exists()
    assert LabelEncoder().fit_transform(y for y in ["b", "a", "b"]) == [1, 0, 1]


@pytest.mark.parametrize("call", [
    lambda: LabelEncoder().fit("pos"),
    lambda: LabelEncoder().fit(None),
    lambda: LabelEncoder().fit(["pos", "neg"]).transform("pos"),
])
def test_label_encoder_refuses_one_string(call):
    with pytest.raises(InputError, match="takes a list of labels, got (one string|None)"):
        call()


def test_integer_likes_are_ids(vocab):
    torch = pytest.importorskip("torch")
    enc = LabelEncoder().fit(["neg", "pos"])
    assert enc.inverse_transform([np.int64(1), np.int32(0)]) == ["pos", "neg"]
    assert enc.inverse_transform([torch.tensor(1)]) == ["pos"]
    assert vocab.lookup_tokens([np.int64(2), torch.tensor(3), 0]) == ["the", "cat", "<pad>"]
    assert vocab.lookup_tokens(np.array([3, 2])) == ["cat", "the"]


@pytest.mark.parametrize("bad, kind", [
    (2.0, "float"), ("the", "str"), (np.float64(1.5), "float"), (None, "NoneType")])
def test_non_integer_ids_name_their_type(vocab, bad, kind):
    with pytest.raises(InputError, match=f"id .* is {kind}, not an integer") as info:
        vocab.lookup_tokens([2, bad])
    assert "out of range" not in str(info.value)
    with pytest.raises(InputError, match=f"class id .* is {kind}, not an integer"):
        LabelEncoder().fit(["neg", "pos"]).inverse_transform([bad])


def test_out_of_range_ids_still_say_so(vocab):
    with pytest.raises(InputError, match="id 4 is out of range for a vocabulary of 4"):
        vocab.lookup_tokens([np.int64(4)])
    with pytest.raises(InputError, match="class id -1 is outside 0..1"):
        LabelEncoder().fit(["neg", "pos"]).inverse_transform([np.int64(-1)])


def test_vocab_load_errors(tmp_path, vocab):
    with pytest.raises(MissingFileError, match="vocabulary file .*nosuch.json not found"):
        Vocab.load(tmp_path / "nosuch.json")
    with pytest.raises(MissingFileError, match="is a directory"):
        Vocab.load(tmp_path)
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not a vocabulary JSON file"):
        Vocab.load(tmp_path / "bad.json")
    (tmp_path / "dup.json").write_text('["a", "a"]', encoding="utf-8")
    with pytest.raises(InputError, match="appears more than once"):
        Vocab.load(tmp_path / "dup.json")


def _installed_tokenizers():
    names = ["basic_english", "whitespace", "regex"]
    for name, module in (("spacy", "spacy"), ("wordpiece", "tokenizers")):
        try:
            __import__(module)
        except ImportError:
            continue
        names.append(name)
    return names


@pytest.fixture(scope="module", params=_installed_tokenizers())
def tok(request):
    return get_tokenizer(request.param)


@pytest.mark.parametrize("text, shown", [(None, "NoneType None"), (float("nan"), "float nan"),
                                         (np.float64("nan"), "float nan")])
def test_tokenizer_refuses_missing_text(tok, text, shown):
    with pytest.raises(InputError, match=f"got {shown}; drop or fill the missing texts"):
        tok(text)


def test_tokenizer_batch_names_the_missing_item(tok):
    pd = pytest.importorskip("pandas")
    with pytest.raises(InputError, match="item 1 is float nan; drop or fill the missing texts"):
        tok.batch(pd.Series(["a b", np.nan]))
    with pytest.raises(InputError, match="item 2 is NoneType None"):
        tok.batch(t for t in ["a", "b", None])
    with pytest.raises(InputError, match="item 0 is bytes b'ab'; pass str texts"):
        tok.batch([b"ab"])
    with pytest.raises(InputError, match="item 5 is float nan"):  # counted over the stream
        list(tok.stream(["a"] * 5 + [np.nan], chunk_size=2))


def test_tokenizer_batch_refuses_one_string(tok):
    with pytest.raises(InputError, match="batch takes a list of texts, got one string 'abc'"):
        tok.batch("abc")
    with pytest.raises(InputError, match="stream takes a list of texts, got one string"):
        tok.stream("abc")  # refused at the call, not at the first next()
    with pytest.raises(InputError, match="got None"):
        tok.batch(None)


def test_spacy_takes_numpy_strings():
    """spaCy takes only exact ``str``; a numpy array of texts raised TypeError."""
    pytest.importorskip("spacy")
    tok = get_tokenizer("spacy")
    assert tok.batch(np.array(["Don't stop", "ef"])) == [["Do", "n't", "stop"], ["ef"]]
    assert tok(np.str_("Don't stop")) == ["Do", "n't", "stop"]


def test_basic_english_function_refuses_none():
    with pytest.raises(InputError, match="NoneType None; drop or fill"):
        basic_english(None)


def test_wordpiece_ids_refuse_missing_texts():
    # the Rust tokenizer raised a bare TypeError
    from dlcourse.text.wordpiece import WordPieceTokenizer

    tok = WordPieceTokenizer()
    with pytest.raises(InputError, match=r"item 1 is NoneType None; drop or fill"):
        tok.encode_ids(["hi", None])
    assert tok.encode_ids("hi") == tok.encode_ids(["hi"])


def test_label_encoder_refuses_missing_labels():
    # a class "nan" (or None) was learnt from a column's gaps
    for labels in (["pos", None, "neg"], np.array([1.0, np.nan, 2.0])):
        with pytest.raises(InputError, match=r"label 1 is missing \((None|nan)\); drop or fill"):
            LabelEncoder().fit(labels)


def test_label_encoder_refuses_labels_json_cannot_keep():
    # a tuple came back from save/load as an (unhashable) list, as in TextClassifier
    with pytest.raises(InputError, match=r"label 1 is tuple \(1, 2\); a label must be one"):
        LabelEncoder().fit(["a", (1, 2)])
