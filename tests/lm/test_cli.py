"""`dlcourse lm train | evaluate | generate | similar | export`, in-process on the Lee corpus."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from dlcourse.cli.main import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm_cli")
    main(["lm", "train", "--model", "lstm", "--data", "lee", "--dry-run", "--device", "cpu",
          "--out", str(out)])
    return out


def test_train_writes_model_metrics_history_and_curves(run_dir, capsys):
    state = torch.load(run_dir / "model.pt", weights_only=True)
    assert state["config"]["hidden_dim"] == 16 and state["epoch"] == 1
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["data"] == "lee" and 1 < metrics["test_ppl"] < metrics["vocab_size"]
    assert metrics["train_tokens_per_s"] > 0
    assert (run_dir / "curves.png").stat().st_size > 1000
    assert len(json.loads((run_dir / "history.json").read_text())) == 1


def test_evaluate_generate_similar_export(run_dir, tmp_path, capsys):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    main(["lm", "evaluate", str(run_dir), "--max-lines", "100", "--device", "cpu"])
    out = capsys.readouterr().out
    assert "test_ppl" in out and f"{metrics['test_ppl']:.2f}" in out
    main(["lm", "generate", str(run_dir), "--prompt", "the prime minister", "--num", "2",
          "--max-tokens", "5", "--seed", "4"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.startswith("the prime minister ") for line in lines)
    assert all(len(line.split()) == 3 + 5 for line in lines)
    main(["lm", "similar", str(run_dir), "police", "--topn", "3"])
    out = capsys.readouterr().out
    assert out.startswith("police:") and "cosine" in out
    main(["lm", "export", str(run_dir), "--to", str(tmp_path / "vec.txt")])
    header = (tmp_path / "vec.txt").read_text().splitlines()[0].split()
    assert header[1] == "16" and int(header[0]) == metrics["vocab_size"] - 1


def test_user_errors_are_one_line(run_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["lm", "similar", str(run_dir), "qwxzzy"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: word 'qwxzzy' is not in the vocabulary") and err.count("\n") == 1
    with pytest.raises(SystemExit):
        main(["lm", "train", "--data", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o")])
    assert capsys.readouterr().err.startswith("error: no data")
    with pytest.raises(SystemExit):
        main(["lm", "evaluate", str(tmp_path)])
    assert "no model at" in capsys.readouterr().err


def test_lm_help_does_not_import_torch():
    code = ("import sys; from dlcourse.cli.main import main\n"
            "for args in (['lm', '--help'], ['lm', 'train', '--help']):\n"
            "    try: main(args)\n"
            "    except SystemExit: pass\n"
            "print('torch' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "generate" in out.stdout and "--max-size" in out.stdout
    assert out.stdout.strip().endswith("False False"), out.stdout
