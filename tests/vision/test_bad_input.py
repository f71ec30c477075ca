"""Every bad `dlcourse vision` invocation: one line ``error: ...``, exit 2, no traceback, and
nothing written (the working directory is listed before and after)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

GOOD = ("--arch", "efficientnet_lite0", "--weights", "none", "--device", "cpu")


@pytest.fixture
def bad_inputs(workdir, vision_model, image_folder, png_writer):
    """Files a user may get wrong, in the working directory; returns ``workdir``'s lister."""
    from pathlib import Path

    from dlcourse.engine.checkpoint import save_checkpoint
    from dlcourse.engine.persist import read_state, write_state
    from dlcourse.vision.config import TransferConfig

    Path("file.txt").write_text("not a folder\n")
    Path("empty.png").write_bytes(b"")
    Path("garbage.png").write_bytes(b"\x00\x01 this is not an image" * 10)
    good = png_writer(Path("good.png").absolute(), np.random.default_rng(0), size=20)
    Path("trunc.png").write_bytes(good.read_bytes()[:40])
    Path("emptydir").mkdir()
    shutil.copytree(image_folder, "photos")
    for name in ("a", "b"):                       # class folders holding only unreadable files
        Path("broken", name).mkdir(parents=True)
        for file in ("x.png", "y.png"):
            Path("broken", name, file).write_bytes(b"garbage")
    shutil.copytree(vision_model, "vis")
    manifest, arrays = read_state("vis/model.safetensors", "torch")
    write_state("som/model.safetensors", {**manifest, "lesson": "som", "estimator": "SOM"},
                {"weights": np.zeros((2, 2))})
    write_state("moved/model.safetensors",  # trained on a folder that was moved since
                {**manifest, "metadata": {"data": str(Path("gone").absolute())}}, arrays)
    write_state("visab/model.safetensors",  # the same model, its classes named as broken's
                {**manifest, "state": {**manifest["state"], "classes": ["a", "b"]}}, arrays)
    Path("cut").mkdir()
    Path("cut/model.safetensors").write_bytes(Path("vis/model.safetensors").read_bytes()[:100])
    Path("damaged").mkdir()
    data = Path("vis/model.safetensors").read_bytes()
    Path("damaged/model.safetensors").write_bytes(data[: len(data) // 2])
    Path("nomodel").mkdir()
    save_checkpoint("lmrun/last.pt", {"lesson": "lm", "config": {}})
    save_checkpoint("otherrun/last.pt", {"lesson": "vision", "config": {
        **TransferConfig(arch="efficientnet_lite0", weights="none").resume_values(), "lr": 0.5}})
    save_checkpoint("cosinerun/last.pt", {"lesson": "vision", "config": TransferConfig(
        arch="efficientnet_lite0", weights="none", epochs=2).resume_values()})
    Path("cutrun").mkdir()
    Path("cutrun/last.pt").write_bytes(b"PK\x03\x04 truncated")
    return workdir


TRAIN = ("vision", "train", "photos", "--out", "run", *GOOD)

CASES = [
    # train: arguments and options
    (("vision", "train"), "Missing argument 'DATA'"),
    (("vision", "train", "photos"), "Missing option '--out'"),
    (("vision", "train", "no-such-set", "--out", "run"), "neither a data set"),
    (("vision", "train", "file.txt", "--out", "run"), "DATA file.txt is a file"),
    (("vision", "train", "emptydir", "--out", "run", *GOOD), "no class subfolders"),
    (("vision", "train", "broken", "--out", "run", *GOOD), "no readable images"),
    (("vision", "train", "broken", "--out", "run", "--on-bad", "stop", *GOOD),
     r"cannot read image .*[xy]\.png"),
    ((*TRAIN, "--epochs", "0"), "--epochs must be >= 1"),
    ((*TRAIN, "--epochs", "abc"), "--epochs must be a whole number, got 'abc'"),
    ((*TRAIN, "--epochs", "2.5"), "--epochs must be a whole number, got '2.5'"),
    ((*TRAIN, "--batch-size", "0"), "--batch-size must be >= 1"),
    ((*TRAIN, "--lr", "0"), "--lr must be > 0"),
    ((*TRAIN, "--lr", "-1e-3"), "--lr must be > 0"),
    ((*TRAIN, "--lr", "nan"), "--lr must be a finite number"),
    ((*TRAIN, "--lr", "fast"), "--lr must be a number, got 'fast'"),
    ((*TRAIN, "--momentum", "1.5"), "--momentum must be <= 1"),
    ((*TRAIN, "--image-size", "4"), "--image-size must be >= 8"),
    ((*TRAIN, "--image-size", "100000"), "--image-size must be <= 1024"),
    ((*TRAIN, "--label-smoothing", "1"), "--label-smoothing must be < 1"),
    ((*TRAIN, "--gamma", "0"), "--gamma must be > 0"),
    ((*TRAIN, "--precise-bn", "-1"), "--precise-bn must be >= 0"),
    ((*TRAIN, "--num-workers", "-2"), "--num-workers must be >= 0"),
    ((*TRAIN, "--num-workers", "1000000000"), "--num-workers must be <= 256"),  # it hung
    ((*TRAIN, "--weights", ""), "--weights is empty"),  # "weights . is a folder"
    (("vision", "train", "", "--out", "run", *GOOD), "DATA is empty"),  # DATA . (the cwd)
    ((*TRAIN, "--seed", "-1"), "--seed must be >= 0"),
    ((*TRAIN, "--seed", "99999999999999999999"), "--seed must be <= 4294967295"),
    ((*TRAIN, "--unfreeze", "gradual"), "needs mode finetune"),
    # one image a batch stopped finetuning mid-epoch inside batch norm
    ((*TRAIN, "--mode", "finetune", "--batch-size", "1"),
     "--batch-size must be >= 2 with mode finetune"),
    # the run's folder became a class of the next scan of DATA
    (("vision", "train", "photos", "--out", "photos/run", *GOOD),
     "--out photos/run is inside DATA photos"),
    ((*TRAIN, "--mode", "finetuning"),
     "unknown --mode 'finetuning'; choose one of features, finetune"),
    ((*TRAIN, "--optimizer", "adam"), "unknown --optimizer 'adam'; choose one of sgd, adamw"),
    ((*TRAIN, "--arch", "resnet19"), "unknown --arch 'resnet19'; choose one of resnet18, "),
    (("vision", "train", "photos", "--out", "run", "--weights", "IMAGENET9K"),
     "unknown weights 'IMAGENET9K' for resnet18"),
    (("vision", "train", "photos", "--out", "run", "--weights", "missing/w.pth"),
     "weights file missing/w.pth does not exist"),
    ((*TRAIN, "--device", "tpu"), "unknown --device 'tpu'; use auto, cpu, cuda"),
    ((*TRAIN, "--device", "cuda"), "CUDA is not available"),
    ((*TRAIN, "--limit", "0"), "--limit"),
    ((*TRAIN, "--on-bad", "maybe"), "unknown --on-bad 'maybe'; choose one of"),
    ((*TRAIN, "--bogus"), "No such option '--bogus'"),
    (("vision", "train", "photos", "--out", "file.txt", *GOOD), "exists and is not a directory"),
    (("vision", "train", "photos", "--out", "file.txt/run", *GOOD), "is a file"),
    ((*TRAIN[:4], "nothing", *GOOD, "--resume"), "nothing to resume"),
    ((*TRAIN[:4], "lmrun", *GOOD, "--resume"), "lmrun holds an interrupted 'lm' run's checkpoint"),
    ((*TRAIN[:4], "otherrun", *GOOD, "--resume"), "trained with --lr 0.5"),
    ((*TRAIN[:4], "cutrun", *GOOD, "--resume"), "cannot read checkpoint"),
    ((*TRAIN[:4], "cosinerun", *GOOD, "--resume"),
     "--epochs 5 cannot continue cosinerun: its cosine learning-rate schedule spans the 2 "
     "epochs the run started with"),
    # evaluate
    (("vision", "evaluate"), "Missing argument 'MODEL_DIR'"),
    (("vision", "evaluate", "nowhere"), "MODEL_DIR nowhere does not exist"),
    (("vision", "evaluate", "nomodel", "photos"), "holds no model.safetensors"),
    (("vision", "evaluate", "som", "photos"), "holds a 'som' model"),
    (("vision", "evaluate", "cut", "photos"), "not a dlcourse model file"),
    (("vision", "evaluate", "damaged", "photos", "--device", "cpu"), "damaged"),
    (("vision", "evaluate", "file.txt", "photos"), "file.txt is a file, not a model folder"),
    (("vision", "evaluate", "vis", "--device", "cpu"), "does not say which data"),
    (("vision", "evaluate", "vis", "no-such-set"), "neither a data set"),
    (("vision", "evaluate", "moved", "--device", "cpu"),
     "trained on the folder .*gone, which no longer exists; pass DATA"),
    (("vision", "evaluate", "vis", "mnist-5k", "--device", "cpu"), "differ from the model"),
    (("vision", "evaluate", "vis", "photos", "--limit", "0"), "--limit"),
    (("vision", "evaluate", "visab", "broken", "--device", "cpu"),
     "no readable images among the 4 files"),
    (("vision", "evaluate", "vis", "photos", "--seed", "-3"), "--seed"),
    (("vision", "evaluate", "vis", "photos", "--device", "tpu"), "unknown --device 'tpu'"),
    (("vision", "evaluate", "vis", "photos", "--out", "file.txt"), "is not a directory"),
    (("vision", "evaluate", "vis", ""), "DATA is empty"),
    # its figures became a class of photos
    (("vision", "evaluate", "vis", "photos", "--out", "photos/ev"),
     "--out photos/ev is inside DATA photos"),
    (("vision", "evaluate", "--model", "nowhere", "--data", "photos"), "does not exist"),
    # predict
    (("vision", "predict", "vis"), "Missing argument 'IMAGE...'"),
    (("vision", "predict", "vis", "nope.png"), "IMAGE nope.png does not exist"),
    (("vision", "predict", "vis", "empty.png"), "IMAGE empty.png is empty"),
    (("vision", "predict", "vis", "emptydir"), "IMAGE emptydir is a directory"),
    (("vision", "predict", "vis", "", "good.png"), r"an IMAGE is empty \(''\)"),
    # checked before torch loads the model; "replace or delete the file" was a training
    # folder's advice
    (("vision", "predict", "vis", "good.png", "garbage.png", "--device", "cpu"),
     r"IMAGE garbage\.png is not an image file PIL can read \(.*\); give \.png, \.jpg or "
     r"other image files$"),
    (("vision", "predict", "vis", "trunc.png", "--device", "cpu"),
     r"IMAGE trunc.png is not an image file PIL can read"),
    (("vision", "predict", "vis", "good.png", "--top-k", "0"), "--top-k"),
    (("vision", "predict", "vis", "good.png", "--top-k", "two"), "--top-k"),
    (("vision", "predict", "som", "good.png"), "holds a 'som' model"),
    (("vision", "predict", "som", "nope.png"), "holds a 'som' model"),
    (("vision", "predict", "cut", "good.png"), "not a dlcourse model file"),
    (("vision", "predict", "file.txt", "good.png"), "file.txt is a file, not a model folder"),
    (("vision", "predict", "--model", "nowhere", "good.png"), "does not exist"),
]


@pytest.mark.parametrize(("args", "match"), CASES, ids=[" ".join(a[1:]) for a, _ in CASES])
def test_bad_invocation_is_one_line_and_writes_nothing(cli_run, bad_inputs, args, match,
                                                       no_feature_cache_writes):
    before = bad_inputs()
    result = cli_run(*args)
    result.assert_user_error(match)
    assert bad_inputs() == before

