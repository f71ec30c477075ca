"""What the embedding trainers take as a corpus: refused where it would train on the wrong
thing (a DataFrame's column names) or fail inside the scan with Python's own message."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from dlcourse.embeddings import GloVe, Word2Vec
from dlcourse.errors import InputError, MissingFileError

SMALL = dict(vector_size=4, epochs=1, min_count=1, workers=1)


@pytest.mark.parametrize("estimator", [Word2Vec, GloVe])
def test_a_dataframe_is_refused_naming_the_column_to_pass(estimator):
    # iterating a DataFrame gives its column names: the model learned the one word 'text'
    frame = pd.DataFrame({"text": ["the cat sat", "the dog sat"]})
    with pytest.raises(InputError, match=r"the corpus must be a sequence of texts or token "
                                         r"lists, got a DataFrame with the columns 'text'; pass "
                                         r"one column of it, e.g. df\['text'\]"):
        estimator(**SMALL).fit(frame)
    model = estimator(**SMALL).fit(frame["text"])  # the column works
    assert set(model.wv.index_to_key) == {"the", "cat", "sat", "dog"}


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, 5])
@pytest.mark.parametrize("estimator", [Word2Vec, GloVe])
def test_a_missing_text_is_named_with_its_position(estimator, missing):
    # it was TypeError: 'NoneType' object is not iterable, from inside the scan
    with pytest.raises(InputError, match=r"sentence 1 of the corpus is \w+ .*, not a text or "
                                         r"a list of tokens; drop or fill the missing texts"):
        estimator(**SMALL).fit(["a b c", missing])
    with pytest.raises(InputError, match="sentence 1 of the corpus"):
        estimator(**SMALL).fit(pd.Series(["a b c", missing], dtype=object))


def test_a_text_given_as_the_corpus_path_says_to_wrap_it(workdir):
    with pytest.raises(MissingFileError, match=r"corpus file the cat sat does not exist; .* "
                                               r"\(to train on this text itself, pass a list: "
                                               r"\[text\]\)"):
        Word2Vec(**SMALL).fit("the cat sat")
    with pytest.raises(MissingFileError, match=r"corpus file nosuch.txt does not exist; give a "
                                               r"text file \(or a folder of them\) with one "
                                               r"sentence per line$"):
        Word2Vec(**SMALL).fit("nosuch.txt")


@pytest.mark.parametrize("estimator", [Word2Vec, GloVe])
def test_a_callback_that_cannot_be_called_is_refused_before_training(estimator, caplog):
    with caplog.at_level(logging.INFO, logger="dlcourse"), \
            pytest.raises(InputError, match=r"callback must be a function of one dict .*, got "
                                            r"int 5"):
        estimator(**SMALL).fit([["a", "b"]] * 3, callback=5)
    assert "vocabulary" not in caplog.text  # before the corpus is read


def test_evaluate_refuses_an_empty_list_and_a_number():
    model = Word2Vec(**SMALL).fit([["king", "queen", "man", "woman"]] * 5)
    with pytest.raises(InputError, match=r"data is an empty list; name a set or a file"):
        model.evaluate([])  # it ran the default sets
    with pytest.raises(InputError, match=r"data must be a set's name, a file or a list of "
                                         r"them, got int 5"):
        model.evaluate(5)  # it was TypeError: 'int' object is not iterable
