"""`dlcourse som train | evaluate | predict | plot`, run in-process on real tables from a fresh
working directory with relative paths, as a user types them."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_wine

from dlcourse.cli.main import main


def write_wine_csv(path) -> None:
    data = load_wine()
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*data.feature_names, "cultivar"])
        for row, target in zip(data.data, data.target, strict=True):
            writer.writerow([*row, f"c{target}"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A hexagonal map of wine.csv in ``run/`` (the folder holds the CSV too)."""
    folder = tmp_path_factory.mktemp("som_cli")
    write_wine_csv(folder / "wine.csv")
    main(["som", "train", str(folder / "wine.csv"), "--grid", "6x7", "--topology", "hex",
          "--epochs", "5", "--device", "cpu", "--out", str(folder / "run")])
    return folder


@pytest.fixture
def here(trained, workdir):
    """The trained run and its CSV copied into a fresh working directory."""
    shutil.copytree(trained / "run", "run")
    shutil.copy(trained / "wine.csv", "wine.csv")
    return workdir


def test_train_saves_map_scaler_history_and_metrics(trained):
    from dlcourse.engine.persist import read_manifest

    manifest = read_manifest(trained / "run" / "model.safetensors")
    assert manifest["lesson"] == "som" and manifest["estimator"] == "SOM"
    assert manifest["config"]["topology"] == "hexagonal" and manifest["config"]["m"] == 6
    # the config's own defaults apply (the CLI no longer has its own)
    assert manifest["config"]["sigma_end"] == 0.5 and manifest["config"]["decay"] == "inverse_time"
    meta = manifest["metadata"]
    assert len(meta["scaler"]["mean"]) == 13 and min(meta["scaler"]["scale"]) > 0
    assert meta["classes"] == ["c0", "c1", "c2"] and meta["label_column"] == "cultivar"
    unit_labels = manifest["state"]["unit_labels"]
    assert np.array(unit_labels, dtype=object).shape == (6, 7)
    assert {v for row in unit_labels for v in row} - {None} <= {"c0", "c1", "c2"}
    history = json.loads((trained / "run" / "history.json").read_text())
    assert len(history) == 6 and history[-1]["quantization_error"] < history[0][
        "quantization_error"]
    metrics = json.loads((trained / "run" / "metrics.json").read_text())
    assert metrics["samples"] == 178 and metrics["features"] == 13
    assert (trained / "run" / "last.safetensors").exists()


def test_outputs_never_replace_the_data_or_the_run(cli_run, here):
    """--out onto the DATA being read, or onto a file of the model folder: refused, untouched."""
    data, model = open("wine.csv", "rb").read(), open("run/model.safetensors", "rb").read()
    cli_run("som", "predict", "run", "wine.csv", "--out", "wine.csv").assert_user_error(
        "--out wine.csv is the file this command reads")
    cli_run("som", "predict", "run", "wine.csv", "--out", "run/model.safetensors"
            ).assert_user_error("the training run's own model.safetensors")
    assert open("wine.csv", "rb").read() == data
    assert open("run/model.safetensors", "rb").read() == model


def test_predict_applies_the_saved_scaler(cli_run, here):
    result = cli_run("som", "predict", "run", "wine.csv", "--out", "out/pred.csv")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(open("out/pred.csv")))
    assert len(rows) == 178 and {"row", "col", "distance", "unit_label", "label"} <= set(rows[0])
    assert all(0 <= int(r["row"]) < 6 and 0 <= int(r["col"]) < 7 for r in rows)
    # on standardised wine a map labelled by majority agrees with most labels (calibrated)
    assert np.mean([r["unit_label"] == r["label"] for r in rows]) > 0.9
    # distances are in standardised units: raw-unit distances would be in the hundreds
    assert max(float(r["distance"]) for r in rows) < 10
    printed = cli_run("som", "predict", "run", "wine.csv")
    assert printed.code == 0 and "158 more rows" in printed.out
    # --limit: each row keeps its number in DATA (it was numbered 0..N-1 within the subset)
    some = cli_run("som", "predict", "run", "wine.csv", "--limit", "5", "--out", "out/five.csv")
    assert some.code == 0, some.err
    five = list(csv.DictReader(open("out/five.csv")))
    assert [r["sample"] for r in five] != ["0", "1", "2", "3", "4"]
    for r in five:  # the same mapping as the full run's row of that number
        assert {k: r[k] for k in ("row", "col", "label")} == {
            k: rows[int(r["sample"])][k] for k in ("row", "col", "label")}


