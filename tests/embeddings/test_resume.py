"""Checkpoints and --resume of Word2Vec and GloVe: a run interrupted inside an epoch
(DLCOURSE_INTERRUPT_AFTER) and resumed ends with the arrays of the run never interrupted, bit for
bit, and the same history; resuming with other settings or data is one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dlcourse.embeddings import GloVe, Word2Vec, corpus, word2vec_cpu
from dlcourse.engine.persist import read_manifest, read_state
from dlcourse.errors import DlcourseError, TrainingInterrupted

TIMING = ("seconds", "words_per_s")  # the only history values a resume may change


def without_timing(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k not in TIMING} for h in history]


def interrupted_twice(make, sentences, out, monkeypatch, steps, wheres):
    """Fit, stopped after ``steps[i]`` steps of each process, then resumed to the end."""
    for n, where in zip(steps, wheres):
        monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", str(n))
        with pytest.raises(TrainingInterrupted, match=where):
            make().fit(sentences, out_dir=out, resume=(out / "last.safetensors").exists())
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    return make().fit(sentences, out_dir=out, resume=True)


def assert_same_arrays(a_dir, b_dir):
    """Both model files hold the same arrays, bit for bit."""
    _, a = read_state(a_dir / "model.safetensors")
    _, b = read_state(b_dir / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key


@pytest.mark.parametrize("method", ["skipgram", "cbow"])
def test_word2vec_one_thread_resumed_equals_uninterrupted(method, lee_sentences, tmp_path,
                                                          monkeypatch):
    monkeypatch.setattr(word2vec_cpu, "CHUNK_TOKENS", 5000)  # about 12 chunks an epoch
    def make():
        return Word2Vec(method, vector_size=16, min_count=2, epochs=3, workers=1, seed=5)

    full = make().fit(lee_sentences, out_dir=tmp_path / "full")
    part = interrupted_twice(make, lee_sentences, tmp_path / "part", monkeypatch, (5, 14),
                             ("in epoch 1 after 5 chunks", "in epoch 2 after 7 chunks"))
    assert np.array_equal(part.wv.vectors, full.wv.vectors)
    assert np.array_equal(part.syn1neg_, full.syn1neg_)
    assert without_timing(part.history_) == without_timing(full.history_)
    assert_same_arrays(tmp_path / "full", tmp_path / "part")


def test_word2vec_torch_path_resumed_equals_uninterrupted(lee_sentences, tmp_path, monkeypatch):
    # blocks of 20,000 words: three an epoch, and the stop comes between two of them
    monkeypatch.setattr(corpus, "BLOCK_TOKENS", 20000)
    def make():
        return Word2Vec("cbow", vector_size=16, min_count=2, epochs=2, seed=1,
                        backend="torch", batch_size=512)

    full = make().fit(lee_sentences, out_dir=tmp_path / "full")
    part = interrupted_twice(make, lee_sentences, tmp_path / "part", monkeypatch, (30, 60),
                             ("in epoch 1 after 1 block;", "in epoch 2 after 1 block;"))
    assert np.array_equal(part.wv.vectors, full.wv.vectors)
    assert np.array_equal(part.syn1neg_, full.syn1neg_)
    assert without_timing(part.history_) == without_timing(full.history_)


def test_glove_resumed_equals_uninterrupted(lee_sentences, tmp_path, monkeypatch):
    def make():  # 3 blocks: 3 rounds an epoch, the steps a stop comes between
        return GloVe(vector_size=16, window=5, min_count=2, epochs=4, blocks=3, workers=2)

    full = make().fit(lee_sentences, out_dir=tmp_path / "full")
    part = interrupted_twice(make, lee_sentences, tmp_path / "part", monkeypatch, (4, 5),
                             ("in epoch 2 after 1 of 3 rounds", "in epoch 3 after 3 of 3|after "
                              "epoch 3"))
    assert np.array_equal(part.wv.vectors, full.wv.vectors)
    assert without_timing(part.history_) == without_timing(full.history_)
    assert_same_arrays(tmp_path / "full", tmp_path / "part")


def test_more_epochs_continue_a_finished_run(lee_sentences, tmp_path):
    kw = dict(vector_size=8, min_count=2, window=5, blocks=2, workers=1)
    GloVe(epochs=2, **kw).fit(lee_sentences, out_dir=tmp_path)
    longer = GloVe(epochs=3, **kw).fit(lee_sentences, out_dir=tmp_path, resume=True)
    straight = GloVe(epochs=3, **kw).fit(lee_sentences)
    # GloVe's schedule does not depend on the number of epochs: 2 + 1 epochs == 3 epochs
    assert np.array_equal(longer.wv.vectors, straight.wv.vectors)
    assert [h["epoch"] for h in longer.history_] == [1, 2, 3]


def test_resume_refuses_other_settings_data_and_runs(lee_sentences, tmp_path):
    kw = dict(vector_size=8, min_count=2, epochs=1, workers=1)
    Word2Vec(**kw).fit(lee_sentences[:100], out_dir=tmp_path / "run")
    with pytest.raises(DlcourseError, match=r"trained with window=5, this run asks for 3"):
        Word2Vec(window=3, **kw).fit(lee_sentences[:100], out_dir=tmp_path / "run", resume=True)
    with pytest.raises(DlcourseError, match=r"cannot resume .*run: it was trained on other data"):
        Word2Vec(**kw).fit(lee_sentences[:120], out_dir=tmp_path / "run", resume=True)
    with pytest.raises(DlcourseError, match=r"holds a Word2Vec run and this run trains GloVe"):
        GloVe(**kw).fit(lee_sentences[:100], out_dir=tmp_path / "run", resume=True)
    with pytest.raises(DlcourseError, match=r"nothing to resume: .*last.safetensors"):
        Word2Vec(**kw).fit(lee_sentences[:100], out_dir=tmp_path / "none", resume=True)
    with pytest.raises(ValueError, match="needs the out_dir"):
        Word2Vec(**kw).fit(lee_sentences[:100], resume=True)
    # word2vec's learning rate falls over all its epochs: more of them would not end as a
    # longer run never stopped (GloVe's may change, above)
    with pytest.raises(DlcourseError, match=r"trained with epochs=1, this run asks for 2"):
        Word2Vec(**{**kw, "epochs": 2}).fit(lee_sentences[:100], out_dir=tmp_path / "run",
                                            resume=True)
    # more workers (Hogwild) may change on resume
    Word2Vec(**{**kw, "workers": 2}).fit(lee_sentences[:100], out_dir=tmp_path / "run",
                                         resume=True)
    assert read_manifest(tmp_path / "run" / "last.safetensors")["state"]["epoch"] == 1


@pytest.mark.parametrize("method, stop, where", [
    ("skipgram", 3, "interrupted in epoch 2 after 1 chunk;"),
    ("glove", 3, "interrupted in epoch 2 after 1 of 2 rounds"),
])
def test_cli_ctrl_c_then_resume(cli_run, workdir, monkeypatch, method, stop, where):
    args = ["embed", "train", "lee", "--method", method, "--epochs", "3", "--workers", "1",
            "--dim", "8", "--min-count", "2"]
    if method == "glove":
        args += ["--blocks", "2", "--window", "5"]
    assert cli_run(*args, "--out", "full").code == 0
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", str(stop))
    result = cli_run(*args, "--out", "part")
    assert result.code == 130, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and where in errors[0] and "--resume" in errors[0]
    assert "part/last.safetensors" in workdir() and "part/model.safetensors" not in workdir()
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    result = cli_run(*args, "--out", "part", "--resume")
    assert result.code == 0, result.err
    assert "resuming at epoch 2, " in result.err  # som and embed said nothing of it
    assert_same_arrays(Path("full"), Path("part"))
    full, part = (json.loads(open(f"{d}/history.json").read()) for d in ("full", "part"))
    assert without_timing(part) == without_timing(full)


@pytest.mark.parametrize("method", ["skipgram", "glove"])
def test_cli_resume_on_other_data_is_one_line_before_any_work(cli_run, workdir, monkeypatch,
                                                               method):
    """The vocabulary line came before the refusal; GloVe counted every co-occurrence first."""
    import dlcourse.embeddings.glove as glove

    args = ["embed", "train", "--method", method, "--epochs", "2", "--workers", "1", "--dim",
            "8", "--min-count", "2", "--out", "run"]
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "1")
    assert cli_run(*args, "lee").code == 130
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")

    def counted(*a, **k):
        raise AssertionError("co-occurrences counted before the resume check")

    monkeypatch.setattr(glove, "symmetric_table", counted)
    Path("other.txt").write_text("the cat sat on the mat\n" * 20 + "a dog ran\n" * 20)
    cli_run(*args, "other.txt", "--resume").assert_user_error(
        r"cannot resume run: it was trained on other data \(")


def test_cli_glove_resume_at_default_blocks_keeps_the_first_runs(cli_run, workdir, monkeypatch):
    # --blocks left at its default: P = processes x workers, worked out by the first run; the
    # same command with --resume (here with fewer workers, as on another machine) keeps that P
    args = ["embed", "train", "lee", "--method", "glove", "--epochs", "3", "--dim", "8",
            "--min-count", "2", "--window", "5"]
    assert cli_run(*args, "--workers", "2", "--out", "full").code == 0
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "3")
    result = cli_run(*args, "--workers", "2", "--out", "part")
    assert result.code == 130 and "in epoch 2 after 1 of 2 rounds" in result.err, result.err
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    result = cli_run(*args, "--workers", "1", "--out", "part", "--resume")
    assert result.code == 0, result.err
    assert_same_arrays(Path("full"), Path("part"))
    assert read_manifest(Path("part/model.safetensors"))["config"]["blocks"] is None


@pytest.mark.parametrize("cls", [Word2Vec, GloVe])
def test_a_refit_stopped_midway_keeps_the_previous_fit_whole(cls, lee_sentences, tmp_path,
                                                             monkeypatch):
    est = cls(vector_size=8, min_count=2, epochs=2, workers=1).fit(lee_sentences[:100])
    words, counts, history = list(est.wv.index_to_key), est.counts_.copy(), est.history_
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "1")
    with pytest.raises(TrainingInterrupted):
        est.fit(lee_sentences[100:160])  # another vocabulary, stopped in its first epoch
    # vectors, counts and history all still the first fit's: it saves and loads as one model
    assert est.wv.index_to_key == words and est.history_ == history
    assert np.array_equal(est.counts_, counts)
    est.save(tmp_path)
    assert cls.load(tmp_path).wv.index_to_key == words


@pytest.mark.parametrize("cls, settings", [
    (Word2Vec, dict(method="cbow", vector_size=16, epochs=1, workers=1, seed=0)),
    (GloVe, dict(vector_size=16, epochs=2, threads=1, seed=0)),
])
def test_a_ctrl_c_while_a_finished_run_is_saved_waits_for_its_files(cls, settings,
                                                                   lee_sentences, tmp_path,
                                                                   monkeypatch, caplog):
    # the final checkpoint and model file were written after the stop guard: a Ctrl-C there
    # lost a short run whole ("nothing was saved yet"), its epochs all trained
    import os
    import signal

    real_save = cls.save

    def save(self, path):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the model file is written
        return real_save(self, path)

    monkeypatch.setattr(cls, "save", save)
    model = cls(**settings).fit(lee_sentences, out_dir=tmp_path / "run")
    assert (tmp_path / "run" / "model.safetensors").is_file() and model.wv_.vectors.shape[1] == 16
    assert "training has finished: saving it first" in caplog.text


def test_a_run_resumes_with_another_backend_setting_that_picks_the_same_trainer(
        lee_sentences, tmp_path, monkeypatch):
    """A run started under torchrun (backend auto: the torch trainer) could not be resumed by
    one process: "trained with trainer='torch', this run asks for 'numba'" (no such option),
    then with --backend torch "trained with backend 'auto', this run asks for 'torch'"."""
    monkeypatch.setattr(corpus, "BLOCK_TOKENS", 20000)
    kw = dict(method="cbow", vector_size=8, min_count=2, epochs=2, seed=1, batch_size=512)
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "30")
    with pytest.raises(TrainingInterrupted):
        Word2Vec(backend="torch", **kw).fit(lee_sentences, out_dir=tmp_path / "run")
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    with pytest.raises(DlcourseError, match=r"it was trained by the torch trainer and this run "
                                            r"would train with the numba one; resume with "
                                            r"--backend torch \(in Python: backend='torch'\)"):
        Word2Vec(backend="auto", device="cpu", **kw).fit(lee_sentences, out_dir=tmp_path / "run",
                                                         resume=True)
    Word2Vec(backend="torch", **kw).fit(lee_sentences, out_dir=tmp_path / "run", resume=True)
    # numba asked by name, then auto on the CPU: the same trainer, so the same run
    kw1 = dict(vector_size=8, min_count=2, epochs=1, workers=1)
    Word2Vec(backend="numba", **kw1).fit(lee_sentences[:100], out_dir=tmp_path / "n")
    Word2Vec(backend="auto", device="cpu", **kw1).fit(lee_sentences[:100],
                                                      out_dir=tmp_path / "n", resume=True)
