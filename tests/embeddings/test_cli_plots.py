"""`dlcourse embed` verbs in-process on a dry-run model, and the 2-D map."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dlcourse.cli.embed import group
from dlcourse.embeddings import KeyedVectors, load_vectors
from dlcourse.plots.embeddings import plot_word_map, project_2d


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("embed") / "model"
    result = CliRunner().invoke(group, ["train", "lee", "--out", str(out), "--dry-run",
                                        "--dim", "16", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    return out


def test_train_writes_checkpoint_and_history(trained):
    history = json.loads((trained / "history.json").read_text())
    assert len(history) == 1 and history[0]["words"] > 0
    assert load_vectors(trained).vector_size == 16


def test_glove_train_dry_run(tmp_path):
    result = CliRunner().invoke(group, ["train", "lee", "--method", "glove", "--out",
                                        str(tmp_path), "--dry-run", "--dim", "8"])
    assert result.exit_code == 0, result.output
    assert KeyedVectors.load(tmp_path).vector_size == 8


def test_similar_analogy_evaluate(trained, tmp_path):
    runner = CliRunner()
    result = runner.invoke(group, ["similar", str(trained), "the", "--topn", "3"])
    assert result.exit_code == 0 and "nearest to 'the'" in result.output
    result = runner.invoke(group, ["analogy", str(trained), "the", "a", "of"])
    assert result.exit_code == 0 and "the : a :: of : ?" in result.output
    result = runner.invoke(group, ["evaluate", str(trained), "--json", str(tmp_path / "e.json")])
    assert result.exit_code == 0 and "similarity (spearman)" in result.output
    assert json.loads((tmp_path / "e.json").read_text())["analogies"]["total"] >= 0


def test_unknown_word_is_one_clear_error(trained):
    from dlcourse.errors import DlcourseError

    result = CliRunner().invoke(group, ["similar", str(trained), "thw"])
    assert isinstance(result.exception, DlcourseError)
    assert "not in the vocabulary" in str(result.exception) and "the" in str(result.exception)


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-binary", "glove"])
def test_export_formats_load_back(trained, tmp_path, fmt):
    from gensim.models import KeyedVectors as GensimKV

    dest = tmp_path / ("v.bin" if fmt == "word2vec-binary" else "v.txt")
    result = CliRunner().invoke(group, ["export", str(trained), str(dest), "--format", fmt])
    assert result.exit_code == 0, result.output
    ref = GensimKV.load_word2vec_format(dest, binary=fmt == "word2vec-binary",
                                        no_header=fmt == "glove")
    np.testing.assert_array_equal(ref.vectors, load_vectors(trained).vectors)


def test_plot_verb_and_word_map(trained, tmp_path):
    png = tmp_path / "map.png"
    result = CliRunner().invoke(group, ["plot", str(trained), "the", "of", "--out", str(png),
                                        "--topn", "4"])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_projection_keeps_structure():
    rng = np.random.default_rng(0)
    # two far-apart clusters in 20-D stay separated along the first principal axis
    x = np.concatenate([rng.normal(0, 0.1, (10, 20)), rng.normal(5, 0.1, (10, 20))])
    xy = project_2d(x, "pca")
    assert xy.shape == (20, 2)
    assert np.sign(xy[:10, 0]).tolist() == [np.sign(xy[0, 0])] * 10
    assert np.sign(xy[10:, 0]).tolist() == [-np.sign(xy[0, 0])] * 10
    with pytest.raises(ValueError, match="choose one of pca, tsne"):
        project_2d(x, "umap")


@pytest.mark.slow
def test_plot_word_map_tsne(tmp_path):
    vectors = np.random.default_rng(1).normal(size=(12, 5))
    path = plot_word_map([f"w{i}" for i in range(12)], vectors, tmp_path / "t.png",
                         groups=[i // 4 for i in range(12)], method="tsne")
    assert path.stat().st_size > 1000


def test_train_from_a_text_file_and_bad_corpus(tmp_path, lee_sentences):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(s) for s in lee_sentences[:100]), encoding="utf-8")
    result = CliRunner().invoke(group, ["train", str(corpus), "--method", "cbow", "--out",
                                        str(tmp_path / "m"), "--dim", "8", "--epochs", "1",
                                        "--min-count", "2", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "police" in load_vectors(tmp_path / "m")
    result = CliRunner().invoke(group, ["train", "no-such-corpus", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "neither a file nor one of" in result.output
