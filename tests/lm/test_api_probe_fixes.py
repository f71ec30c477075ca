"""What a new user's probe of the language-model API tripped on: text given to perplexity,
the Kneser-Ney baseline fitted and measured unlike LanguageModel, and corpus settings below
the minimum that load_corpus took (all on the Lee corpus)."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.errors import ConfigError, InputError
from dlcourse.lm import CorpusConfig, KneserNeyBigram, LanguageModel, load_corpus


@pytest.fixture(scope="module")
def lm(lee_corpus, tiny_config):
    return LanguageModel(tiny_config(epochs=1)).fit(lee_corpus)


def test_perplexity_of_text_says_to_encode_it(lm, lee_corpus):
    """A string was read as one 0-d id ("need at least two token ids, got 1")."""
    for text in ("the war is over", ["the", "war", "is", "over"]):
        with pytest.raises(InputError, match=r"perplexity takes token ids .*got text .*the.*; "
                                             r"encode it first: lm\.perplexity\(lm\.encode\(text"):
            lm.perplexity(text)
    ids = lm.encode("the war is over")
    assert len(ids) == 5  # four words and <eos>
    expected = lm.perplexity(ids)
    assert lm.perplexity(ids.tolist()) == expected == lm.perplexity(ids.numpy())
    with pytest.raises(InputError, match=r"perplexity takes token ids, got a Corpus; .*"
                                         r"evaluate\(corpus\)"):
        lm.perplexity(lee_corpus)
    with pytest.raises(InputError, match=r"perplexity takes token ids .*got NoneType"):
        lm.perplexity(None)
    with pytest.raises(InputError, match=r"got str; for a text use perplexity\(lm\.encode"):
        lm.evaluate("the war is over")


def test_generate_reads_words_and_refuses_token_ids(lm, lee_corpus):
    """Ids in a prompt list were joined as the words "12 5" (a tensor's as "tensor(12)")."""
    ids = lee_corpus.test[:3]
    for prompt in (ids, ids.tolist(), ids.numpy()):
        with pytest.raises(InputError, match=r"prompt must be text or a list of words, got .* "
                                             r"in the list; for token ids give the words"):
            lm.generate(prompt, max_tokens=3)
    words = [lm.itos_[i] for i in ids.tolist()]
    assert lm.generate(words, max_tokens=4, seed=1) == lm.generate(" ".join(words),
                                                                   max_tokens=4, seed=1)


def test_kneser_ney_fits_and_evaluates_a_corpus_as_the_language_model_does(lm, lee_corpus,
                                                                          tmp_path):
    bigram = KneserNeyBigram().fit(lee_corpus)
    assert bigram.vocab_size_ == len(lee_corpus.itos) and bigram.itos_ == lee_corpus.itos
    # the same counts as the id stream of its train split with the corpus's vocabulary size
    on_ids = KneserNeyBigram(len(lee_corpus.itos)).fit(lee_corpus.train)
    assert on_ids.itos_ is None
    np.testing.assert_array_equal(bigram.counts_, on_ids.counts_)
    scores = bigram.evaluate(lee_corpus)
    assert scores == on_ids.evaluate(lee_corpus)
    assert scores.keys() == lm.evaluate(lee_corpus).keys() == {"valid_ppl", "valid_unk",
                                                               "test_ppl", "test_unk"}
    # the share of <unk> beside each perplexity, as `lm evaluate` prints it
    assert scores["test_unk"] == lee_corpus.unknown_share("test") > 0
    assert scores["test_ppl"] == bigram.perplexity(lee_corpus.test)
    # a count bigram on ~12k tokens: far below the uniform V, above the text it counted
    assert bigram.perplexity(lee_corpus.train) < scores["test_ppl"] < len(lee_corpus.itos) / 10
    assert KneserNeyBigram(len(lee_corpus.itos)).fit(lee_corpus).evaluate(lee_corpus) == scores

    bigram.save(tmp_path / "kn")
    loaded = KneserNeyBigram.load(tmp_path / "kn")
    assert loaded.itos_ == lee_corpus.itos and loaded.evaluate(lee_corpus) == scores


def test_kneser_ney_refuses_what_it_cannot_count(lee_corpus):
    v = len(lee_corpus.itos)
    with pytest.raises(ConfigError, match=rf"vocab_size 5 differs from the {v:,} words of the "
                                          r"corpus's vocabulary; leave it at None") as info:
        KneserNeyBigram(5).fit(lee_corpus)
    assert info.value.field == "vocab_size"
    for data in ("the war is over", ["the", "war"]):
        with pytest.raises(InputError, match=r"fit takes token ids .*got text .*fit it on a "
                                             r"Corpus"):
            KneserNeyBigram().fit(data)
    bigram = KneserNeyBigram().fit(lee_corpus)
    with pytest.raises(InputError, match=r"perplexity takes token ids .*got text"):
        bigram.perplexity("the war is over")
    with pytest.raises(InputError, match=r"evaluate takes a Corpus .*got Tensor; for a token id "
                                         r"stream use perplexity\(ids\)"):
        bigram.evaluate(lee_corpus.test)
    other = load_corpus("lee", max_lines=60, max_size=100)
    with pytest.raises(InputError, match=rf"the corpus vocabulary \({len(other.itos)} words\) "
                                         rf"differs from the one the model counted \({v:,} ids\)"):
        bigram.evaluate(other)
    with pytest.raises(InputError, match=r"differs .*fit the bigram on this corpus"):
        KneserNeyBigram(v).fit(lee_corpus.train).evaluate(other)


def test_load_corpus_checks_its_settings_as_lm_train_does(cli_run, workdir):
    """max_size=2 built a corpus although CorpusConfig (and `lm train --max-vocab`) say 4."""
    result = cli_run("lm", "train", "lee", "--max-vocab", "2", "--out", "run")
    result.assert_user_error("--max-vocab must be >= 4, got 2")
    with pytest.raises(ConfigError, match=r"^max_size must be >= 4, got 2$") as info:
        load_corpus("lee", max_size=2)
    assert info.value.field == "max_size"
    with pytest.raises(ConfigError) as direct:
        CorpusConfig(max_size=2).validate()
    assert str(info.value) == str(direct.value)
    for settings, field in [({"min_freq": 0}, "min_freq"), ({"max_lines": 0}, "max_lines"),
                            ({"encoding": "no-such-codec"}, "encoding"), ({"seed": -1}, "seed"),
                            ({"seed": 1.5}, "seed")]:
        with pytest.raises(ConfigError) as info:
            load_corpus("lee", **settings)
        assert info.value.field == field, settings
    # numbers as a grid of settings gives them are stored as the plain values they stand for
    corpus = load_corpus("lee", max_lines=np.int64(60), max_size=300.0, seed=np.int64(1))
    assert corpus.settings == {"seed": 1, "max_lines": 60, "encoding": "utf-8",
                               "max_size": 300, "min_freq": 2}
    assert all(type(corpus.settings[k]) is int for k in ("seed", "max_lines", "max_size"))
