"""`dlcourse vision` verbs in-process: train (dry run), evaluate, predict, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlcourse.cli.main import main


def _run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def _ok(capsys, *args):
    try:
        main(list(args))
    except SystemExit as exc:  # click's standalone exit with 0
        assert exc.code in (0, None), capsys.readouterr().err
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_train_evaluate_predict_on_an_image_folder(tmp_path, capsys, image_folder, png_writer,
                                                   no_feature_cache_writes):
    out = tmp_path / "run"
    text = _ok(capsys, "vision", "train", "--data", str(image_folder), "--arch",
               "efficientnet_lite0", "--weights", "imagenet", "--mode", "features",
               "--dry-run", "--device", "cpu", "--out", str(out))
    assert "top-1 (all)" in text and "model saved" in text
    assert "skipped 1 unreadable image file(s)" in text and "broken.png" in text
    for name in ("model.pt", "config.json", "metrics.json", "confusion.png", "history.json"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["top1"] <= 1.0 and set(metrics["per_class"]) == {"blue", "red"}

    text = _ok(capsys, "vision", "evaluate", "--model", str(out), "--data", str(image_folder),
               "--device", "cpu", "--out", str(tmp_path / "eval"))
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["top1"] == metrics["top1"]

    img = png_writer(tmp_path / "new.png", np.random.default_rng(5), size=30, color=0)
    text = _ok(capsys, "vision", "predict", "--model", str(out), str(img), "--top-k", "2",
               "--device", "cpu")
    assert "new.png" in text and "red" in text and "blue" in text


def test_errors_are_one_line(tmp_path, capsys):
    code, _, err = _run(capsys, "vision", "train", "--data", "no-such-set", "--out",
                        str(tmp_path / "x"))
    assert code == 2 and err.startswith("error: unknown data set") and err.count("\n") == 1
    code, _, err = _run(capsys, "vision", "predict", "--model", str(tmp_path / "missing"),
                        "img.png")
    assert code == 2 and "does not exist" in err
