"""`dlcourse embed` verbs in-process on a dry-run model, as a user types them, and the 2-D map."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlcourse.embeddings import KeyedVectors, Word2Vec, load_vectors
from dlcourse.plots.embeddings import plot_word_map, project_2d


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from dlcourse.cli.main import main

    out = tmp_path_factory.mktemp("embed") / "model"
    main(["embed", "train", "lee", "--out", str(out), "--dry-run", "--dim", "16",
          "--device", "cpu"])
    return out


def test_train_writes_model_checkpoint_and_history(trained):
    history = json.loads((trained / "history.json").read_text())
    assert len(history) == 1 and history[0]["words"] > 0
    assert load_vectors(trained).vector_size == 16
    model = Word2Vec.load(trained)
    assert model.config.vector_size == 16 and model.history_ == history
    assert (trained / "last.safetensors").exists()


def test_glove_train_dry_run(cli_run, workdir):
    result = cli_run("embed", "train", "lee", "--method", "glove", "--out", "run", "--dry-run",
                     "--dim", "8", "--x-max", "10", "--weight-exponent", "0.5", "--lr", "0.1")
    assert result.code == 0, result.err
    from dlcourse.embeddings import GloVe

    model = GloVe.load("run")
    assert model.wv.vector_size == 8
    assert (model.config.x_max, model.config.alpha, model.config.eta) == (10.0, 0.5, 0.1)


@pytest.mark.parametrize("backend, noted", [("numba", True), ("torch", False)])
def test_batch_size_on_the_cpu_kernel_is_noted(cli_run, workdir, backend, noted):
    """The CPU kernel updates pair by pair: a --batch-size it cannot use gets a note."""
    result = cli_run("embed", "train", "lee", "--out", "run", "--dry-run", "--dim", "8",
                     "--device", "cpu", "--backend", backend, "--batch-size", "512")
    assert result.code == 0, result.err
    assert ("note: --batch-size sets the torch path's step" in result.err) is noted


def test_similar_analogy_evaluate(trained, cli_run, workdir):
    result = cli_run("embed", "similar", trained, "the", "--topn", "3")
    assert result.code == 0 and "nearest to 'the'" in result.out
    result = cli_run("embed", "analogy", trained, "the", "a", "of", "--scoring", "3cosmul")
    assert result.code == 0 and "the : a :: of : ?" in result.out
    result = cli_run("embed", "evaluate", trained)
    assert result.code == 0 and "similarity (spearman)" in result.out
    assert workdir() == set()  # evaluate prints; it writes only when asked
    result = cli_run("embed", "evaluate", trained, "wordsim353", "--out", "eval")
    assert result.code == 0, result.err
    saved = json.loads(open("eval/evaluation.json").read())
    assert [r["kind"] for r in saved] == ["similarity"] and saved[0]["pairs"] > 0


def test_old_spellings_work_with_a_note(trained, cli_run, workdir):
    result = cli_run("embed", "analogy", trained, "the", "a", "of", "--method", "3cosmul")
    assert result.code == 0 and "note: '--method 3cosmul' is deprecated" in result.err
    result = cli_run("embed", "export", trained, "old.txt")
    assert result.code == 0 and "write 'dlcourse embed export MODEL_DIR --to old.txt'" in \
        result.err
    result = cli_run("embed", "evaluate", trained, "--json", "e.json")
    assert result.code == 0 and "--json e.json" in result.err
    assert json.loads(open("e.json").read())[0]["kind"] == "similarity"
    result = cli_run("embed", "train", "--data", "lee", "--dry-run", "--alpha", "0.05",
                     "--dim", "4", "--out", "run")
    assert result.code == 0, result.err
    assert "'--alpha 0.05' is deprecated" in result.err and "--data lee" in result.err
    assert Word2Vec.load("run").config.alpha == 0.05


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-binary", "glove"])
def test_export_formats_load_back(trained, cli_run, workdir, fmt):
    from gensim.models import KeyedVectors as GensimKV

    dest = "v.bin" if fmt == "word2vec-binary" else "v.txt"
    result = cli_run("embed", "export", trained, "--to", dest, "--format", fmt)
    assert result.code == 0, result.err
    ref = GensimKV.load_word2vec_format(dest, binary=fmt == "word2vec-binary",
                                        no_header=fmt == "glove")
    np.testing.assert_array_equal(ref.vectors, load_vectors(trained).vectors)
    # the exported file serves as MODEL_DIR too
    result = cli_run("embed", "similar", dest, "the", "--topn", "2")
    assert result.code == 0 and "nearest to 'the'" in result.out


@pytest.mark.parametrize("name", ["model.safetensors", "last.safetensors", "history.json"])
def test_export_never_writes_over_the_runs_own_files(trained, cli_run, workdir, name):
    before = (trained / name).read_bytes()
    cli_run("embed", "export", trained, "--to", trained / name).assert_user_error(
        f"the training run's own {name}; writing there would destroy it")
    assert (trained / name).read_bytes() == before
    assert cli_run("embed", "similar", trained, "the", "--topn", "2").code == 0


def test_plot_verb_and_word_map(trained, cli_run, workdir):
    result = cli_run("embed", "plot", trained, "the", "of", "--out", "maps/map.png",
                     "--topn", "4")
    assert result.code == 0, result.err
    assert open("maps/map.png", "rb").read()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_map_of_many_words_is_drawn_or_refused_at_once(trained, cli_run, workdir, refused,
                                                          monkeypatch):
    # --top 500 took 4 minutes and 10 GB in adjustText, --top 1000 asked for 119 GiB and
    # failed after the work with exit 1
    refused(workdir, "embed", "plot", trained, "the", "--out", "m.png", "--top", "1000",
            match=r"1 word\(s\) with --top 1000 make up to 1,001 labels, more than a map can "
                  r"show \(at most 1,000\); give a smaller --top or fewer words")
    import dlcourse.plots.embeddings as maps

    spread = []
    monkeypatch.setattr(maps, "_spread_labels", lambda *a: spread.append(len(a[1])))
    rng = np.random.default_rng(0)
    for n in (maps.SPREAD_MAX, maps.SPREAD_MAX + 1):  # past the bound the labels stay put
        maps.plot_word_map([f"w{i}" for i in range(n)], rng.normal(size=(n, 8)), "many.png")
        assert open("many.png", "rb").read()[:8] == b"\x89PNG\r\n\x1a\n"
    assert spread == [maps.SPREAD_MAX]


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


def test_train_from_a_text_file(cli_run, workdir, lee_sentences):
    with open("corpus.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(" ".join(s) for s in lee_sentences[:100]))
    result = cli_run("embed", "train", "corpus.txt", "--method", "cbow", "--out", "m", "--dim",
                     "8", "--epochs", "1", "--min-count", "2", "--device", "cpu")
    assert result.code == 0, result.err
    assert "police" in load_vectors("m")
    with open("latin1.txt", "wb") as f:
        f.write("le café est très bon\n".encode("latin-1") * 50)
    result = cli_run("embed", "train", "latin1.txt", "--encoding", "latin-1", "--min-count",
                     "1", "--epochs", "1", "--out", "l")
    assert result.code == 0, result.err
    assert "café" in KeyedVectors.load("l")


def test_a_probe_heads_its_own_group_when_it_is_another_probes_neighbour():
    from dlcourse.embeddings import words_and_neighbors

    kv = KeyedVectors(["king", "queen", "man", "apple"],
                      np.array([[1, 0, 0], [0.9, 0.1, 0], [0.7, 0.3, 0], [0, 0, 1]], np.float32))
    words, groups = words_and_neighbors(kv, ["king", "queen", "king"], topn=2)
    # queen is king's nearest word but is drawn, in bold, as the head of its own group
    assert words == ["king", "man", "queen"]
    assert groups == [0, 0, 1]


def test_tsne_maps_two_words(tmp_path):
    pytest.importorskip("sklearn")
    xy = project_2d(np.random.default_rng(0).normal(size=(2, 5)), "tsne")
    assert xy.shape == (2, 2) and np.isfinite(xy).all()


def test_word_map_labels_lie_inside_the_frame(tmp_path, monkeypatch):
    """A long word at the right edge ran past the axes (autoscale sees only the points)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    import dlcourse.plots.embeddings as plots

    figures = []
    save = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: figures.append(fig) or
                        save(fig, path))
    words = ["a", "b", "a-rather-long-label-at-the-right-edge"]
    plot_word_map(words, np.array([[0.0, 0], [1, 1], [2, 0]]), tmp_path / "m.png")
    ax = figures[0].axes[0]
    figures[0].set_canvas(FigureCanvasAgg(figures[0]))  # closing the figure left a bare canvas
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    for text in ax.texts:
        box = text.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, (text.get_text(), box, frame)
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1, (text.get_text(), box, frame)


def test_missing_glyphs_are_one_line(tmp_path, caplog):
    """Matplotlib warned once per glyph, with its own source line; now one log line."""
    import warnings

    import dlcourse.plots.common as common

    common._NOTED_GLYPHS.discard("DEVANAGARI LETTER HA")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no matplotlib warning gets through
        plot_word_map(["हु", "हि", "ok"], np.eye(3), tmp_path / "m.png")
    notes = [r.getMessage() for r in caplog.records if "font has no" in r.getMessage()]
    assert notes == ["the figures' font has no devanagari letter ha: labels with it show boxes"]
