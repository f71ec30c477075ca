"""`dlcourse som train | evaluate | predict | plot` on the CPU run with torch and torchvision
made unimportable: the SOM trains no torch model, so none of its commands may need torch."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A table with labels and a matrix without, in a folder the commands run in."""
    import numpy as np
    from sklearn.datasets import load_wine

    path = tmp_path_factory.mktemp("no_torch")
    data = load_wine()
    lines = [",".join([*data.feature_names, "cultivar"])]
    lines += [",".join([*(f"{v:g}" for v in row), f"c{t}"]) for row, t in
              zip(data.data, data.target, strict=True)]
    (path / "wine.csv").write_text("\n".join(lines) + "\n")
    np.save(path / "new.npy", data.data[:10])
    return path


@pytest.mark.parametrize("args", [
    ("som", "train", "wine.csv", "--grid", "5x6", "--topology", "hex", "--epochs", "3",
     "--out", "run"),
    ("som", "train", "new.npy", "--grid", "3x3", "--algorithm", "online", "--out", "online"),
    ("som", "evaluate", "run"),
    ("som", "predict", "run", "new.npy"),
    ("som", "predict", "run", "wine.csv", "--out", "pred.csv"),
    ("som", "plot", "run"),
], ids=lambda a: " ".join(a[1:]))
def test_som_commands_need_no_torch(run_without_torch, folder, args):
    # the parameters run in order: train writes the map the other verbs read
    result = run_without_torch(*args, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "torch" not in result.stderr
    if args[1] == "plot":
        assert (folder / "run" / "hit_map.png").stat().st_size > 1000
