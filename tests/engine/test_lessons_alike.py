"""What every lesson's estimator shares, side by side: the device check, a positional model
name, one-line refusals of the wrong kind of data, and messages about another estimator's
folder."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from dlcourse.errors import (
    ConfigError,
    DlcourseError,
    IncompatibleModelError,
    InputError,
    MissingFileError,
)

# every estimator with a device (GloVe runs on the CPU only)
ESTIMATORS = [("dlcourse.som", "SOM", {"m": 3, "n": 3}), ("dlcourse.embeddings", "Word2Vec", {}),
              ("dlcourse.lm", "LanguageModel", {}), ("dlcourse.classify", "TextClassifier", {}),
              ("dlcourse.vision", "ImageClassifier", {})]


def estimator(module: str, name: str):
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("module, name, kw", ESTIMATORS)
def test_a_misspelt_device_is_a_config_error_naming_the_field(module, name, kw):
    with pytest.raises(ConfigError, match="unknown device 'tpu'") as info:
        estimator(module, name)(device="tpu", **kw).validated_config()
    assert info.value.field == "device"


def test_the_model_name_may_be_given_positionally_in_every_lesson():
    assert estimator("dlcourse.lm", "LanguageModel")("embedding").model == "embedding"
    assert estimator("dlcourse.vision", "ImageClassifier")("efficientnet_lite0").arch == \
        "efficientnet_lite0"
    assert estimator("dlcourse.classify", "TextClassifier")("gru").model == "gru"
    assert estimator("dlcourse.embeddings", "Word2Vec")("cbow").method == "cbow"


def test_data_given_where_the_first_setting_goes_is_named_in_every_lesson():
    # LanguageModel(corpus) ended in "unhashable type: 'Corpus'"; ImageClassifier(dataset) was
    # stored as its arch and refused only at fit; SOM(X) and Word2Vec(sentences) said it
    from dlcourse.lm import corpus_from_splits
    from dlcourse.vision.data import ArrayImageDataset

    corpus = corpus_from_splits("x", ["a b c"] * 5, ["a b"], ["a b"], min_freq=1)
    images = ArrayImageDataset(np.zeros((2, 8, 8), np.uint8), [0, 1], ["a", "b"])
    for module, name, data in (("dlcourse.lm", "LanguageModel", corpus),
                               ("dlcourse.vision", "ImageClassifier", images),
                               ("dlcourse.som", "SOM", np.zeros((4, 2))),
                               ("dlcourse.embeddings", "Word2Vec", [["a", "b"]])):
        with pytest.raises(TypeError, match=rf"^{name}\(...\) takes settings only \(\w+ got "
                                            rf"{type(data).__name__}\); pass the data to fit"):
            estimator(module, name)(data)
    assert estimator("dlcourse.som", "SOM")(np.int64(3), 4).m == 3  # numbers stay settings


@pytest.mark.parametrize(("module", "name", "field"), [
    ("dlcourse.som", "SOM", "learning_rate"), ("dlcourse.embeddings", "Word2Vec", "alpha"),
    ("dlcourse.embeddings", "GloVe", "eta"), ("dlcourse.lm", "LanguageModel", "lr"),
    ("dlcourse.classify", "TextClassifier", "lr"), ("dlcourse.vision", "ImageClassifier", "lr")])
def test_learning_rate_and_lr_name_the_learning_rate_in_every_lesson(module, name, field):
    # SOM took lr= and the torch lessons refused learning_rate=
    for spelling in ("learning_rate", "lr"):
        made = estimator(module, name)(**{spelling: 0.0123})
        assert made.get_params()[field] == 0.0123 and getattr(made, spelling) == 0.0123


def test_fit_refuses_the_wrong_kind_of_data_in_one_line():
    with pytest.raises(DlcourseError, match="fit takes a Corpus .*got list"):
        estimator("dlcourse.lm", "LanguageModel")().fit(["the cat sat"])
    with pytest.raises(DlcourseError, match="train must be an ArrayImageDataset .*got list"):
        estimator("dlcourse.vision", "ImageClassifier")(weights="none").fit(["a.png"])
    with pytest.raises(DlcourseError, match="texts must be a list of strings, got one string"):
        estimator("dlcourse.classify", "TextClassifier")(pretrained=None).fit("a film", ["pos"])
    with pytest.raises(ConfigError, match="unknown weights 'foo'") as info:
        estimator("dlcourse.vision", "ImageClassifier")(weights="foo").fit(["a.png"])
    assert info.value.field == "weights"


@pytest.mark.parametrize("module, name, kw, data", [
    ("dlcourse.som", "SOM", {"m": 2, "n": 2}, (np.zeros((0, 3)),)),
    ("dlcourse.som", "SOM", {"m": 2, "n": 2}, (np.zeros((4, 3)), [1, 2])),
    ("dlcourse.embeddings", "Word2Vec", {}, (iter([["a", "b"]]),)),
    ("dlcourse.lm", "LanguageModel", {}, (["the cat sat"],)),
    ("dlcourse.classify", "TextClassifier", {"pretrained": None}, (["a", "b"], ["pos"])),
    ("dlcourse.vision", "ImageClassifier", {"weights": "none"}, (["a.png"],)),
])
def test_data_fit_cannot_use_is_one_error_type_in_every_lesson(module, name, kw, data):
    # InputError: `except ValueError` (scikit-learn's habit) and `except DlcourseError` both
    # catch it, whichever lesson raised it (SOM and the embeddings raised bare ValueErrors,
    # the torch lessons bare DlcourseErrors)
    with pytest.raises(InputError) as info:
        estimator(module, name)(**kw).fit(*data)
    assert isinstance(info.value, ValueError) and isinstance(info.value, DlcourseError)


def test_a_refit_of_a_loaded_model_drops_the_old_datas_metadata(tmp_path):
    # the CLI's scaler of the first data was saved again with a map of other data, and
    # `som predict` then scaled the new rows with it
    SOM = estimator("dlcourse.som", "SOM")
    rng = np.random.default_rng(0)
    som = SOM(2, 2, epochs=1, device="cpu")
    som.metadata_ = {"scaler": {"mean": [5.0, 5.0]}, "data": "a.npy"}
    som.fit(rng.normal(5, 3, size=(20, 2))).save(tmp_path / "a")
    again = SOM.load(tmp_path / "a").fit(rng.normal(size=(20, 2)))
    assert again.metadata_ == {}
    told = SOM.load(tmp_path / "a")
    told.metadata_ = {"data": "b.npy"}  # set by the caller for this fit: kept
    assert told.fit(rng.normal(size=(20, 2))).metadata_ == {"data": "b.npy"}


def test_a_misspelt_device_is_refused_at_load(tmp_path):
    # it loaded, then failed at the first query (SOM) or was kept in the config (Word2Vec)
    SOM, Word2Vec = estimator("dlcourse.som", "SOM"), estimator("dlcourse.embeddings", "Word2Vec")
    SOM(2, 2, epochs=1, device="cpu").fit(np.random.default_rng(0).normal(size=(10, 2))).save(
        tmp_path / "som")
    Word2Vec(vector_size=4, min_count=1, epochs=1, workers=1).fit([["a", "b", "c"]] * 5).save(
        tmp_path / "w2v")
    for cls, folder in ((SOM, "som"), (Word2Vec, "w2v")):
        with pytest.raises(ConfigError, match="unknown device 'gpu'"):
            cls.load(tmp_path / folder, device="gpu")
        assert cls.load(tmp_path / folder, device="CPU").config.device == "cpu"


def test_another_estimators_folder_is_named_with_its_article(tmp_path):
    SOM = estimator("dlcourse.som", "SOM")
    som = SOM(3, 3, epochs=1, device="cpu").fit(np.random.default_rng(0).normal(size=(30, 2)))
    assert som.metadata_ == {}
    som.save(tmp_path)
    with pytest.raises(IncompatibleModelError, match=r"holds a 'som' model \(SOM\), not an "
                                                     r"ImageClassifier"):
        estimator("dlcourse.vision", "ImageClassifier").load(tmp_path)


@pytest.mark.parametrize("module, name, kw", [*ESTIMATORS, ("dlcourse.embeddings", "GloVe", {})])
def test_fit_refuses_an_out_dir_holding_another_lessons_model(module, name, kw, tmp_path):
    # the CLI's --out check, in the Python API too: refused before the data is looked at, so
    # the other run's files stay as they were. The folder holds a SOM's model file, whose
    # manifest names the lm lesson when the estimator under test is the SOM itself.
    som = estimator("dlcourse.som", "SOM")(2, 2, epochs=1, device="cpu")
    som.fit(np.random.default_rng(0).normal(size=(10, 2)))
    other = "lm" if module == "dlcourse.som" else "som"
    som.lesson = other
    som.save(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    new = estimator(module, name)(**kw)
    data = (None, None) if name == "TextClassifier" else (None,)
    with pytest.raises(DlcourseError, match=rf"out_dir {tmp_path} holds an? '{other}' model, "
                                            rf"not an? '{new.lesson}' one"):
        new.fit(*data, out_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_fit_with_out_dir_leaves_a_model_that_load_reads(tmp_path):
    """In every lesson ``fit(..., out_dir=D)`` ends with the model file: ``load(D)`` gives the
    same answers (here the three that used to leave checkpoints only)."""
    from dlcourse.classify import TextClassifier, load_pang_lee_sample
    from dlcourse.som import SOM

    X = np.random.default_rng(0).normal(size=(40, 3))
    som = SOM(3, 3, epochs=2, device="cpu").fit(X, out_dir=tmp_path / "som")
    assert np.array_equal(SOM.load(tmp_path / "som").predict(X), som.predict(X))
    texts, labels = load_pang_lee_sample()
    texts, labels = texts[:30] + texts[-30:], labels[:30] + labels[-30:]    # both classes
    clf = TextClassifier("gru", pretrained=None, embed_dim=8, hidden_size=8, num_layers=1,
                         epochs=1, device="cpu").fit(texts, labels, out_dir=tmp_path / "clf")
    assert TextClassifier.load(tmp_path / "clf").predict(texts) == clf.predict(texts)


def test_a_parameter_two_lessons_share_takes_either_name():
    """The other lessons' name of a setting reaches the field (the CLI's shared spellings)."""
    assert estimator("dlcourse.lm", "LanguageModel")(hidden_size=16).hidden_dim == 16
    assert estimator("dlcourse.som", "SOM")(3, 3, lr=0.1, lr_end=0.01).learning_rate == 0.1
    assert estimator("dlcourse.embeddings", "Word2Vec")(embed_dim=8, lr=0.05).config.alpha == 0.05
    assert estimator("dlcourse.embeddings", "GloVe")(lr=0.1, min_freq=2).config.eta == 0.1
    clf = estimator("dlcourse.classify", "TextClassifier")(hidden_dim=16, min_count=3,
                                                           max_size=500)
    assert (clf.hidden_size, clf.min_freq, clf.max_vocab) == (16, 3, 500)
    with pytest.raises(ConfigError, match="hidden_size and hidden_dim are one parameter"):
        estimator("dlcourse.lm", "LanguageModel")(hidden_size=16, hidden_dim=8)


@pytest.mark.parametrize("module, name, kw", ESTIMATORS)
def test_fit_takes_out_dir_and_resume_by_keyword_only_in_every_lesson(module, name, kw):
    # three lessons took them positionally, two by keyword only: fit(data, "runs/a") meant
    # a run folder in one lesson and a TypeError or validation data in the next
    import inspect

    params = inspect.signature(estimator(module, name).fit).parameters
    for field in ("out_dir", "resume"):
        assert params[field].kind is inspect.Parameter.KEYWORD_ONLY, (name, field)


def test_a_fresh_run_over_a_finished_one_says_so_at_the_start(tmp_path, caplog):
    # the old model stays until the new run ends: stopped midway, `evaluate DIR` read the old
    # map beside the new run's checkpoint, and nothing had said that a model was there
    import logging

    SOM = estimator("dlcourse.som", "SOM")
    X = np.random.default_rng(0).normal(size=(30, 2))
    with caplog.at_level(logging.INFO, logger="dlcourse"):
        SOM(2, 2, epochs=1, device="cpu").fit(X, out_dir=tmp_path / "run")
        assert "holds a finished run" not in caplog.text
        SOM(2, 2, epochs=1, device="cpu").fit(X, out_dir=tmp_path / "run", resume=True)
        assert "holds a finished run" not in caplog.text  # a resume continues it
        SOM(2, 2, epochs=1, device="cpu").fit(X, out_dir=tmp_path / "run")
    assert f"{tmp_path / 'run'} holds a finished run: this one replaces its model when it " \
           "ends" in caplog.text


def test_a_fresh_run_over_an_interrupted_one_says_it_drops_its_checkpoint(tmp_path, caplog,
                                                                          monkeypatch):
    # the checkpoint of a run stopped by Ctrl-C was replaced without a word when the same
    # command was typed again without --resume
    import logging

    from dlcourse.errors import TrainingInterrupted

    SOM = estimator("dlcourse.som", "SOM")
    X = np.random.default_rng(0).normal(size=(30, 2))
    run = tmp_path / "run"
    for finished_before in (False, True):
        if finished_before:
            SOM(2, 2, epochs=3, device="cpu").fit(X, out_dir=run)
        monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "1")
        with pytest.raises(TrainingInterrupted):
            SOM(2, 2, epochs=3, device="cpu").fit(X, out_dir=run)
        monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="dlcourse"):
            SOM(2, 2, epochs=3, device="cpu").fit(X, out_dir=run)
        assert f"{run} holds an interrupted run's checkpoint (last.safetensors): this run " \
               "starts over and replaces it; to continue that run instead, stop this one " \
               "and add --resume" in caplog.text
        assert "holds a finished run" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dlcourse"):
        SOM(2, 2, epochs=3, device="cpu").fit(X, out_dir=run)  # over a finished run
    assert "interrupted" not in caplog.text and "holds a finished run" in caplog.text

def test_another_lessons_interrupted_run_in_out_is_refused_not_said_replaced(
        cli_run, workdir, refused, monkeypatch):
    # `som train --out run` over an interrupted `lm train --out run` said "this run starts over
    # and replaces it (last.pt)", then wrote last.safetensors and the model beside lm's last.pt
    rng = np.random.default_rng(0)
    Path("story.txt").write_text("".join(f"the {w} sat on the mat near the {v} .\n"
                                         for w in ("cat", "dog", "bird", "fox") * 10
                                         for v in ("door", "tree")))
    np.save("x.npy", rng.normal(size=(40, 3)))
    lm = ("--threads", "1", "lm", "train", "story.txt", "--embed-dim", "8", "--hidden-dim",
          "8", "--batch-size", "4", "--bptt", "5", "--epochs", "2", "--device", "cpu")
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "3")
    assert cli_run(*lm, "--out", "run").code == 130
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "1")
    assert cli_run("som", "train", "x.npy", "--grid", "2x2", "--epochs", "3", "--out",
                   "som").code == 130
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    refused(workdir, "som", "train", "x.npy", "--out", "run",
            match=r"^error: --out run holds an interrupted 'lm' run's checkpoint \(last.pt\), "
                  r"not a 'som' one; use another folder$")
    refused(workdir, *lm, "--out", "som",
            match=r"--out som holds an interrupted 'som' run's checkpoint \(last.safetensors\), "
                  r"not an 'lm' one")
    refused(workdir, "som", "train", "x.npy", "--out", "som", "--grid", "2x2", "--epochs", "3",
            "--resume", match=None)  # the same lesson's run resumes, and
    assert cli_run(*lm, "--out", "run").code == 0  # starts over


def test_a_corpus_refused_inside_fit_is_not_preceded_by_the_folders_note(tmp_path, caplog,
                                                                         cli_run, workdir):
    # word2vec and GloVe read their corpus in fit: "run holds a finished run: ..." came
    # before the corpus's one error line
    import logging

    from dlcourse.errors import DlcourseError

    Word2Vec = estimator("dlcourse.embeddings", "Word2Vec")
    sentences = [["a", "b", "c", "a"]] * 20
    Word2Vec(vector_size=4, min_count=1, epochs=1, workers=1).fit(sentences,
                                                                   out_dir=tmp_path / "run")
    for name in ("Word2Vec", "GloVe"):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="dlcourse"), \
                pytest.raises(DlcourseError, match="no word occurs min_count=1000"):
            estimator("dlcourse.embeddings", name)(min_count=1000).fit(
                sentences, out_dir=tmp_path / "run")
        assert "holds a finished run" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dlcourse"):
        Word2Vec(vector_size=4, min_count=1, epochs=1, workers=1).fit(sentences,
                                                                       out_dir=tmp_path / "run")
    assert "holds a finished run" in caplog.text  # a corpus that passes: said, as before
    Path("c.txt").write_text("a b c a\n" * 20, encoding="utf-8")
    assert cli_run("-q", "embed", "train", "c.txt", "--min-count", "1", "--dim", "4",
                   "--epochs", "1", "--out", "e").code == 0
    result = cli_run("embed", "train", "c.txt", "--min-count", "1000", "--out", "e")
    assert result.code == 2 and result.err.startswith(
        "error: no word occurs --min-count 1000 times in a corpus of 80 tokens (the most "
        "frequent occurs 40 times); lower it to 40 or less, or give a larger corpus")

def test_reading_a_folder_whose_later_run_stopped_says_which_model_it_reads(tmp_path, caplog,
                                                                             monkeypatch):
    # a fresh run over a finished one, interrupted: the folder holds the old model beside the
    # new run's checkpoint; `som evaluate DIR` read the old map without a word
    import logging

    from dlcourse.engine.persist import check_model_dir
    from dlcourse.errors import TrainingInterrupted

    SOM = estimator("dlcourse.som", "SOM")
    X = np.random.default_rng(0).normal(size=(30, 2))
    run = tmp_path / "run"
    SOM(2, 2, epochs=3, device="cpu").fit(X, out_dir=run)
    with caplog.at_level(logging.INFO, logger="dlcourse"):
        check_model_dir(run, "som")  # a finished run: its checkpoint is older than its model
        assert "did not finish" not in caplog.text
        monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "1")
        with pytest.raises(TrainingInterrupted):
            SOM(2, 2, epochs=3, device="cpu", seed=1).fit(X, out_dir=run)
        check_model_dir(run, "som")
    assert f"note: {run} also holds the checkpoint last.safetensors of a later run that did " \
           "not finish; this reads the model of the run before it" in caplog.text
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    caplog.clear()
    SOM(2, 2, epochs=3, device="cpu", seed=1).fit(X, out_dir=run, resume=True)
    with caplog.at_level(logging.INFO, logger="dlcourse"):
        check_model_dir(run, "som")
    assert "did not finish" not in caplog.text


def test_a_run_removes_the_temporary_files_a_killed_run_left(tmp_path, caplog):
    # kill -9 between a checkpoint's temporary file and its rename left `.last.XXXXXXXX.pt`
    # in the run folder for good
    import logging
    import os

    SOM = estimator("dlcourse.som", "SOM")
    run = tmp_path / "run"
    run.mkdir()
    left = [run / ".last.k2j_9xq1.safetensors", run / ".history.json.a8b7c6d5.tmp"]
    kept = [run / ".notes.txt", run / "mine.tmp", run / ".last.k2j_9xq1.safetensors.bak"]
    for path in left + kept:
        path.write_text("x")
        os.utime(path, (1e9, 1e9))  # 2001: older than this process
    writing = run / ".model.z0z0z0z0.safetensors"  # another writer's, still at work
    writing.write_text("x")
    with caplog.at_level(logging.INFO, logger="dlcourse"):
        SOM(2, 2, epochs=1, device="cpu").fit(np.eye(3), out_dir=run)
    assert not any(path.exists() for path in left)
    assert all(path.exists() for path in kept + [writing])
    assert f"removed 2 temporary file(s) a killed run left in {run}" in caplog.text


@pytest.mark.parametrize("lesson", ["som", "classify"])
def test_a_refused_resume_removes_and_names_a_killed_first_checkpoint(tmp_path, lesson):
    # killed while writing its first checkpoint, a run left only `.last.XXXXXXXX.safetensors`;
    # `--resume` said "nothing to resume" and left it there until a fresh run
    import os

    from dlcourse.engine.persist import checkpoint_manifest

    run = tmp_path / "run"
    run.mkdir()
    name = ".last.k2j_9xq1." + ("safetensors" if lesson == "som" else "pt")
    (run / name).write_text("x")
    os.utime(run / name, (1e9, 1e9))
    with pytest.raises(MissingFileError) as caught:
        if lesson == "som":
            checkpoint_manifest(run, "som")
        else:
            from dlcourse.engine.fitting import load_resume_state

            load_resume_state(run, {"lesson": "classify"})
    checkpoint = "last.safetensors" if lesson == "som" else "last.pt"
    assert str(caught.value) == (
        f"nothing to resume: {run / checkpoint} does not exist (a run killed while writing its "
        f"first checkpoint left only a temporary file, {name}, now removed); run without "
        "--resume (in Python: resume=False)")
    assert not (run / name).exists()


@pytest.mark.parametrize("place", ["file", "file/sub", ""])
def test_fit_and_save_refuse_a_folder_that_cannot_be_one_before_any_work(tmp_path, place,
                                                                         monkeypatch):
    # fit(out_dir=<a file>) trained, then ended in FileExistsError; save("") wrote
    # model.safetensors into the working folder
    SOM = estimator("dlcourse.som", "SOM")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("mine")
    with pytest.raises(InputError, match="out_dir .*(empty|not a directory|is a file)"):
        SOM(2, 2, epochs=1, device="cpu").fit(np.eye(3), out_dir=place)
    fitted = SOM(2, 2, epochs=1, device="cpu").fit(np.eye(3))
    with pytest.raises(InputError, match="directory .*(empty|not a directory|is a file)"):
        fitted.save(place)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
    assert (tmp_path / "file").read_text() == "mine"


def test_the_baselines_fit_into_a_run_folder_as_the_lessons_do(tmp_path):
    # fit(..., out_dir=) was a TypeError in both, though every lesson's fit takes it
    import torch

    from dlcourse.classify import BowLogisticRegression
    from dlcourse.lm import KneserNeyBigram

    texts = ["good fun", "great film", "dull mess", "bad plot"] * 5
    labels = ["pos", "pos", "neg", "neg"] * 5
    bow = BowLogisticRegression().fit(texts, labels, out_dir=tmp_path / "bow")
    assert BowLogisticRegression.load(tmp_path / "bow").predict(texts) == bow.predict(texts)
    ids = torch.tensor([0, 1, 2, 1, 0, 2, 2, 1] * 10)
    bigram = KneserNeyBigram().fit(ids, out_dir=tmp_path / "bigram")
    loaded = KneserNeyBigram.load(tmp_path / "bigram")
    assert loaded.perplexity(ids) == pytest.approx(bigram.perplexity(ids))
    with pytest.raises(DlcourseError, match="trains in one step and writes no checkpoint: "
                                            "nothing to resume; fit again"):
        BowLogisticRegression().fit(texts, labels, out_dir=tmp_path / "b", resume=True)
    with pytest.raises(DlcourseError, match="KneserNeyBigram trains in one step"):
        KneserNeyBigram().fit(ids, out_dir=tmp_path / "k", resume=True)
    import inspect

    for fit in (BowLogisticRegression.fit, KneserNeyBigram.fit):
        params = inspect.signature(fit).parameters
        assert all(params[f].kind is inspect.Parameter.KEYWORD_ONLY for f in ("out_dir", "resume"))
