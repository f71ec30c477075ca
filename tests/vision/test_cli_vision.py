"""`dlcourse vision` verbs in-process, as a user types them from another directory with relative
paths: train (dry run), evaluate (prints; files only with --out), predict, old spellings."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest


def test_train_evaluate_predict_on_an_image_folder(cli_run, workdir, image_folder, png_writer,
                                                   no_feature_cache_writes):
    shutil.copytree(image_folder, "photos")
    result = cli_run("vision", "train", "photos", "--arch", "efficientnet_lite0", "--weights",
                     "imagenet", "--mode", "features", "--dry-run", "--device", "cpu",
                     "--out", "runs/a")
    assert result.code == 0, result.err
    assert "top-1 (all)" in result.out and "dlcourse vision predict runs/a" in result.out
    # the unreadable file is named once and counted once
    assert result.err.count("broken.png") == 1 and "skipped 1 unreadable image(s) of" in result.err
    assert "optimizer steps" not in result.err  # the dry run's one epoch is not the user's
    run = Path("runs/a")
    for name in ("model.safetensors", "metrics.json", "confusion.png", "history.json",
                 "last.pt"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= metrics["top1"] <= 1.0 and set(metrics["per_class"]) == {"blue", "red"}

    # evaluate prints and writes nothing; DATA defaults to the training data (from anywhere)
    before = workdir()
    Path("elsewhere").mkdir()
    os.chdir("elsewhere")
    result = cli_run("vision", "evaluate", "../runs/a", "--device", "cpu")
    os.chdir("..")
    Path("elsewhere").rmdir()
    assert result.code == 0, result.err
    assert "top-1 (all)" in result.out
    assert "top-5" not in result.out  # two classes: every image is in its top 5
    assert f"{metrics['top1']:.4f}" in result.out and workdir() == before
    result = cli_run("vision", "evaluate", "runs/a", "photos", "--device", "cpu", "--out", "ev")
    assert result.code == 0, result.err
    assert json.loads(Path("ev/evaluation.json").read_text())["top1"] == metrics["top1"]
    assert Path("ev/confusion_eval.png").read_bytes()[:4] == b"\x89PNG"
    # one test image: the other class has no accuracy (it was printed as 0.0000)
    result = cli_run("vision", "evaluate", "runs/a", "photos", "--device", "cpu", "--limit", "1",
                     "--out", "ev1")
    assert result.code == 0, result.err
    per_class = json.loads(Path("ev1/evaluation.json").read_text())["per_class"]
    assert list(per_class.values()).count(None) == 1
    missing = next(c for c, a in per_class.items() if a is None)
    assert any(line.split() == [missing, "n/a"] for line in result.out.splitlines())
    # another seed splits the folder anew: its test images may have been trained on
    result = cli_run("vision", "evaluate", "runs/a", "--device", "cpu", "--seed", "5")
    assert result.code == 0 and result.err.count("note: ") == 1
    assert re.search(r"note: --seed 5 draws another split of \S*photos than training's \(seed "
                     r"0\): its test images may include training images", result.err)

    # new photos of one class are scored (a training folder needs two classes)
    rng = np.random.default_rng(7)
    for i in range(3):
        png_writer(Path(f"reds/red/{i}.png").absolute(), rng, size=30, color=0)
    result = cli_run("vision", "evaluate", "runs/a", "reds", "--device", "cpu", "--out", "ev2")
    assert result.code == 0, result.err
    per_class = json.loads(Path("ev2/evaluation.json").read_text())["per_class"]
    assert per_class["blue"] is None and 0.0 <= per_class["red"] <= 1.0
    result = cli_run("vision", "train", "reds", "--device", "cpu", "--out", "runs/r",
                     "--arch", "efficientnet_lite0")
    assert result.code == 2 and "reds has one class folder (red)" in result.err

    png_writer(Path("new.png").absolute(), np.random.default_rng(5), size=30, color=0)
    result = cli_run("vision", "predict", "runs/a", "new.png", "--top-k", "2", "--device", "cpu")
    assert result.code == 0, result.err
    assert "new.png" in result.out and "red" in result.out and "blue" in result.out


def test_old_spellings_work_with_a_note(cli_run, workdir, image_folder, png_writer,
                                        no_feature_cache_writes):
    shutil.copytree(image_folder, "photos")
    result = cli_run("vision", "train", "--data", "photos", "--arch", "efficientnet_lite0",
                     "--weights", "none", "--dry-run", "--device", "cpu", "--out", "m")
    assert result.code == 0, result.err
    assert "note: '--data photos' is deprecated" in result.err
    png_writer(Path("x.png").absolute(), np.random.default_rng(1), size=20)
    result = cli_run("vision", "predict", "--model", "m", "x.png", "--device", "cpu")
    assert result.code == 0 and "x.png" in result.out
    assert "note: '--model m' is deprecated; write 'dlcourse vision predict m" in result.err
    result = cli_run("vision", "evaluate", "--model", "m", "--data", "photos", "--device", "cpu")
    assert result.code == 0 and "top-1 (all)" in result.out
    assert result.err.count("note:") == 1 and \
        "write 'dlcourse vision evaluate m photos ...'" in result.err
    # the model given as the new argument, the data by its old option: DATA stays second (it
    # was moved first and read as MODEL_DIR)
    result = cli_run("vision", "evaluate", "m", "--data", "photos", "--device", "cpu")
    assert result.code == 0 and "top-1 (all)" in result.out
    # the model by its old option, then DATA as an argument
    result = cli_run("vision", "evaluate", "--model", "m", "photos", "--device", "cpu")
    assert result.code == 0 and "top-1 (all)" in result.out


@pytest.mark.parametrize(("args", "message"), [
    (("train", "--out", "x", "ab", "--data", "xy"), "DATA given twice: as an argument and as "
                                                    r"--data xy \(its old spelling\)"),
    (("train", "--data=ab", "ab", "--out", "x"), "DATA given twice"),
    (("train", "--out", "x", "--data", "xy", "--data", "ab"),
     r"--data given twice \(xy, ab\); give DATA once"),
    (("evaluate", "m", "ab", "--data", "xy"), "DATA given twice: as an argument and as --data"),
    (("evaluate", "--model", "m", "m", "ab"), "MODEL_DIR given twice"),
    (("evaluate", "--model", "m", "m"), "MODEL_DIR given twice"),
    (("evaluate", "--data", "ab"), "Missing argument 'MODEL_DIR'"),
    (("predict", "--model", "m", "m", "a.png"), "MODEL_DIR given twice"),
    (("train", "--data", "ab", "--out"), "Option '--out' requires an argument"),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_an_argument_given_twice_is_one_error_line(cli_run, workdir, args, message):
    # it was the deprecation note, then "Got unexpected extra argument (ab)" or "No such option
    # '--data'": two lines, neither naming the cause
    result = cli_run("vision", *args)
    result.assert_user_error(message)
    assert result.err.count("\n") == 1 and not workdir()


def test_named_sets_take_the_data_list_names(cli_run, workdir, caplog,
                                             no_feature_cache_writes):
    result = cli_run("vision", "train", "mnist-5k", "--arch", "efficientnet_lite0",
                     "--weights", "none", "--mode", "finetune", "--no-flip", "--dry-run",
                     "--device", "cpu", "--out", "digits")
    assert result.code == 0, result.err
    # what is trained: a progress line on stderr (-q hides it), the results on stdout
    assert result.err.startswith("mnist-5k: 32 training, 32 test images, 10 classes")
    # the old spelling of a CIFAR name is mapped (and, offline, refused in one line)
    result = cli_run("vision", "train", "cifar10", "--dry-run", "--out", "c", "--arch",
                     "efficientnet_lite0")
    assert "'cifar10' is now called 'cifar-10'" in caplog.text   # a note on stderr
    result.assert_user_error("cifar-10")
    assert not any(p.startswith("c") for p in workdir())


def test_help_and_refused_settings_do_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys; from dlcourse.cli.main import main\n"
        "for args in (['vision', 'train', '--help'], ['vision', 'evaluate', '--help'],\n"
        "             ['vision', 'train', 'mnist-5k', '--out', 'x', '--epochs', '0']):\n"
        "    try: main(args)\n"
        "    except SystemExit: pass\n"
        "print('torch' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False False"), out.stdout
    assert "error: --epochs must be >= 1" in out.stderr


def test_limit_below_the_classes_is_refused(cli_run, workdir, png_writer,
                                            no_feature_cache_writes):
    # one class had no training image at all, and the run went on
    rng = np.random.default_rng(0)
    for k, name in enumerate(["red", "blue"]):
        for i in range(4):
            png_writer(Path("imgs", name, f"{i}.png"), rng, color=2 * k)
    result = cli_run("--threads", "1", "vision", "train", "imgs", "--out", "run", "--arch",
                     "efficientnet_lite0", "--weights", "none", "--image-size", "16",
                     "--epochs", "1", "--device", "cpu", "--limit", "1")
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.splitlines()[-1] == (
        "error: --limit 1 is below the 2 classes of imgs: give every class a training image "
        "(--limit at least the number of classes)")
    assert not Path("run").exists()


def test_a_folder_named_like_a_data_set_is_noted(cli_run, workdir, png_writer):
    Path("mnist").mkdir()
    result = cli_run("vision", "train", "mnist", "--out", "run", "--arch", "efficientnet_lite0",
                     "--weights", "none", "--device", "cpu", "--resume")  # stops: nothing
    assert result.code == 2 and "nothing to resume" in result.err
    assert "note: DATA 'mnist' is the data set mnist-5k; for the folder of that name write " \
        "./mnist" in result.err


def test_16_bit_greyscale_is_scaled_not_white(workdir):
    # PIL's convert("RGB") clipped 16-bit values at 255: a pure white image
    from PIL import Image

    from dlcourse.vision.images import load_image

    ramp = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    Image.fromarray((ramp * 65535).astype(np.uint16)).save("g16.png")
    Image.fromarray(np.round(ramp * 255).astype(np.uint8)).save("g8.png")
    wide, narrow = load_image("g16.png", 16).float(), load_image("g8.png", 16).float()
    assert wide.std() > 50 and (wide - narrow).abs().max() <= 1


def test_images_past_pils_pixel_limit_are_unreadable_files(workdir, monkeypatch, png_writer):
    # PIL's DecompressionBombError is no OSError: it escaped as a traceback, even under
    # --on-bad skip; below the limit its raw warning went to stderr
    import warnings

    from PIL import Image

    from dlcourse.errors import DlcourseError
    from dlcourse.vision.images import load_image

    png_writer(Path("big.png"), np.random.default_rng(0), size=20)  # 400 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # errors above 200, warns above 100
    try:
        load_image("big.png", 16)
    except DlcourseError as exc:
        assert str(exc).startswith("cannot read image big.png: Image size (400 pixels)")
    else:
        raise AssertionError("no error")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_image("big.png", 16).shape == (3, 16, 16)


def test_a_model_without_errors_leaves_no_earlier_misclassified_figure(workdir):
    # the figure of an earlier run (another model's errors) stayed, and evaluate named it
    from dlcourse.cli.vision import _report
    from dlcourse.vision.data import ArrayImageDataset
    from dlcourse.vision.metrics import EvalResult

    labels = np.array([0, 1, 0, 1])
    test = ArrayImageDataset(np.zeros((4, 8, 8), np.uint8), labels, ["a", "b"])

    class Model:
        def __init__(self, predictions):
            self.predictions = np.asarray(predictions)

        def evaluate(self, data):
            right = (self.predictions == labels).astype(float)
            confusion = np.zeros((2, 2), int)
            np.add.at(confusion, (labels, self.predictions), 1)
            return EvalResult(top1=right.mean(), top5=1.0, loss=0.1,
                              per_class=[right[labels == k].mean() for k in (0, 1)],
                              confusion=confusion, predictions=self.predictions,
                              labels=labels, classes=["a", "b"])

    out = Path("run")
    out.mkdir()
    _report(Model([1, 1, 0, 1]), test, out)
    assert (out / "misclassified.png").exists()
    _report(Model(labels), test, out)
    assert not (out / "misclassified.png").exists() and (out / "confusion.png").exists()


def test_a_features_head_of_few_steps_is_noted_unless_epochs_were_typed(
        cli_run, workdir, image_folder, no_feature_cache_writes):
    # 11 readable images, batch 64, 5 epochs: 5 steps of the head, far from trained
    shutil.copytree(image_folder, "photos")
    args = ("vision", "train", "photos", "--arch", "efficientnet_lite0", "--image-size", "16",
            "--device", "cpu")
    result = cli_run(*args, "--out", "a")
    assert result.code == 0, result.err
    assert re.search(r"note: the head took \d+ optimizer steps \(\d+ images, batch 64, 5 "
                     r"epochs\); with few images more --epochs help", result.err), result.err
    result = cli_run(*args, "--out", "b", "--epochs", "5")
    assert result.code == 0, result.err
    assert "optimizer steps" not in result.err
    # finetune steps cost a pass of the backbone each: no such advice (lr 1e-4: this random
    # network at 16 px can reach nan at the default 0.01, depending on the BLAS threads)
    result = cli_run(*args, "--out", "c", "--mode", "finetune", "--weights", "none",
                     "--batch-size", "4", "--precise-bn", "0", "--lr", "1e-4")
    assert result.code == 0, result.err
    assert "optimizer steps" not in result.err
