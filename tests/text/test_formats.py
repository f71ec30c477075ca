"""Table formats defined once: suffixes, delimiter choice (no sniffing surprises), and CSV
problems reported at the line where they start."""

import csv

import pytest

from dlcourse.errors import DlcourseError
from dlcourse.text import TABLE_SUFFIXES, choose_delimiter, is_table, load_table, table_format
from dlcourse.text.tabular import TABLE_SUFFIXES as FROM_TABULAR
from dlcourse.text.tabular import is_table as is_table_from_tabular


def test_table_suffixes_are_one_list():
    assert FROM_TABULAR is TABLE_SUFFIXES and is_table_from_tabular is is_table
    assert set(TABLE_SUFFIXES) == {".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".parquet"}
    assert is_table("a/B.TSV") and is_table("x.parquet") and not is_table("corpus.txt")
    assert [table_format(f"x{s}") for s in TABLE_SUFFIXES] == \
        ["csv", "tsv", "tsv", "jsonl", "jsonl", "parquet"]
    assert table_format("data.txt", "tsv") == "tsv"
    with pytest.raises(ValueError, match="cannot tell the format of data.xlsx"):
        table_format("data.xlsx")
    with pytest.raises(ValueError, match="unknown table format 'xls'; choose one of csv, jsonl"):
        table_format("d.csv", "xls")


@pytest.mark.parametrize("sample, expected", [
    ("height\n1.7\n1.8\n", ","),  # csv.Sniffer splits this header on 'h'
    ("height\n", ","),
    ("text,label\n\"a, b\",1\nc,0\n", ","),
    ("text;label\n1,5;x\n2,5;y\n", ";"),  # decimal commas, ';' between fields
    ("a\tb\n1\t2\n", "\t"),
    ("a|b|c\n1|2|3\n", "|"),
    ("text,label\nhello, world,1\n", ","),  # ragged: no candidate fits, the default stays
    ("a;b\n1;2\n3;4\n5;", ";"),  # a sample cut inside its last line
    ("a;b\n" + "1;2\n" * 19 + '"multi\nline";3\n', ";"),  # a quoted field cut by the sample
])
def test_choose_delimiter(sample, expected):
    assert choose_delimiter(sample) == expected


def test_the_sniffer_has_no_answer_for_one_column():
    """What the helper replaces: csv.Sniffer fails on (or, on other samples, picks a letter
    of) a one-column file, which then reads as a missing value."""
    try:
        delimiter = csv.Sniffer().sniff("height\n1.7\n1.8\n", delimiters=None).delimiter
    except csv.Error:
        delimiter = None
    assert delimiter != ","


def test_single_column_and_semicolon_csv_load(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("height\n1.7\n1.8\n", encoding="utf-8")
    t = load_table(p, text_col="height", label_col=None)
    assert t.texts == ["1.7", "1.8"] and t.columns == ["height"]
    s = tmp_path / "s.csv"
    s.write_text('text;label\n"bon; très bon";pos\nmauvais;neg\n', encoding="utf-8")
    t = load_table(s)
    assert t.texts == ["bon; très bon", "mauvais"] and t.labels == ["pos", "neg"]


@pytest.mark.parametrize("content, match", [
    # the quote swallows the following rows: one field where two are expected, at line 2
    ('review,label\n"open quote,pos\nx,neg\ny,pos\n',
     r"q\.csv:2: a quote opened on this line is never closed"),
    # ... or until a later stray quote closes it
    ('review,label\n"open quote,pos\nx,ne"g\ny,pos\n',
     r"q\.csv:2: 1 field where the header has 2; the row runs to line 3: a quote opened on "
     r"line 2 is probably not closed"),
    # the quote opens on the last row: the csv module would end it silently at the end
    ('review,label\nok,pos\nx,"open\n', r"q\.csv:3: a quote opened on this line is never closed"),
    ('review,label\nok,pos\n"x,pos', r"q\.csv:3: a quote opened on this line is never closed"),
    ('review\nok\n"swallows\nthe rest\n', r"q\.csv:3: a quote opened on this line is never"),
])
def test_unclosed_quote_is_reported_where_it_opens(tmp_path, content, match):
    p = tmp_path / "q.csv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(DlcourseError, match=match):
        load_table(p, text_col="review", label_col="label" if "label" in content else None)


def test_open_quote_before_a_long_tail_names_its_line(tmp_path):
    """A quote left open swallows the rest of the file (280,000 characters, past the csv
    module's default field limit): the message names the line that opens it."""
    p = tmp_path / "long.csv"
    p.write_text('text,label\nfine,pos\n"oops,neg\n' + "more text,pos\n" * 20_000,
                 encoding="utf-8")
    with pytest.raises(DlcourseError, match=r"long\.csv:3: a quote opened on this line is never "
                                            r"closed"):
        load_table(p)


def test_closed_multiline_fields_and_limit(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text('text,label\nfirst,a\n"two\nlines, quoted",b\n"last\n",c', encoding="utf-8")
    t = load_table(p)
    assert t.texts == ["first", "two\nlines, quoted", "last\n"] and t.labels == ["a", "b", "c"]
    assert load_table(p, limit=2).texts == ["first", "two\nlines, quoted"]
    with pytest.raises(ValueError, match="limit must be >= 1"):
        load_table(p, limit=0)
    j = tmp_path / "j.jsonl"
    j.write_text('{"text": "a\u2028b", "label": 1}\n', encoding="utf-8")  # U+2028 is not a break
    assert load_table(j).texts == ["a\u2028b"]
