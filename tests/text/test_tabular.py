"""load_table on CSV/TSV/JSONL/DataFrame, line-precise errors, LabelEncoder and splits."""

import json
import logging

import pytest
from torch.utils.data import DataLoader

from dlcourse.errors import DlcourseError
from dlcourse.text import LabelEncoder, PadCollate, TextTable, Vocab, get_tokenizer, load_table


@pytest.fixture
def reviews():
    """200 real review sentences with pos/neg labels (gensim's Pang & Lee sample)."""
    from dlcourse.data.readers import read_pang_lee_sample

    return read_pang_lee_sample()


def _write_csv(path, rows, header=("review", "label"), delimiter=","):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_csv_tsv_jsonl_dataframe_agree(tmp_path, reviews):
    csv_path = _write_csv(tmp_path / "train.csv", reviews)
    tsv_path = _write_csv(tmp_path / "train.tsv", reviews, delimiter="\t")
    jsonl = tmp_path / "train.jsonl"
    jsonl.write_text("".join(json.dumps({"review": t, "label": y}) + "\n" for t, y in reviews),
                     encoding="utf-8")
    tables = [load_table(p, text_col="review", label_col="label")
              for p in (csv_path, tsv_path, jsonl)]
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(reviews, columns=["review", "label"])
    tables.append(load_table(df, text_col="review", label_col="label"))
    pytest.importorskip("pyarrow")
    df.to_parquet(tmp_path / "train.parquet")
    tables.append(load_table(tmp_path / "train.parquet", text_col="review", label_col="label"))
    for t in tables:
        assert t.texts == [r[0] for r in reviews]
        assert t.labels == [r[1] for r in reviews]
    assert tables[0].path == csv_path and len(tables[0]) == 200
    assert tables[0][0] == reviews[0]
    assert set(tables[0].label_counts()) == {"pos", "neg"}


def test_integer_labels_and_unlabelled(tmp_path):
    p = _write_csv(tmp_path / "d.csv", [("good, really", "1"), ("bad", "0"), ("meh", " 1 ")])
    t = load_table(p, text_col="review")
    assert t.labels == [1, 0, 1] and t.texts[0] == "good, really"
    u = load_table(p, text_col="review", label_col=None)
    assert u.labels is None and u[1] == "bad"


def test_bad_input_names_file_line_and_problem(tmp_path, caplog):
    p = _write_csv(tmp_path / "d.csv", [("fine", "pos"), ("no label here", ""), ("ok", "neg")])
    with pytest.raises(DlcourseError, match=r"d\.csv:3: missing label in column 'label'; .*"
                                            r"--on-missing drop .* on_missing='drop' in Python"):
        load_table(p, text_col="review")
    with caplog.at_level(logging.WARNING):
        t = load_table(p, text_col="review", on_missing="drop")
    assert t.labels == ["pos", "neg"]
    assert "dropped 1 row with a missing text or label" in caplog.text
    with pytest.raises(DlcourseError, match=r"d\.csv:1: no column 'text' \(columns: review, "
                                            r"label\); name the right one with --text-col "
                                            r"\(or text_col= in Python\)"):
        load_table(p)
    with pytest.raises(DlcourseError, match="no column 'y'"):
        load_table(p, text_col="review", label_col="y")
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DlcourseError, match=r"empty\.csv: empty file"):
        load_table(empty)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("review,label\nfine,pos\ncaf\u00e9 cr\u00e8me,neg\n".encode("latin-1"))
    with pytest.raises(DlcourseError, match=r"latin\.csv:3: byte 0xe9 is not valid utf-8; pass "
                                            r"the file's encoding \(--encoding latin-1 .*"
                                            r"encoding='latin-1' in Python\)"):
        load_table(latin, text_col="review")
    assert load_table(latin, text_col="review", encoding="latin-1").texts[1] == "café crème"
    ragged = tmp_path / "ragged.csv"
    ragged.write_text('review,label\n"a, quoted",pos\nb,c,neg\n', encoding="utf-8")
    with pytest.raises(DlcourseError, match=r"ragged\.csv:3: 3 fields where the header has 2"):
        load_table(ragged, text_col="review")
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": \n', encoding="utf-8")
    with pytest.raises(DlcourseError, match=r"bad\.jsonl:2: not valid JSON"):
        load_table(bad_json)
    with pytest.raises(DlcourseError, match="no such file"):
        load_table(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="cannot tell the format"):
        load_table(tmp_path / "data.xlsx")


def test_dataframe_missing_values_name_the_row():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"text": ["a", "b", "c"], "label": [1.0, None, 0.0]})
    with pytest.raises(DlcourseError, match="DataFrame row 1: missing label"):
        load_table(df)
    assert load_table(df, on_missing="drop").labels == [1, 0]  # floats from NaN back to ints
    df = pd.DataFrame({"text": pd.array(["a", pd.NA], dtype="string"), "label": [1, 0]})
    assert load_table(df, on_missing="drop").texts == ["a"]


