"""`dlcourse som train | plot | predict`, run in-process on real tables."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_wine

from dlcourse.cli.main import main


@pytest.fixture(scope="module")
def wine_csv(tmp_path_factory):
    data = load_wine()
    path = tmp_path_factory.mktemp("data") / "wine.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*data.feature_names, "cultivar"])
        for row, target in zip(data.data, data.target, strict=True):
            writer.writerow([*row, f"c{target}"])
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, wine_csv):
    out = tmp_path_factory.mktemp("run")
    main(["som", "train", str(wine_csv), "--grid", "6x7", "--topology", "hex", "--epochs", "5",
          "--device", "cpu", "--out", str(out)])
    return out


def test_train_saves_map_scaler_history_and_metrics(trained):
    import torch

    state = torch.load(trained / "model.pt", weights_only=True)
    assert state["config"]["topology"] == "hexagonal" and state["config"]["m"] == 6
    scaler = state["extra"]["scaler"]
    assert len(scaler["mean"]) == 13 and min(scaler["scale"]) > 0
    assert state["classes"] == ["c0", "c1", "c2"]
    history = json.loads((trained / "history.json").read_text())
    assert len(history) == 6 and history[-1]["quantization_error"] < history[0][
        "quantization_error"]
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["samples"] == 178 and metrics["features"] == 13


def test_predict_applies_the_saved_scaler(trained, wine_csv, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    main(["som", "predict", str(trained), str(wine_csv), "--device", "cpu", "--output", str(out)])
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 178 and {"row", "col", "distance", "unit_label", "label"} <= set(rows[0])
    assert all(0 <= int(r["row"]) < 6 and 0 <= int(r["col"]) < 7 for r in rows)
    # on standardised wine a map labelled by majority agrees with most labels (calibrated)
    agree = np.mean([r["unit_label"] == r["label"] for r in rows])
    assert agree > 0.9
    # distances are in standardised units: raw-unit distances would be in the hundreds
    assert max(float(r["distance"]) for r in rows) < 10
    assert "label_agreement" in capsys.readouterr().out


def test_plot_writes_every_figure(trained, capsys):
    main(["som", "plot", str(trained), "--device", "cpu", "--features", "0,3"])
    for name in ("umatrix", "component_planes", "history", "hit_map", "weights_scatter"):
        assert (trained / f"{name}.png").stat().st_size > 1000, name


def test_dry_run_on_sklearn_set_and_npy(tmp_path):
    main(["som", "train", "sklearn:iris", "--dry-run", "--device", "cpu",
          "--out", str(tmp_path / "a")])
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["grid"] == "5x5" and metrics["epochs"] == 2
    X = load_wine().data[:60]
    np.save(tmp_path / "x.npy", X)
    main(["som", "train", str(tmp_path / "x.npy"), "--grid", "3x4", "--algorithm", "online",
          "--no-standardize", "--epochs", "2", "--device", "cpu", "--out", str(tmp_path / "b")])
    main(["som", "predict", str(tmp_path / "b"), str(tmp_path / "x.npy"), "--device", "cpu"])


@pytest.mark.parametrize("args, message", [
    (["som", "train", "missing.csv", "--out", "{tmp}"], "error: data 'missing.csv' not found"),
    (["som", "train", "sklearn:irish", "--out", "{tmp}"], "error: unknown data set sklearn:irish"),
    (["som", "train", "sklearn:iris", "--neighborhood", "gausian", "--device", "cpu",
      "--out", "{tmp}"], "error: unknown neighborhood 'gausian'; choose one of"),
])
def test_user_errors_are_one_line(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as info:
        main([a.replace("{tmp}", str(tmp_path)) for a in args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_predict_with_wrong_columns_is_named(trained, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((5, 4)))
    with pytest.raises(SystemExit):
        main(["som", "predict", str(trained), str(tmp_path / "x.npy"), "--device", "cpu"])
    assert "4 features but the scaler was fitted on 13" in capsys.readouterr().err


def test_som_help_does_not_import_torch_or_numpy():
    code = ("import sys; from dlcourse.cli.main import main\n"
            "for args in (['som', '--help'], ['som', 'train', '--help']):\n"
            "    try: main(args)\n"
            "    except SystemExit: pass\n"
            "print('torch' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False False"), out.stdout