def test_the_map_loaded_in_python_answers_raw_rows_as_the_cli_does(cli_run, here):
    """`som train` standardises and saves its scaler; SOM.load(...).predict(raw rows) gave
    other units than `som predict` (the rows went unscaled), with no word."""
    from dlcourse.som import SOM

    assert cli_run("som", "predict", "run", "wine.csv", "--out", "pred.csv").code == 0
    cli = [[int(r["row"]), int(r["col"])] for r in csv.DictReader(open("pred.csv"))]
    raw = load_wine().data
    som = SOM.load("run", device="cpu")
    assert som.predict(raw).tolist() == cli
    scaled = som.scale(raw)  # what the weights see: mean 0, std 1 per feature
    assert np.allclose(scaled.mean(0), 0, atol=1e-9) and np.allclose(scaled.std(0), 1)
    assert som.quantization_error(raw) == pytest.approx(
        float(np.linalg.norm(scaled - som.weights_.reshape(-1, 13)[
            som.bmu_indices(raw)], axis=1).mean()))
    assert sum(len(v) for v in som.win_map(raw).values()) == 178
    assert np.array_equal(som.win_map(raw)[tuple(cli[0])][0], raw[0])  # rows as given


def test_options_the_batch_rule_does_not_use_get_a_note(cli_run, workdir):
    """--lr, --lr-end, --batch-size and --shuffle shape the online rules only: said, not
    silently ignored."""
    result = cli_run("som", "train", "sklearn:iris", "--grid", "3x3", "--epochs", "1",
                     "--lr", "0.1", "--batch-size", "8", "--out", "run")
    assert result.code == 0, result.err
    assert "note: the batch algorithm does not use --lr, --batch-size" in result.err
    online = cli_run("som", "train", "sklearn:iris", "--grid", "3x3", "--epochs", "1",
                     "--algorithm", "online", "--lr", "0.1", "--out", "run2")
    assert online.code == 0 and "note:" not in online.err


def test_predict_new_samples_without_the_label_column(cli_run, here):
    data = load_wine()
    np.save("new.npy", data.data[:5])
    result = cli_run("som", "predict", "run", "new.npy")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].split() == ["sample", "row", "col", "distance",
                                                  "unit_label"]


def test_evaluate_prints_and_writes_only_when_asked(cli_run, here):
    before = here()
    result = cli_run("som", "evaluate", "run")  # DATA: the training data, found from here
    assert result.code == 0, result.err
    header, _, values = result.out.splitlines()[:3]
    assert header.split() == ["data", "samples", "quantization_error", "topographic_error",
                              "label_agreement"]
    agreement = float(values.split()[-1])
    assert 0.9 < agreement <= 1.0  # calibrated on wine
    assert here() == before
    written = cli_run("som", "evaluate", "run", "wine.csv", "--limit", "50", "--out", "eval")
    assert written.code == 0, written.err
    report = json.loads(open("eval/evaluation.json").read())
    assert report["samples"] == 50 and report["quantization_error"] > 0


