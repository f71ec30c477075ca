"""The docstring examples run, and vocabulary building streams a 1.7M-token corpus."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["", ".tokenizers", ".vocab", ".batching", ".tabular",
                                    ".labels", ".formats", ".reading", ".config", ".wordpiece"])
def test_docstring_examples(module):
    mod = importlib.import_module(f"dlcourse.text{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.slow
def test_vocab_streams_wordnet_glosses_from_a_file(tmp_path):
    import tracemalloc

    from dlcourse.data.readers import read_wordnet_glosses
    from dlcourse.text import Vocab, get_tokenizer, read_text_lines

    path = tmp_path / "glosses.txt"
    path.write_text("\n".join(read_wordnet_glosses()) + "\n", encoding="utf-8")
    tok = get_tokenizer("basic_english")
    tracemalloc.start()
    vocab = Vocab.build(tok.stream(read_text_lines(path, skip_blank=True)), min_freq=5)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kept = sum(vocab.freqs)  # running tokens of the kept types
    # DATA.md: 1.70M tokens with punctuation, 18,593 word types with count >= 5; basic_english
    # keeps 18,916 types (+2 specials) covering 1.45M tokens
    assert 1_300_000 < kept < 1_700_000
    assert 17_000 < len(vocab) < 21_000
    # the corpus as token lists would take > 100 MB; streaming holds only counts and one chunk
    assert peak < 40_000_000, peak
