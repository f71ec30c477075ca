"""What a MiniSom user met moving to `dlcourse som`: a number column named y taken for the
labels, column names checked one way only, hit-map labels cut to "class_", quantization in
the map's units, and a few MiniSom habits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlcourse.errors import InputError, NotFittedError
from dlcourse.plots.som import cell_labels
from dlcourse.som import SOM
from dlcourse.som.data import load_table

RNG = np.random.default_rng(0)
POINTS = RNG.uniform(size=(120, 2)).round(3)  # x, y coordinates: two features, no labels


def _train(cli_run, *args):
    result = cli_run("--threads", "1", "som", "train", *args, "--grid", "3x3", "--epochs", "3")
    assert result.code == 0, result.err
    return result


def test_a_number_column_named_y_is_a_feature_unless_its_values_are_whole(cli_run, workdir,
                                                                         refused):
    # x,y points trained on x alone, labelled by y, with no word said
    pd.DataFrame(POINTS, columns=["x", "y"]).to_csv("xy.csv", index=False)
    trained = _train(cli_run, "xy.csv", "--out", "xy")
    assert "on 120 x 2" in trained.out
    assert "note: xy.csv: column 'y' is named like labels but holds fractions: a feature " \
           "(--label-col y makes it the labels)" in trained.err
    assert cli_run("som", "predict", "xy", "xy.csv").code == 0  # y stays a feature there too
    # whole numbers under a label's name are classes (sklearn's frames name them target), said
    frame = pd.DataFrame(POINTS, columns=["a", "b"]).assign(target=RNG.integers(0, 3, 120))
    frame.to_csv("t.csv", index=False)
    trained = _train(cli_run, "t.csv", "--out", "t")
    assert "on 120 x 2" in trained.out
    assert "note: t.csv: column 'target' holds the labels (its name); --label-col names " \
           "another, --label-col none makes it a feature" in trained.err
    assert "on 120 x 3" in _train(cli_run, "t.csv", "--out", "t3", "--label-col", "none").out
    predicted = cli_run("som", "predict", "t3", "t.csv")  # target a feature there too
    assert predicted.code == 0, predicted.err
    refused(workdir, "som", "train", "t.csv", "--out", "t4", "--label-col", "nope",
            match="t.csv has no column 'nope'")


def test_column_names_are_checked_both_ways_between_the_cli_and_python(cli_run, workdir):
    frame = pd.DataFrame(RNG.normal(size=(80, 3)), columns=["sl", "sw", "pl"])
    frame.to_csv("m.csv", index=False)
    frame[["pl", "sw", "sl"]].to_csv("reordered.csv", index=False)
    _train(cli_run, "m.csv", "--out", "cli")
    som = SOM.load("cli")
    assert list(som.feature_names_in_) == ["sl", "sw", "pl"]
    with pytest.raises(InputError, match="the same columns in another order"):
        som.predict(frame[["pl", "sw", "sl"]])  # gave other units, with a false warning
    SOM(3, 3, epochs=3).fit(frame).save("py")
    result = cli_run("som", "predict", "py", "reordered.csv")
    result.assert_user_error(r"column 1 is 'pl' where the map was trained on 'sl'")
    ok = cli_run("som", "predict", "py", "m.csv")
    assert ok.code == 0 and "Warning" not in ok.err  # 4 lines of raw UserWarnings were there


def test_hit_map_labels_keep_what_tells_them_apart():
    # every wine cell read "class_"
    assert cell_labels(["class_0", None, "class_2", "class_1"]) == {
        "class_0": "0", "class_1": "1", "class_2": "2"}
    assert cell_labels(["Iris-setosa", "Iris-versicolor"]) == {
        "Iris-setosa": "setosa", "Iris-versicolor": "versic"}
    assert cell_labels(["10", "11", "12"]) == {"10": "10", "11": "11", "12": "12"}
    assert cell_labels(["sample_a1", "sample_a2"]) == {"sample_a1": "a1", "sample_a2": "a2"}
    assert cell_labels(["longname1", "longname2"]) == {"longname1": "longname1",
                                                       "longname2": "longname2"}


def test_quantization_is_in_the_datas_units_and_needs_a_fitted_map(cli_run, workdir):
    X = RNG.normal(loc=50.0, scale=10.0, size=(60, 2))
    np.save("x.npy", X)
    _train(cli_run, "x.npy", "--out", "run")  # standardised: the weights are in z-scores
    som = SOM.load("run")
    codes = som.quantization(X)
    assert np.abs(codes - X).mean() < 0.5 * np.abs(X - X.mean(axis=0)).mean()
    assert np.allclose(codes.mean(axis=0), X.mean(axis=0), atol=5.0)
    with pytest.raises(NotFittedError):
        SOM(3, 3).quantization(X)  # an AttributeError about weights_


def test_win_map_and_labels_map_answer_for_a_unit_that_won_nothing():
    X = np.vstack([RNG.normal(size=(20, 2)), RNG.normal(size=(20, 2)) + 8])
    som = SOM(5, 5, epochs=5, random_state=0).fit(X)
    winners = {tuple(c) for c in som.predict(X).tolist()}
    empty = next((r, c) for r in range(5) for c in range(5) if (r, c) not in winners)
    assert som.win_map(X)[empty] == [] and not som.labels_map(X, ["a"] * 40)[empty]


def test_odd_tables_a_user_brings(tmp_path, cli_run, workdir):
    # a spreadsheet's trailing comma made a column 'Unnamed: 3' with a "missing value" in row 1
    Path("tc.csv").write_text("a,b,c,\n1,2,3,\n4,5,6,\n7,8,9,\n")
    table = load_table("tc.csv")
    assert table.feature_names == ["a", "b", "c"] and table.X.shape == (3, 3)
    # pandas' nullable floats: a missing value, not "must be numeric ... NAType"
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 3.0, 1.0, 0.0]}).astype("Float64")
    with pytest.raises(InputError, match="holds nan at row 1, column 1"):
        SOM(2, 2).fit(frame.mask(frame > 2))
    # --out pdir/ wrote a file named pdir
    np.save("x.npy", RNG.normal(size=(30, 2)))
    _train(cli_run, "x.npy", "--out", "run")
    cli_run("som", "predict", "run", "x.npy", "--out", "pdir/").assert_user_error(
        r"--out pdir/ names a folder \(it ends in /\); give a file name such as "
        r"pdir/predictions.csv")
    assert not Path("pdir").exists()


def test_a_refused_data_file_gets_its_error_line_alone(cli_run, workdir):
    # evaluate printed "note: ... holds the labels" and then the error
    pd.DataFrame(RNG.normal(size=(30, 2)), columns=["a", "b"]).to_csv("two.csv", index=False)
    pd.DataFrame(RNG.normal(size=(30, 3)), columns=["a", "b", "c"]).assign(
        kind=["u", "v"] * 15).to_csv("three.csv", index=False)
    _train(cli_run, "two.csv", "--out", "run")
    cli_run("som", "evaluate", "run", "three.csv").assert_user_error(
        "has 3 features but the map was trained on 2")


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
def test_euclidean_coordinates_are_minisoms(topology):
    # MiniSom's hexagonal plotting recipe calls these two; they were missing
    minisom = pytest.importorskip("minisom")
    theirs = minisom.MiniSom(4, 5, 3, topology=topology)
    ours = SOM(4, 5, topology=topology)
    for a, b in zip(theirs.get_euclidean_coordinates(), ours.get_euclidean_coordinates(),
                    strict=True):
        np.testing.assert_allclose(b, a)
    assert ours.convert_map_to_euclidean((2, 3)) == pytest.approx(
        theirs.convert_map_to_euclidean((2, 3)))


def test_plot_features_by_the_names_the_panels_show(cli_run, workdir):
    # --features sl,pw was "not a comma-separated list of column numbers"
    pd.DataFrame(RNG.normal(size=(60, 3)), columns=["sl", "sw", "pl"]).to_csv("m.csv",
                                                                             index=False)
    _train(cli_run, "m.csv", "--out", "run")
    for features, out in (("0,2", "by_number"), ("sl,pl", "by_name")):
        done = cli_run("som", "plot", "run", "--features", features, "--out", out)
        assert done.code == 0, done.err
    assert Path("by_name/component_planes.png").read_bytes() == \
        Path("by_number/component_planes.png").read_bytes()