def test_multiline_quoted_field_and_bom(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text('\ufefftext,label\n"line one\nline two",a\n,b\n', encoding="utf-8")
    with pytest.raises(DlcourseError, match=r"m\.csv:4: missing text"):  # physical line 4
        load_table(p)


def test_split_is_seeded_disjoint_and_stratified(reviews):
    labels = [y for _, y in reviews[:150]] + ["neu"] * 50  # three classes, unbalanced
    table = TextTable([t for t, _ in reviews], labels)
    train, valid, test = table.split((0.8, 0.1, 0.1), seed=1)
    assert (len(train), len(valid), len(test)) == (160, 20, 20)
    all_texts = train.texts + valid.texts + test.texts
    assert sorted(all_texts) == sorted(table.texts)
    for part in (train, valid, test):
        counts = part.label_counts()
        share = {y: c / len(part) for y, c in counts.items()}
        assert share["neu"] == pytest.approx(0.25, abs=0.01)
    again = table.split((0.8, 0.1, 0.1), seed=1)
    assert [p.texts for p in again] == [p.texts for p in (train, valid, test)]
    assert table.split((0.8, 0.1, 0.1), seed=2)[0].texts != train.texts
    two = table.split((0.5, 0.5), stratify=False)
    assert len(two) == 2 and len(two[0]) == 100
    with pytest.raises(ValueError, match="must add up to 1"):
        table.split((0.8, 0.3))


def test_label_encoder_round_trip(tmp_path):
    enc = LabelEncoder().fit(["pos", "neg", "neu", "pos"])
    assert enc.classes_ == ["neg", "neu", "pos"] and len(enc) == 3
    ids = enc.transform(["pos", "neg"])
    assert ids == [2, 0] and enc.inverse_transform(ids) == ["pos", "neg"]
    again = LabelEncoder.from_classes(enc.classes_)
    assert again.transform(["neu"]) == [1]
    assert LabelEncoder().fit([3, 1, 2]).transform([1, 3]) == [0, 2]
    loaded = LabelEncoder.load(enc.save(tmp_path / "classes.json"))
    assert loaded.classes_ == enc.classes_ and loaded.transform(["neu", "pos"]) == [1, 2]
    assert LabelEncoder.load(LabelEncoder().fit([1, 0]).save(tmp_path / "i.json")).classes_ == \
        [0, 1]
    (tmp_path / "bad.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DlcourseError, match="not a LabelEncoder JSON"):
        LabelEncoder.load(tmp_path / "bad.json")
    with pytest.raises(DlcourseError, match="unknown label 'meh'; the encoder knows neg, neu"):
        enc.transform(["meh"])
    with pytest.raises(ValueError, match="class id 5 is outside 0..2"):
        enc.inverse_transform([5])
    with pytest.raises(DlcourseError, match="not fitted"):
        LabelEncoder().transform(["a"])


def test_encode_feeds_a_dataloader(reviews):
    table = TextTable([t for t, _ in reviews], [y for _, y in reviews])
    tok = get_tokenizer("basic_english")
    vocab = Vocab.build(tok.stream(table.texts), min_freq=2)
    enc = LabelEncoder().fit(table.labels)
    data = table.encode(tok, vocab, enc, max_len=20)
    assert len(data) == 200 and all(len(ids) <= 20 for ids, _ in data)
    padded, lengths, labels = next(iter(DataLoader(data, batch_size=8,
                                                   collate_fn=PadCollate(vocab.pad_id))))
    assert padded.shape[0] == 8 and padded.shape[1] == int(lengths.max())
    assert set(labels.tolist()) <= {0, 1}


def test_a_labelled_table_is_encoded_with_the_training_encoder_only(reviews):
    # each table fitting its own encoder gave a test set without one class other ids
    table = TextTable(["good", "bad"], ["pos", "neg"])
    tok = get_tokenizer("basic_english")
    vocab = Vocab.build(tok.stream(table.texts))
    with pytest.raises(ValueError, match="encode needs the label_encoder fitted on the training"):
        table.encode(tok, vocab)
    enc = LabelEncoder().fit(["neg", "neu", "pos"])
    assert [label for _, label in table.encode(tok, vocab, enc)] == [2, 0]
    assert TextTable(["good"]).encode(tok, vocab) == [vocab.lookup(["good"])]  # no labels


def test_labels_are_kept_as_written_and_json_values_checked(tmp_path):
    (tmp_path / "i.csv").write_text("text,label\na,1\nb,2\nc,01\n", encoding="utf-8")
    assert load_table(tmp_path / "i.csv").labels == ["1", "2", "01"]  # "01" merged with 1
    (tmp_path / "n.csv").write_text("text,label\na,1\nb,-2\n", encoding="utf-8")
    assert load_table(tmp_path / "n.csv").labels == [1, -2]
    (tmp_path / "l.jsonl").write_text('{"text": "a", "label": ["x"]}\n', encoding="utf-8")
    with pytest.raises(DlcourseError, match=r"l.jsonl:1: the label must be a string or a "
                                            r"number, found a JSON array"):
        load_table(tmp_path / "l.jsonl")  # an unhashable-type TypeError before


def test_a_long_well_formed_csv_field_is_read(tmp_path):
    # the csv module's 131,072-character limit refused it, blaming a quote
    text = "word " * 60_000
    (tmp_path / "long.csv").write_text(f"text,label\nshort,a\n{text},b\n", encoding="utf-8")
    assert load_table(tmp_path / "long.csv").texts == ["short", text]