def test_plot_writes_every_figure(cli_run, here):
    result = cli_run("som", "plot", "run", "--features", "0,3", "--out", "figures")
    assert result.code == 0, result.err
    for name in ("umatrix", "component_planes", "history", "hit_map", "weights_scatter"):
        assert open(f"figures/{name}.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n", name


def test_plot_of_a_one_row_map_is_a_wide_strip(cli_run, here):
    from PIL import Image

    result = cli_run("som", "train", "wine.csv", "--grid", "1x40", "--epochs", "3",
                     "--device", "cpu", "--out", "strip")
    assert result.code == 0, result.err
    result = cli_run("som", "plot", "strip", "--out", "figures")
    assert result.code == 0, result.err
    # a 1 x 40 map fills a wide figure (it was a thin strip in a square one)
    for name in ("umatrix", "component_planes", "hit_map"):
        width, height = Image.open(f"figures/{name}.png").size
        assert width > 3 * height, (name, width, height)
    width, height = Image.open("figures/umatrix.png").size
    assert width > 600, width


def test_dry_run_on_sklearn_set_and_npy(cli_run, workdir):
    result = cli_run("som", "train", "sklearn:iris", "--dry-run", "--device", "cpu",
                     "--out", "a")
    assert result.code == 0 and "note:" not in result.err
    metrics = json.loads(open("a/metrics.json").read())
    assert metrics["grid"] == "5x5" and metrics["epochs"] == 2
    # typed values the smoke test replaces are named, not dropped in silence; those it keeps
    # (a smaller grid, one epoch) are not
    result = cli_run("som", "train", "sklearn:iris", "--dry-run", "--grid", "20X20", "--epochs",
                     "9", "--limit", "500", "--device", "cpu", "--out", "a2")
    assert result.code == 0, result.err
    assert "note: --dry-run replaces --grid 20x20 -> 5x5, --epochs 9 -> 2, --limit 500 -> 200 " \
        "(a smoke test; leave --dry-run out to train with them)" in result.err
    assert json.loads(open("a2/metrics.json").read())["grid"] == "5x5"
    result = cli_run("som", "train", "sklearn:iris", "--dry-run", "--grid", "3x3", "--epochs",
                     "1", "--limit", "50", "--device", "cpu", "--out", "a3")
    assert result.code == 0 and "note:" not in result.err
    np.save("x.npy", load_wine().data[:60])
    result = cli_run("som", "train", "x.npy", "--grid", "3x4", "--algorithm", "online",
                     "--no-standardize", "--epochs", "2", "--device", "cpu", "--out", "b")
    assert result.code == 0, result.err
    assert cli_run("som", "predict", "b", "x.npy", "--device", "cpu").code == 0


def test_single_column_csv_is_one_feature(cli_run, workdir):
    with open("h.csv", "w") as handle:
        handle.write("height\n" + "\n".join(f"{1.5 + i / 100:.2f}" for i in range(40)) + "\n")
    result = cli_run("som", "train", "h.csv", "--grid", "1x5", "--out", "run")
    assert result.code == 0, result.err
    assert "on 40 x 1" in result.out


def test_som_help_does_not_import_torch_or_numpy():
    code = ("import sys; from dlcourse.cli.main import main\n"
            "for args in (['som', '--help'], ['som', 'train', '--help']):\n"
            "    try: main(args)\n"
            "    except SystemExit: pass\n"
            "print('torch' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False False"), out.stdout
    text = " ".join(out.stdout.split())
    assert "[default: 10x10]" in text and "rect and hex for short" in text
    assert "[default: 0.5]" in text  # --sigma-end: the config's default


def test_every_train_option_default_is_the_configs():
    import dataclasses

    from dlcourse.cli.som import train
    from dlcourse.som.config import SOMConfig

    options = {p.name: p for p in train.params if isinstance(p, __import__("click").Option)}
    no_option = {f.name for f in dataclasses.fields(SOMConfig) if not f.metadata.get("cli", True)}
    assert no_option == {"progress"}  # on in the CLI unless `dlcourse -q`
    for name, value in SOMConfig().to_dict().items():
        if name in ("m", "n") or name in no_option:  # --grid; not an option
            continue
        assert options[name].default is None, name  # None: the config's default applies
        shown = "none" if value is None else (("on" if value else "off")
                                              if isinstance(value, bool) else str(value))
        assert f"[default: {shown}]" in options[name].help, name


def test_train_shows_progress_over_the_epochs_unless_quiet(cli_run, here, monkeypatch):
    monkeypatch.setenv("DLCOURSE_PROGRESS", "1")  # the suite turns bars off
    result = cli_run("som", "train", "wine.csv", "--grid", "4x4", "--epochs", "3", "--out", "r")
    assert result.code == 0, result.err
    assert "som: 100%" in result.err and "3/3" in result.err and "qe=" in result.err
    quiet = cli_run("-q", "som", "train", "wine.csv", "--grid", "4x4", "--epochs", "3",
                    "--out", "r2")
    assert quiet.code == 0 and "som:" not in quiet.err
    assert np.array_equal(_weights("r"), _weights("r2"))  # the bar changes nothing


def _weights(run: str) -> np.ndarray:
    from dlcourse.som import SOM

    return SOM.load(run).weights_


def test_evaluate_and_plot_default_to_the_rows_a_limited_run_trained_on(cli_run, workdir):
    # they read the whole file; evaluate then disagreed with train's own metrics
    assert cli_run("som", "train", "sklearn:iris", "--grid", "4x4", "--limit", "30", "--epochs",
                   "3", "--seed", "3", "--device", "cpu", "--out", "m").code == 0
    metrics = json.loads(open("m/metrics.json").read())
    result = cli_run("som", "evaluate", "m", "--out", "e")
    assert result.code == 0, result.err
    row = json.loads(open("e/evaluation.json").read())
    assert row["samples"] == metrics["samples"] == 30
    assert row["quantization_error"] == pytest.approx(metrics["quantization_error"])
    assert row["topographic_error"] == pytest.approx(metrics["topographic_error"])
    # an explicit --limit (or DATA) still chooses
    assert cli_run("som", "evaluate", "m", "--limit", "150", "--out", "all").code == 0
    assert json.loads(open("all/evaluation.json").read())["samples"] == 150


def test_metrics_count_the_samples_iterations_visit(cli_run, workdir):
    # --iterations replaces epochs x samples: metrics said 3 epochs for 5 samples visited
    result = cli_run("som", "train", "sklearn:iris", "--grid", "3x3", "--algorithm", "online",
                     "--epochs", "3", "--iterations", "75", "--device", "cpu", "--out", "o")
    assert result.code == 0, result.err
    metrics = json.loads(open("o/metrics.json").read())
    assert metrics["samples_visited"] == 75 and metrics["epochs"] == 0.5
    assert metrics["samples_per_s"] == pytest.approx(75 / metrics["seconds"])


def test_unstandardized_data_too_spread_for_float32_is_refused_before_writing(refused,
                                                                             workdir):
    # its squared distances overflowed float32: QE inf, every row on one unit, exit 0
    X = np.random.default_rng(1).normal(size=(20, 3))
    X[:, 2] *= 1e20
    np.savetxt("w.csv", X, delimiter=",", header="a,b,c", comments="")
    refused(workdir, "som", "train", "w.csv", "--out", "m", "--grid", "2x2",
            "--no-standardize", "--device", "cpu", match=r"column 'c' lies up to")
    refused(workdir, "som", "train", "w.csv", "--out", "m", "--grid", "2x2", "--device", "cpu",
            match=None)  # standardised, the same data trains


def test_plot_shows_what_varies_on_many_features(cli_run, workdir, monkeypatch):
    """On 784 pixels the component planes were the first 8, a blank corner (8 grey panels),
    and the scatter two pixels against each other (a tangle): the planes are the 8 that vary
    most, the scatter the data's principal plane."""
    from dlcourse.plots import som as plots

    weights = np.zeros((3, 4, 12))
    weights[..., 9] = np.arange(12).reshape(3, 4)            # varies most
    weights[..., 2] = np.arange(12).reshape(3, 4) % 2        # varies a little
    assert plots.varying_features(weights, 2) == [2, 9]
    assert plots.varying_features(weights) == [0, 1, 2, 3, 4, 5, 6, 9]  # ties: the first
    rng = np.random.default_rng(0)
    X = np.zeros((300, 20))
    X[:, 5:8] = rng.normal(size=(300, 3)) * [3.0, 2.0, 0.1]
    np.save("x.npy", X)
    assert cli_run("-q", "som", "train", "x.npy", "--grid", "4x4", "--epochs", "3",
                   "--no-standardize", "--out", "run").code == 0
    shown = {}
    real = plots.plot_weight_scatter
    monkeypatch.setattr(plots, "plot_weight_scatter", lambda X, w, path, *a, **kw: shown.update(
        X=X, w=w, names=kw["names"]) or real(X, w, path, *a, **kw))
    result = cli_run("som", "plot", "run", "--data", "x.npy")
    assert result.code == 0, result.err
    assert shown["names"] == ["principal component 1", "principal component 2"]
    assert shown["X"].shape == (300, 2) and shown["w"].shape == (4, 4, 2)
    assert np.std(shown["X"][:, 0]) == pytest.approx(np.std(X[:, 5]), rel=0.1)  # the widest
