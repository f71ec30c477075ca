"""Tokenizers: torchtext's basic_english rule for rule, the regex/whitespace/spacy tokenizers,
batch/stream forms and config round-trips."""

import random
import re
import sys

import pytest

from dlcourse.errors import DlcourseError, InputError
from dlcourse.text import basic_english, get_tokenizer, tokenizer_from_config

# torchtext/data/utils.py, the published rules, applied the straightforward way
_PATTERNS = [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:",
             r"\s+"]
_REPLACEMENTS = [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "]
_COMPILED = [(re.compile(p), r) for p, r in zip(_PATTERNS, _REPLACEMENTS)]


def reference_basic_english(line):
    line = line.lower()
    for pattern, repl in _COMPILED:
        line = pattern.sub(repl, line)
    return line.split()


CASES = [
    # torchtext's own docstring example
    ("You can now install TorchText using pip!",
     ["you", "can", "now", "install", "torchtext", "using", "pip", "!"]),
    ("Hello, World!", ["hello", ",", "world", "!"]),
    ("It's", ["it", "'", "s"]),
    ("don't-stop", ["don", "'", "t-stop"]),
    ('He said "hi".', ["he", "said", "hi", "."]),
    ("line one<br />line two", ["line", "one", "line", "two"]),
    ("a<br/>b", ["a<br/>b"]),                       # only the exact '<br />' is a break
    ('x<br "/>y', ["x", "y"]),                      # quotes go first, then the break matches
    ("a<br;/>b", ["a<br", "/>b"]),                  # ';' goes after the break rule
    ("A<BR />B", ["a", "b"]),                       # lower-casing comes first
    ("3.14", ["3", ".", "14"]),
    ("e.g., (see: this; that)", ["e", ".", "g", ".", ",", "(", "see", "this", "that", ")"]),
    ("Wow!!??", ["wow", "!", "!", "?", "?"]),
    ("TAB\tand\nnewline\u00a0nbsp", ["tab", "and", "newline", "nbsp"]),
    ("$100 & 50% #tag @you", ["$100", "&", "50%", "#tag", "@you"]),
    ("ÉCOLE Ünïcödé", ["école", "ünïcödé"]),
    ("", []),
    ("  \t ", []),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_basic_english_matches_torchtext_cases(text, expected):
    assert reference_basic_english(text) == expected  # the table itself follows the rules
    assert basic_english(text) == expected
    tok = get_tokenizer("basic_english")
    assert tok(text) == expected
    assert tok.batch([text, text]) == [expected, expected]


def test_basic_english_equals_reference_on_fuzz():
    rng = random.Random(0)
    alphabet = list("ab Z'\".,()!?;:\t\n<>/-ΣςİX\x00") + ["<br />", "<br", " />", "Σ"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
             for _ in range(3000)]
    tok = get_tokenizer("basic_english")
    expected = [reference_basic_english(t) for t in texts]
    assert [basic_english(t) for t in texts] == expected
    assert tok.batch(texts) == expected
    assert list(tok.stream(iter(texts), chunk_size=7)) == expected
    for bad in (0, -1, 2.5, True):  # 0 streamed nothing, silently
        with pytest.raises(InputError, match="chunk_size must be an integer >= 1"):
            tok.stream(iter(texts), chunk_size=bad)


def test_basic_english_equals_reference_on_review_sentences():
    from dlcourse.data.readers import read_rt_sentences

    texts = [s for s, _ in read_rt_sentences()]
    assert len(texts) == 10605
    assert get_tokenizer("basic_english").batch(texts) == [reference_basic_english(t)
                                                           for t in texts]


def test_whitespace_and_regex():
    assert get_tokenizer("whitespace")("A  b\tC\n") == ["A", "b", "C"]
    assert get_tokenizer("whitespace", lowercase=True)("A b") == ["a", "b"]
    assert get_tokenizer("regex")("Don't stop!") == ["Don", "'", "t", "stop", "!"]
    words = get_tokenizer("regex", pattern=r"[a-z]+", lowercase=True)
    assert words("Hello, World 42") == ["hello", "world"]
    groups = get_tokenizer("regex", pattern=r"(\d+)|([a-z]+)")  # groups: whole matches returned
    assert groups("ab12cd") == ["ab", "12", "cd"]
    gaps = get_tokenizer("regex", pattern=r"[,;]\s*", gaps=True)
    assert gaps("a, b;c,,d") == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="invalid regex"):
        get_tokenizer("regex", pattern="(")


@pytest.mark.parametrize("name,kwargs", [
    ("basic_english", {}), ("whitespace", {"lowercase": True}),
    ("regex", {"pattern": r"\w+", "gaps": False}), ("wordpiece", {}),
])
def test_config_round_trip(name, kwargs):
    tok = get_tokenizer(name, **kwargs)
    again = tokenizer_from_config(tok.config)
    assert type(again) is type(tok) and again.config == tok.config
    text = "The film's <br />ending, (sadly) wasn't GREAT!"
    assert again(text) == tok(text)
    assert all(isinstance(v, (str, int, float, bool, type(None))) for v in tok.config.values())


def test_bad_names_and_options():
    with pytest.raises(ValueError, match="choose one of basic_english, whitespace, regex"):
        get_tokenizer("basic_englsh")
    with pytest.raises(ValueError, match="bad option for tokenizer 'whitespace'"):
        get_tokenizer("whitespace", pattern="x")
    with pytest.raises(ValueError, match="'name'"):
        tokenizer_from_config({"pattern": "x"})


def test_spacy_tokenizer():
    pytest.importorskip("spacy")
    tok = get_tokenizer("spacy")
    assert tok("Don't stop, U.K. friends!") == ["Do", "n't", "stop", ",", "U.K.", "friends", "!"]
    assert tok.batch(["a  b", "c"]) == [["a", "b"], ["c"]]  # runs of spaces are not tokens
    low = tokenizer_from_config(get_tokenizer("spacy", lowercase=True).config)
    assert low("Hello World") == ["hello", "world"]


def test_spacy_missing_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "spacy", None)  # import spacy -> ImportError
    with pytest.raises(DlcourseError, match=r"pip install dlcourse\[spacy\]"):
        get_tokenizer("spacy")
