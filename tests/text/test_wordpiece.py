"""WordPiece with the offline bert-base-uncased vocabulary, and training new vocabularies."""

import pytest
import torch

from dlcourse.errors import DlcourseError
from dlcourse.text import WordPieceTokenizer, get_tokenizer, tokenizer_from_config


@pytest.fixture(scope="module")
def bert():
    return WordPieceTokenizer()


def test_bert_vocabulary_ids(bert):
    assert bert.vocab_size == 30522
    assert (bert.pad_id, bert.unk_id, bert.cls_id, bert.sep_id) == (0, 100, 101, 102)
    assert bert("Hello, World!") == ["hello", ",", "world", "!"]
    assert bert("Tokenization") == ["token", "##ization"]
    assert get_tokenizer("wordpiece")("unaffable") == bert("unaffable")


def test_encode_specials_mask_truncation(bert):
    out = bert.encode(["Hello, World!", "a"], max_length=128)
    ids, mask = out["input_ids"], out["attention_mask"]
    assert ids.dtype == mask.dtype == torch.long and ids.shape == mask.shape == (2, 6)
    # bert-base-uncased ids: [CLS] hello , world ! [SEP]
    assert ids[0].tolist() == [101, 7592, 1010, 2088, 999, 102]
    assert ids[1].tolist() == [101, 1037, 102, 0, 0, 0]
    assert mask[1].tolist() == [1, 1, 1, 0, 0, 0]
    long = bert.encode("one two three four five six seven", max_length=5)["input_ids"]
    assert long.shape == (1, 5) and long[0, 0] == 101 and long[0, -1] == 102
    bare = bert.encode(["one two three"], max_length=2, add_special_tokens=False)
    assert bare["input_ids"].tolist() == [[2028, 2048]]
    assert bert.decode(ids[0]) == "hello, world!"
    with pytest.raises(ValueError, match="max_length"):
        bert.encode("x", max_length=2)


def test_to_vocab_keeps_ids(bert):
    v = bert.to_vocab()
    assert len(v) == 30522 and v["hello"] == 7592 and v.pad_id == 0
    assert v["qqqqzzzz"] == 100


def test_bad_vocab_file(tmp_path):
    with pytest.raises(DlcourseError, match="not found"):
        WordPieceTokenizer(vocab_file=tmp_path / "none.txt")
    f = tmp_path / "vocab.txt"
    f.write_text("[PAD]\nhello\n", encoding="utf-8")
    with pytest.raises(DlcourseError, match=r"no \[UNK\] token"):
        WordPieceTokenizer(vocab_file=f)


@pytest.mark.parametrize("model", ["wordpiece", "bpe"])
def test_train_on_real_corpus_round_trips(model, tmp_path):
    from dlcourse.data.readers import read_lee

    docs = read_lee()
    wp = WordPieceTokenizer.train(docs, vocab_size=2000, model=model)
    assert 1000 < wp.vocab_size <= 2000
    assert (wp.pad_id, wp.unk_id) == (0, 1)
    text = "the government says the fires are under control"
    pieces = wp(text)
    assert wp.decode(wp.encode(text)["input_ids"][0]) == text
    assert len(pieces) >= len(text.split())
    # a 2,000-piece vocabulary splits rare words but keeps the frequent ones whole
    assert "government" in pieces and "the" in pieces
    rebuilt = tokenizer_from_config(wp.config)
    assert rebuilt(text) == pieces
    loaded = WordPieceTokenizer.load(wp.save(tmp_path / "tok.json"))
    assert loaded.encode(docs[:4])["input_ids"].equal(wp.encode(docs[:4])["input_ids"])
    with pytest.raises(ValueError, match="choose one of wordpiece, bpe"):
        WordPieceTokenizer.train(docs, model="unigram")


def test_load_names_a_missing_file_or_a_folder_and_lowercasing_strips_accents(tmp_path):
    from dlcourse.errors import DlcourseError

    with pytest.raises(DlcourseError, match="not found"):
        WordPieceTokenizer.load(tmp_path / "missing.json")
    with pytest.raises(DlcourseError, match="is a directory; give the JSON file"):
        WordPieceTokenizer.load(tmp_path)  # was a raw IsADirectoryError
    # bert-base-uncased's normaliser: lower case without accents, as the docstring says
    assert WordPieceTokenizer()("Café naïve") == ["cafe", "naive"]
