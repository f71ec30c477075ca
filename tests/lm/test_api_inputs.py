"""The lm lesson's Python API with odd arguments: a missing corpus file, integer-likes and
non-finite numbers given to ``generate``, and a Kneser-Ney bigram used before ``fit`` or with
ids outside its vocabulary. Each is either accepted as configs accept it or refused with the
library's own exception, never a torch or numpy error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.errors import DlcourseError, InputError, MissingFileError, NotFittedError
from dlcourse.lm import KneserNeyBigram, LanguageModel, load_corpus


@pytest.fixture(scope="module")
def lm(lee_corpus, tiny_config):
    return LanguageModel(tiny_config(epochs=1, lr=1e-2)).fit(lee_corpus)


def test_a_missing_corpus_file_is_a_missing_file_error(tmp_path):
    missing = tmp_path / "missing.txt"
    with pytest.raises(MissingFileError, match=r"no data '.*missing\.txt': give one of ") as e:
        load_corpus(str(missing))
    # still what open() raises, and what `except DlcourseError` / `except ValueError` catch
    assert isinstance(e.value, FileNotFoundError)
    assert isinstance(e.value, InputError) and isinstance(e.value, DlcourseError)


def test_generate_takes_integer_likes_as_configs_do(lm):
    text = lm.generate("the", max_tokens=3, seed=1)
    assert len(text.split()) == 3
    # numpy integers (a grid of settings) and whole floats (4.0, as LMConfig takes) are the same
    assert lm.generate("the", max_tokens=3, seed=np.int64(1)) == text
    assert lm.generate("the", max_tokens=3.0, seed=1.0) == text
    assert lm.generate("the", max_tokens=np.int32(3), seed=np.uint32(1),
                       top_k=np.int64(40)) == text
    assert lm.generate("the", max_tokens=3, seed=1, top_k=40.0) == text
    # ...but a fraction, a bool or text is still no count
    for options, match in [
        (dict(seed=1.5), "seed must be an integer from 0 to 4,294,967,295 or None, got 1.5"),
        (dict(seed=True), "seed must be an integer from 0 to 4,294,967,295 or None, got True"),
        (dict(seed=float("nan")), "seed must be an integer .* got nan"),
        (dict(seed="1"), "seed must be an integer .* got '1'"),
        (dict(max_tokens=2.5), "max_tokens must be an integer from 1 to 100,000, got 2.5"),
        (dict(max_tokens=float("inf")), "max_tokens must be an integer from 1 to 100,000, "
                                        "got inf"),
        (dict(max_tokens=np.int64(0)), "max_tokens must be an integer from 1 to 100,000"),
    ]:
        with pytest.raises(InputError, match=match):
            lm.generate("the", **{"max_tokens": 3, "seed": 0, **options})
    # a finite temperature, however large, still samples
    greedy = lm.generate("the", max_tokens=5, temperature=0)
    assert lm.generate("the", max_tokens=5, temperature=np.float64(0.0)) == greedy
    assert len(lm.generate("the", max_tokens=5, temperature=1e6, seed=0).split()) == 5


@pytest.mark.parametrize("options, match", [
    (dict(temperature=float("nan")), r"temperature must be a finite number >= 0 \(0 = greedy\), "
                                     "got nan"),
    (dict(temperature=float("inf")), "temperature must be a finite number >= 0 .* got inf"),
    (dict(temperature=np.float32("nan")), "temperature must be a finite number >= 0"),
    (dict(temperature=-0.5), "temperature must be a finite number >= 0 .* got -0.5"),
    (dict(temperature="hot"), "temperature must be a finite number >= 0 .* got 'hot'"),
    (dict(top_k=float("nan")), r"top_k must be an integer >= 0 \(0 or None: all words\), "
                               "got nan"),
    (dict(top_k=float("inf")), "top_k must be an integer >= 0 .* got inf"),
    (dict(top_k=2.5), "top_k must be an integer >= 0 .* got 2.5"),
    (dict(top_k=-1), "top_k must be an integer >= 0 .* got -1"),
])
def test_generate_refuses_values_it_cannot_use_with_an_input_error(lm, options, match):
    with pytest.raises(InputError, match=match):
        lm.generate("the", **{"max_tokens": 3, "seed": 0, **options})


def test_a_bigram_used_before_fit_is_not_fitted():
    with pytest.raises(NotFittedError, match="call fit"):
        KneserNeyBigram().log_prob([0], [1])
    with pytest.raises(NotFittedError):
        KneserNeyBigram().prob(0)


@pytest.mark.parametrize("call, match", [
    (lambda m: m.prob(7), r"token ids must be in \[0, 3\), got 7"),
    (lambda m: m.prob(-1), r"token ids must be in \[0, 3\), got -1"),
    (lambda m: m.prob(1.0), "token ids must be integers"),
    (lambda m: m.prob([0, 1]), r"prob takes one word id, got shape \(2,\)"),
    (lambda m: m.log_prob([0, 1], [1, 3]), r"token ids must be in \[0, 3\), got 1\.\.3"),
    (lambda m: m.log_prob([-1], [0]), r"token ids must be in \[0, 3\)"),
    (lambda m: m.log_prob([0, 1], [1, 2, 0]), r"one shape, got \(2,\) and \(3,\)"),
])
def test_bigram_ids_outside_the_vocabulary_are_an_input_error(call, match):
    model = KneserNeyBigram().fit([0, 1, 2, 1])
    with pytest.raises(InputError, match=match):
        call(model)
    # the words perplexity has always used for the same mistake
    with pytest.raises(InputError, match=r"token ids must be in \[0, 3\), got 0\.\.7"):
        model.perplexity([0, 7])


def test_bigram_queries_in_range_still_answer():
    model = KneserNeyBigram().fit(np.array([0, 1, 2, 1, 2, 0]))
    with pytest.raises(InputError, match=r"token ids must be in \[0, 3\), got -1"):
        model.prob(-1)  # numpy would read the last word's counts: a wrong answer, no error
    assert model.prob(np.int64(2)).sum() == pytest.approx(1.0)
    expected = model.log_prob(np.array([0, 1]), np.array([1, 2]))
    assert np.allclose(model.log_prob(torch.tensor([0, 1]), [1, 2]), expected)
    assert np.allclose(model.log_prob(1, [0, 1, 2]), np.log(model.prob(1)))  # broadcast


def test_set_params_model_brings_its_recipe_as_the_constructor_does():
    # a grid over `model` (clone, then set_params) trained the lesson's model with the LSTM's
    # settings: 200-d embeddings, lr 2e-3, clipping, LR decay, early stopping
    from sklearn.base import clone

    from dlcourse.lm import LanguageModel

    lesson = LanguageModel(model="embedding").get_params()
    assert LanguageModel().set_params(model="embedding").get_params() == lesson
    assert clone(LanguageModel()).set_params(model="embedding").get_params() == lesson
    assert LanguageModel(model="embedding").set_params(model="lstm").get_params() == \
        LanguageModel().get_params()
    mine = LanguageModel(embed_dim=64).set_params(model="embedding", hidden_size=32)
    assert (mine.embed_dim, mine.hidden_dim, mine.lr) == (64, 32, lesson["lr"])  # mine stay


def test_the_perplexity_of_a_diverged_loss_is_infinite_not_a_traceback():
    # `lm train --lr 1e12` ended in "OverflowError: math range error" from math.exp
    import math

    from dlcourse.lm.inference import perplexity_of

    assert perplexity_of(math.log(99.0)) == pytest.approx(99.0)
    assert perplexity_of(1e6) == math.inf and math.isnan(perplexity_of(math.nan))
