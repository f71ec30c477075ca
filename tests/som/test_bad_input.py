"""Every `dlcourse som` verb with bad input: one line ``error: ...``, exit 2, no traceback, and
nothing written. Run from a fresh working directory with relative paths, as a user types them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

GOOD = ("wine.csv", "--grid", "4x5", "--epochs", "2", "--device", "cpu")  # a run that works

TRAIN = [
    # values out of range, of the wrong type or not among the choices
    (("--grid", "0x0"), r"--grid '0x0': both sides must be >= 1"),
    (("--grid", "abc"), r"--grid 'abc' is not a grid like 20x20"),
    (("--grid", "3x"), r"--grid '3x' is not a grid like 20x20"),
    (("--grid", "1x1"), r"a 1x1 grid has no neighbours"),
    # it allocated 74.5 GiB and died with a traceback
    (("--grid", "100000x100000"), r"a 100000x100000 map has 10,000,000,000 units; at most "
                                  r"1,000,000 are supported"),
    (("--epochs", "0"), r"--epochs must be >= 1, got 0"),
    (("--epochs", "abc"), r"--epochs must be a whole number, got 'abc'"),
    (("--epochs", "1.5"), r"--epochs must be a whole number, got '1.5'"),
    (("--sigma", "0"), r"--sigma must be >= 0.01, got 0.0"),
    (("--sigma", "-2"), r"--sigma must be >= 0.01, got -2.0"),
    (("--sigma", "nan"), r"--sigma must be a finite number"),
    (("--sigma", "wide"), r"--sigma must be a number or none, got 'wide'"),
    (("--sigma-end", "0"), r"--sigma-end must be >= 0.01"),
    (("--sigma-end", "1e-200"), r"--sigma-end must be >= 0.01"),  # a ZeroDivisionError before
    (("--lr", "0"), r"--lr must be > 0.0"),
    (("--learning-rate", "0"), r"--learning-rate must be > 0.0"),  # the older spelling, as typed
    (("--lr-end", "inf"), r"--lr-end must be a finite number"),
    (("--batch-size", "0"), r"--batch-size must be >= 1"),
    (("--chunk-size", "0"), r"--chunk-size must be >= 1"),
    (("--iterations", "0"), r"--iterations must be >= 1"),
    # a typo's epochs or iterations built their schedule and sample order until memory ran out
    (("--epochs", "99999999999999999999"), r"--epochs must be <= 100000, got 9999"),
    (("--algorithm", "online", "--iterations", "10000000000"),
     r"--iterations must be <= 100000000, got 10000000000"),
    (("--algorithm", "minibatch", "--lr", "1e-320"), r"--lr must be >= 1e-12 \(a smaller"),
    # a subnormal rate: the compiled online rule divided by it (ZeroDivisionError traceback)
    (("--algorithm", "online", "--lr-end", "1e-320"), r"--lr-end must be >= 1e-12"),
    # a rate above 2 moves the best unit past the sample by more each step: QE inf, exit 0
    (("--algorithm", "online", "--lr", "1e300"), r"--lr must be <= 2.0, got 1e\+300"),
    (("--algorithm", "minibatch", "--lr", "3", "--lr-end", "2.5"), r"--lr must be <= 2.0"),
    (("--seed", "-1"), r"--seed must be >= 0"),
    (("--seed", "99999999999999999999"), r"--seed must be <= 4294967295"),  # numpy/torch range
    (("--topology", "cube"),
     r"unknown --topology 'cube'; choose one of rectangular, hexagonal, rect, hex"),
    (("--neighborhood", "gausian"), r"unknown --neighborhood 'gausian'; choose one of gaussian"),
    (("--decay", "fast"), r"unknown --decay 'fast'; choose one of exponential, linear"),
    (("--distance", "cheb"), r"unknown --distance 'cheb'; choose one of euclidean, cosine"),
    (("--init", "zeros"), r"unknown --init 'zeros'; choose one of pca, random, sample"),
    (("--algorithm", "sgd"), r"unknown --algorithm 'sgd'; choose one of batch, online"),
    (("--backend", "jax"), r"unknown --backend 'jax'; choose one of auto, numpy, torch"),
    (("--device", "gpu"), r"unknown --device 'gpu'; use auto, cpu, cuda, cuda:N or mps"),
    (("--backend", "numpy", "--device", "cuda"), r"--backend numpy runs on the CPU only"),
    # rules across settings
    (("--neighborhood", "mexican_hat"), r"--neighborhood mexican_hat has negative weights"),
    (("--neighborhood", "mexican_hat", "--algorithm", "online"),
     r"--sigma-end must be >= 1 with the mexican_hat neighborhood"),
    (("--iterations", "500"), r"--iterations applies to the online and minibatch algorithms"),
    # schedules only shrink: a growing radius or rate was trained without a word
    (("--sigma", "0.3"), r"--sigma-end 0.5 is above the start radius 0.3: the radius shrinks"),
    (("--algorithm", "online", "--lr-end", "2"), r"--lr-end 2 is above the start rate 0.5"),
    (("--sigma", "0.3", "--sigma-end", "0.3"), None),  # a constant radius is fine
    (("--topology", "hex", "--toroidal", "--grid", "5x6"),
     r"--toroidal needs an even number of rows on a hexagonal grid, got 5 rows"),
    (("--limit", "0"), r"--limit must be >= 1, got 0"),
    (("--label-col", "nosuch"), r"wine.csv has no column 'nosuch'; columns: alcohol"),
    (("--label-column", "nosuch"), r"wine.csv has no column 'nosuch'; columns: alcohol"),
    (("--bogus",), r"No such option '--bogus'"),
    # control cases: the same command is accepted (short topology names, a torus)
    (("--topology", "hex", "--toroidal"), None),
    (("--algorithm", "online", "--neighborhood", "mexican_hat", "--sigma-end", "1"), None),
]


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """A small map of wine.csv (13 features, labels in 'cultivar') to copy into each test."""
    from dlcourse.cli.main import main

    folder = tmp_path_factory.mktemp("som_model")
    _write_wine(folder / "wine.csv")
    main(["som", "train", str(folder / "wine.csv"), "--grid", "4x5", "--epochs", "2",
          "--device", "cpu", "--out", str(folder / "run")])
    return folder


def _write_wine(path: Path) -> None:
    from sklearn.datasets import load_wine

    data = load_wine()
    lines = [",".join([*data.feature_names, "cultivar"])]
    lines += [",".join([*(f"{v:g}" for v in row), f"c{t}"]) for row, t in
              zip(data.data, data.target, strict=True)]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def files(workdir, trained_dir):
    """The working directory's inputs: good and broken models, good and broken data files."""
    from dlcourse.engine.persist import read_manifest, write_state

    shutil.copytree(trained_dir / "run", "som")
    shutil.copy(trained_dir / "wine.csv", "wine.csv")
    model = Path("som/model.safetensors")
    manifest = read_manifest(model)
    write_state(Path("lm/model.safetensors"), {**manifest, "lesson": "lm",
                                               "estimator": "LanguageModel"},
                {"weights": np.zeros((3, 2))})
    moved = {**manifest, "metadata": {**manifest["metadata"], "data": "/nowhere/wine.csv"}}
    from safetensors.numpy import load_file

    write_state(Path("moved/model.safetensors"), moved, load_file(model))
    data = model.read_bytes()
    Path("truncated").mkdir()
    Path("truncated/model.safetensors").write_bytes(data[: len(data) - 100])  # arrays cut off
    Path("broken").mkdir()
    checkpoint = Path("som/last.safetensors").read_bytes()
    Path("broken/last.safetensors").write_bytes(checkpoint[: len(checkpoint) - 50])
    Path("header").mkdir()
    Path("header/model.safetensors").write_bytes(data[:20])  # the JSON header cut off
    Path("old").mkdir()
    Path("old/model.pt").write_bytes(b"PK\x03\x04 an old torch checkpoint")
    Path("nomodel").mkdir()
    Path("torchrun").mkdir()
    Path("torchrun/last.pt").write_bytes(b"PK\x03\x04")
    Path("notes.txt").write_text("not a folder\n")
    Path("empty.csv").write_text("")
    Path("blank.csv").write_text("\n  \n\n")
    Path("header.csv").write_text("a,b,c\n")
    Path("nan.csv").write_text("a,b\n1,2\n3,\n")
    Path("inf.csv").write_text("a,b\n1,2\n3,-inf\n")
    Path("text.csv").write_text("a,name,kind\n1,bob,x\n2,amy,y\n")
    wine = Path("wine.csv").read_text().splitlines()
    Path("noted.csv").write_text("\n".join([wine[0] + ",note"] + [line + ",ok" for line in
                                                                   wine[1:]]) + "\n")
    Path("ragged.csv").write_text("a,b\n1,2\n3,4,5\n")
    Path("oneline.txt").write_text("1 2 3\n4 5\n")  # ragged on spaces: one text column
    Path("latin1.csv").write_bytes("caf\u00e9,b\n1,2\n".encode("latin-1"))
    Path("binary.csv").write_bytes(b"\x00\x01\x02" * 100)
    Path("data.json").write_text("[1, 2]")
    Path("empty.npy").write_bytes(b"")
    np.save("rows0.npy", np.zeros((0, 13)))
    np.save("flat.npy", np.zeros(13))
    np.save("four.npy", np.ones((5, 4)))
    np.save("objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    nan = np.ones((6, 13))
    nan[4, 2] = np.nan
    np.save("nan.npy", nan)
    Path("trunc.npy").write_bytes(Path("nan.npy").read_bytes()[:100])
    renamed = Path("wine.csv").read_text().replace("alcohol,", "alcool,", 1)
    Path("renamed.csv").write_text(renamed)
    Path("folder").mkdir()
    return workdir


@pytest.mark.parametrize("options, match", TRAIN, ids=[" ".join(o) for o, _ in TRAIN])
def test_train_option_values(refused, files, options, match):
    refused(files, "som", "train", *GOOD, *options, "--out", "out", match=match)


CASES = [
    # train: DATA and --out
    (("train", "--out", "out"), r"Missing argument 'DATA'"),
    (("train", "wine.csv"), r"Missing option '--out'"),
    (("train", "nosuch.csv", "--out", "out"), r"DATA 'nosuch.csv' not found; pass a \.csv"),
    (("train", "sklearn:irish", "--out", "out"), r"unknown data set sklearn:irish; choose one"),
    (("train", "folder", "--out", "out"), r"DATA folder is a directory; pass a \.csv"),
    (("train", "", "--out", "out"), r"DATA is an empty string; pass a \.csv"),  # not "a directory"
    (("train", "oneline.txt", "--out", "out"),
     r"oneline.txt has no numeric feature columns; it reads as one column: no separator"),
    (("train", "data.json", "--out", "out"), r"cannot read data.json: pass a \.csv"),
    (("train", "empty.csv", "--out", "out"), r"DATA empty.csv is empty"),
    (("train", "blank.csv", "--out", "out"), r"DATA blank.csv is empty"),
    (("train", "header.csv", "--out", "out"), r"header.csv has a header but no data rows"),
    (("train", "nan.csv", "--out", "out"), r"nan.csv: missing value in data row 2, column 'b'"),
    (("train", "inf.csv", "--out", "out"), r"inf.csv: infinite value in data row 2, column 'b'"),
    # all of them at once, with the option that leaves them out (it named only the first)
    (("train", "text.csv", "--out", "out"),
     r"columns 'name', 'kind' are not numeric; leave them out with --drop-cols name,kind, or "
     r"name the label column with --label-col"),
    (("train", "ragged.csv", "--out", "out"),
     r"cannot read ragged.csv as a table: line 3 has 3 fields where the lines before have 2 "
     r"\(separator ','\); give a table with the same columns on every line"),
    (("train", "latin1.csv", "--out", "out"), r"latin1.csv is not UTF-8 text \(byte 0xe9"),
    (("train", "binary.csv", "--out", "out"), r"binary.csv (is not UTF-8|looks binary)"),
    (("train", "empty.npy", "--out", "out"), r"DATA empty.npy is empty"),
    (("train", "rows0.npy", "--out", "out"), r"rows0.npy holds an empty \(0, 13\) array"),
    (("train", "flat.npy", "--out", "out"), r"save a 2-D numeric \(samples, features\) array"),
    (("train", "objects.npy", "--out", "out"), r"cannot read objects.npy: .*allow_pickle"),
    (("train", "trunc.npy", "--out", "out"), r"cannot read trunc.npy: "),
    (("train", "nan.npy", "--out", "out"), r"nan.npy: missing value in data row 5, column 'x2'"),
    (("train", "sklearn:iris", "--label-column", "nosuch", "--out", "out"),
     r"sklearn:iris has its labels already; --label-column names a column"),
    (("train", "four.npy", "--label-column", "x1", "--out", "out"),
     r"four.npy is a matrix without column names"),
    (("train", *GOOD, "--out", "notes.txt"), r"--out notes.txt exists and is not a directory"),
    (("train", *GOOD, "--out", "notes.txt/run"), r"notes.txt is a file, so the folder cannot"),
    (("train", *GOOD, "--out", "out", "--resume"),
     r"nothing to resume: out/last.safetensors does not exist; run without --resume"),
    (("train", *GOOD, "--out", "lm", "--resume"), r"--out lm holds an 'lm' model, not a 'som' one"),
    (("train", *GOOD, "--out", "torchrun", "--resume"),
     r"cannot resume torchrun: it holds another lesson's run \(last.pt\)"),
    (("train", *GOOD, "--out", "broken", "--resume"), r"cannot read broken/last.safetensors"),
    (("train", *GOOD, "--grid", "6x5", "--out", "som", "--resume"),
     r"cannot resume som: it was trained on a 4x5 grid, this run asks for 6x5; resume with "
     r"the same --grid"),
    (("train", *GOOD, "--no-standardize", "--out", "som", "--resume"),
     r"cannot resume som: it was trained with --standardize True, this run asks for False"),
    # evaluate MODEL_DIR [DATA]
    (("evaluate",), r"Missing argument 'MODEL_DIR'"),
    (("evaluate", "nosuch"), r"MODEL_DIR nosuch does not exist"),
    (("evaluate", "nomodel"), r"MODEL_DIR nomodel holds no model.safetensors"),
    (("evaluate", "old"), r"MODEL_DIR old holds a model.pt written by an older dlcourse"),
    (("evaluate", "lm"), r"MODEL_DIR lm holds an 'lm' model, not a 'som' one"),
    (("evaluate", "header"), r"header/model.safetensors is not a dlcourse model file"),
    (("evaluate", "truncated"), r"cannot read truncated/model.safetensors"),
    # its folder holds no model: "pass the run's folder ." was no fix
    (("evaluate", "notes.txt"), r"notes.txt is a file, not a model folder; pass a folder "
                                r"written by 'dlcourse som train'"),
    (("evaluate", "som/last.safetensors"),
     r"som/last.safetensors is a training checkpoint, not the trained model; pass the run's "
     r"folder som"),
    (("evaluate", "moved"), r"moved was trained on '/nowhere/wine.csv', which is not found"),
    (("evaluate", "som", "nosuch.csv"), r"DATA 'nosuch.csv' not found"),
    (("evaluate", "som", "folder"), r"DATA folder is a directory"),
    (("evaluate", "som", ""), r"DATA is an empty string"),
    (("evaluate", "som", "empty.csv"), r"DATA empty.csv is empty"),
    (("evaluate", "som", "four.npy"), r"four.npy has 4 features but the map was trained on 13"),
    (("evaluate", "som", "renamed.csv"),
     r"column 1 is 'alcool' where the map was trained on 'alcohol'"),
    # it said "name it with --label-col", an option evaluate does not have
    (("evaluate", "som", "noted.csv"),
     r"noted.csv: column 'note' is not numeric; leave it out with --drop-cols note \(the map's "
     r"labels are in 'cultivar'\)"),
    (("evaluate", "som", "--limit", "0"), r"--limit must be >= 1, got 0"),
    (("evaluate", "som", "--seed", "-1"), r"--seed must be between 0 and 429"),
    (("evaluate", "som", "--device", "gpu"), r"unknown --device 'gpu'"),
    (("evaluate", "som", "--out", "notes.txt"), r"--out notes.txt exists and is not a directory"),
    # predict MODEL_DIR DATA
    (("predict", "som"), r"Missing argument 'DATA'"),
    (("predict", "som", "four.npy"), r"four.npy has 4 features but the map was trained on 13"),
    (("predict", "som", "nan.npy"), r"nan.npy: missing value in data row 5, column 'x2'"),
    (("predict", "som", "inf.csv"), r"inf.csv: infinite value in data row 2"),
    (("predict", "som", "empty.npy"), r"DATA empty.npy is empty"),
    (("predict", "som", "folder"), r"DATA folder is a directory"),
    (("predict", "som", "wine.csv", "--out", "folder"), r"--out folder is a directory"),
    (("predict", "som", "wine.csv", "--out", ""), r"--out is empty; give a file name such as"),
    (("predict", "som", "wine.csv", "--output", "folder"), r"--output folder is a directory"),
    (("predict", "som", "wine.csv", "--out", "notes.txt/p.csv"), r"notes.txt is a file"),
    (("predict", "lm", "wine.csv"), r"MODEL_DIR lm holds an 'lm' model"),
    (("predict", "truncated", "wine.csv"), r"cannot read truncated/model.safetensors"),
    (("predict", "folder", "wine.csv"), r"MODEL_DIR folder holds no model.safetensors"),
    # plot MODEL_DIR [--data DATA]
    (("plot", "som", "--features", "a,b"), r"--features 'a' is not a column of the map \(its "
                                           r"columns: alcohol, malic_acid, .*; or give column "
                                           r"numbers 0..12"),
    (("plot", "som", "--features", "ash,"), r"'ash,' has an empty item"),
    (("plot", "som", "--features", "99"), r"--features 99 is out of range 0..12"),
    (("plot", "som", "--data", "nosuch.csv"), r"--data 'nosuch.csv' not found"),
    (("plot", "som", "--data", "four.npy"), r"--data four.npy has 4 features but the map"),
    (("plot", "som", "--data", ""), r"--data is an empty string"),
    # the figures went into a new folder called map.png
    (("plot", "som", "--out", "figs/map.png"),
     r"--out figs/map.png names a .png file, but --out is the folder the files go into; give a "
     r"folder \(e.g. --out figs/map\)"),
    (("train", *GOOD, "--out", "model.safetensors"), r"--out model.safetensors names a "),
    (("plot", "som", "--out", "notes.txt"), r"--out notes.txt exists and is not a directory"),
    (("plot", "lm"), r"MODEL_DIR lm holds an 'lm' model"),
    (("plot", "header"), r"is not a dlcourse model file"),
    (("nosuchverb",), r"No such command 'nosuchverb'"),
]


@pytest.mark.parametrize("args, match", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_invocations_are_one_line_and_write_nothing(refused, files, args, match):
    assert match is not None
    refused(files, "som", *args, match=match)
