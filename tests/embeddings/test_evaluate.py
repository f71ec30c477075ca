"""Evaluation: our WordSim-353 and analogy scores equal gensim's on the same vectors."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors as GensimKV

from dlcourse.data import fetch
from dlcourse.embeddings import evaluate_analogies, evaluate_similarity, one_hot, spearman
from dlcourse.errors import DlcourseError


@pytest.fixture(scope="module")
def gensim_twin(lee_skipgram):
    kv = GensimKV(lee_skipgram.wv.vector_size)
    kv.add_vectors(lee_skipgram.wv.index_to_key, lee_skipgram.wv.vectors)
    return kv


def test_similarity_matches_gensim(lee_skipgram, gensim_twin):
    ours = evaluate_similarity(lee_skipgram.wv)
    pearson, (rho, _), oov_ratio = gensim_twin.evaluate_word_pairs(
        fetch("wordsim353") / "wordsim353.tsv")
    assert ours["spearman"] == pytest.approx(rho, abs=1e-6)
    assert ours["pearson"] == pytest.approx(pearson[0], abs=1e-5)
    assert ours["oov_ratio"] == pytest.approx(oov_ratio)
    assert ours["pairs"] + ours["oov"] == 353


def test_analogies_match_gensim(lee_skipgram, gensim_twin):
    ours = evaluate_analogies(lee_skipgram.wv)
    score, sections = gensim_twin.evaluate_word_analogies(
        fetch("questions-words") / "questions-words.txt")
    total = sections[-1]
    assert ours["correct"] == len(total["correct"])
    assert ours["total"] == len(total["correct"]) + len(total["incorrect"])
    assert ours["accuracy"] == pytest.approx(score)
    assert ours["total"] > 0 and ours["skipped"] > 0
    cosmul = evaluate_analogies(lee_skipgram.wv, method="3cosmul")
    assert cosmul["total"] == ours["total"]
    # Lee's vocabulary answers no question of some sections: no accuracy there, not 0
    empty = [r for r in ours["sections"] if r["total"] == 0]
    assert empty and all(r["accuracy"] is None for r in empty)
    assert all(r["accuracy"] == r["correct"] / r["total"] for r in ours["sections"]
               if r["total"])


def test_spearman_matches_scipy_with_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, 50), rng.normal(size=50)
    assert spearman(a, b) == pytest.approx(spearmanr(a, b)[0], abs=1e-12)


def test_one_hot_knows_no_similarity(lee_skipgram):
    words = lee_skipgram.wv.index_to_key[:2000]
    baseline = one_hot(words)
    assert baseline.similarity(words[0], words[1]) == 0.0
    assert evaluate_analogies(baseline)["correct"] == 0
    # every in-vocabulary WordSim pair of two different words scores 0: no ranking at all
    assert np.isnan(evaluate_similarity(baseline)["spearman"])
    with pytest.raises(ValueError, match="max_words"):
        one_hot(["w"] * 3, max_words=2)


def test_bad_files(lee_skipgram, tmp_path):
    bad = tmp_path / "pairs.tsv"
    bad.write_text("tiger\tcat\n", encoding="utf-8")
    with pytest.raises(DlcourseError, match="expected 'word1"):
        evaluate_similarity(lee_skipgram.wv, bad)
    with pytest.raises(FileNotFoundError):
        evaluate_analogies(lee_skipgram.wv, tmp_path / "missing.txt")
    with pytest.raises(DlcourseError, match="no word-pair file"):  # one line on the CLI
        evaluate_similarity(lee_skipgram.wv, tmp_path / "missing.tsv")
    # a gold score that is not a number a correlation can use: refused, naming the line
    bad.write_text("tiger\tcat\t7.35\nwar\tpeace\tnan\n", encoding="utf-8")
    with pytest.raises(DlcourseError, match=r"pairs.tsv:2: the score 'nan' is not a finite"):
        evaluate_similarity(lee_skipgram.wv, bad)


def test_the_estimators_evaluate_gives_what_the_command_prints(lee_skipgram, tmp_path):
    # every other lesson's estimator has evaluate; word2vec and GloVe had only module functions
    import json

    from dlcourse.embeddings import GloVe, Word2Vec, evaluate_analogies, evaluate_similarity
    from dlcourse.errors import DlcourseError, NotFittedError

    scores = lee_skipgram.evaluate()
    assert list(scores) == ["wordsim353", "questions-words"]
    assert scores["wordsim353"] == evaluate_similarity(lee_skipgram.wv)
    assert scores["questions-words"] == evaluate_analogies(lee_skipgram.wv)
    json.dumps(scores, allow_nan=False)  # plain values
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("# mine\nwar\tpeace\t5.0\ngovernment\tminister\t7.5\nfire\tarea\t3.0\n")
    mine = lee_skipgram.evaluate(pairs)[str(pairs)]
    assert mine["pairs"] + mine["oov"] == 3 and -1 <= mine["spearman"] <= 1
    with pytest.raises(DlcourseError, match="neither an evaluation set"):
        lee_skipgram.evaluate(["wordsim353", "no-such-set"])
    for cls in (Word2Vec, GloVe):
        with pytest.raises(NotFittedError):
            cls().evaluate()


def test_a_correlation_of_few_pairs_is_named(lee_skipgram, tmp_path, caplog):
    # 2 pairs rank at +-1 whatever the vectors: a user read -1 as the vectors' score
    words = lee_skipgram.wv.index_to_key[:24]
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{a}\t{b}\t{i}\n" for i, (a, b) in
                             enumerate(zip(words[:2], words[2:4]))) + "qqqx\tzzzy\t1\n",
                     encoding="utf-8")
    with caplog.at_level("WARNING", logger="dlcourse"):
        result = evaluate_similarity(lee_skipgram.wv, pairs)
    assert abs(result["spearman"]) == 1.0 and result["pairs"] == 2
    assert "only 2 pairs of pairs.tsv are in the vocabulary (1 out of it): a correlation of " \
           "so few pairs is mostly chance" in caplog.text
    caplog.clear()
    pairs.write_text("".join(f"{a}\t{b}\t{i}\n" for i, (a, b) in
                             enumerate(zip(words[:12], words[12:]))), encoding="utf-8")
    with caplog.at_level("WARNING", logger="dlcourse"):
        assert evaluate_similarity(lee_skipgram.wv, pairs)["pairs"] == 12
    assert "mostly chance" not in caplog.text
