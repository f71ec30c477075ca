"""`dlcourse lm train | evaluate | generate | similar | export`, in-process on the Lee corpus,
with relative paths from a fresh working directory as a user types them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlcourse.cli.main import main


def train_in(root: Path, *options: str) -> Path:
    """``dlcourse --threads 1 lm train lee OPTIONS --device cpu --out run`` run from ``root``
    (a relative --out, as users type it); returns the run folder."""
    before = os.getcwd()
    os.chdir(root)
    try:
        main(["--threads", "1", "lm", "train", "lee", *options, "--device", "cpu", "--out", "run"])
    finally:
        os.chdir(before)
    return root / "run"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A dry-run LSTM trained by the CLI."""
    return train_in(tmp_path_factory.mktemp("lm_cli"), "--model", "lstm", "--dry-run")


def test_train_writes_model_metrics_history_and_curves(run_dir):
    from dlcourse.engine.persist import read_manifest

    manifest = read_manifest(run_dir / "model.safetensors")
    assert manifest["lesson"] == "lm" and manifest["config"]["hidden_dim"] == 16
    assert manifest["config"]["epochs"] == 1 and len(manifest["state"]["history"]) == 1
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["data"] == "lee" and 1 < metrics["test_ppl"] < metrics["vocab_size"]
    assert metrics["train_tokens_per_s"] > 0 and metrics["model"] == "lstm"
    assert (run_dir / "curves.png").stat().st_size > 1000
    assert len(json.loads((run_dir / "history.json").read_text())) == 1


def evaluated(result) -> dict:
    """The figures of `lm evaluate`'s one-row table."""
    assert result.code == 0, result.err
    header, _, row = result.out.splitlines()
    values = dict(zip(header.split(), row.split()))
    return {"valid_ppl": float(values["valid_ppl"]), "test_ppl": float(values["test_ppl"]),
            "test_tokens": int(values["test_tokens"].replace(",", ""))}


def train_figures(run: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    return {"valid_ppl": round(metrics["valid_ppl"], 2), "test_ppl": round(metrics["test_ppl"], 2),
            "test_tokens": metrics["test_tokens"]}


def test_evaluate_generate_similar_export(run_dir, cli_run, monkeypatch):
    monkeypatch.chdir(run_dir.parent)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # the dry run read 100 lines: evaluate reads them again, so the figures are training's
    result = cli_run("lm", "evaluate", "run", "--device", "cpu")
    assert evaluated(result) == train_figures(run_dir)
    assert cli_run("lm", "evaluate", "run", "lee").out == result.out  # the corpus, named
    assert cli_run("lm", "evaluate", "run", "lee", "--max-lines", "100").out == result.out
    whole = evaluated(cli_run("lm", "evaluate", "run", "--max-lines", "none"))
    assert whole["test_tokens"] > metrics["test_tokens"]  # an explicit value still overrides
    # --limit, the other lessons' name for "use only the first N items", is the same setting
    assert evaluated(cli_run("lm", "evaluate", "run", "--limit", "none")) == whole
    result = cli_run("lm", "generate", "run", "the", "prime", "minister", "--num", "2",
                     "--max-tokens", "5", "--seed", "4")
    lines = result.out.splitlines()
    assert len(lines) == 2 and all(line.startswith("the prime minister ") for line in lines)
    assert all(len(line.split()) == 3 + 5 for line in lines)
    assert cli_run("lm", "generate", "run", "the prime minister", "--num", "2", "--max-tokens",
                   "5", "--seed", "4").out == result.out  # one quoted prompt, the same words
    assert "vocabulary" not in result.err
    zebra = cli_run("lm", "generate", "run", "the", "qwzzyx", "--num", "1", "--max-tokens", "2")
    assert zebra.code == 0 and zebra.out.startswith("the qwzzyx ")
    assert "note: 'qwzzyx' is not in the model's vocabulary" in zebra.err
    out = cli_run("lm", "similar", "run", "police", "--topn", "3").out
    assert out.startswith("police:") and "cosine" in out and len(out.splitlines()) == 6
    assert cli_run("lm", "export", "run", "--to", "vectors/lm.txt").code == 0
    header = open("vectors/lm.txt").readline().split()
    assert header[1] == "16" and int(header[0]) == metrics["vocab_size"] - 1
    # a .bin file is word2vec binary, as `embed export` writes it (it was text in any case)
    from gensim.models import KeyedVectors

    assert "(word2vec-binary)" in cli_run("lm", "export", "run", "--to", "vectors/lm.bin").out
    binary = KeyedVectors.load_word2vec_format("vectors/lm.bin", binary=True)
    text = KeyedVectors.load_word2vec_format("vectors/lm.txt")
    assert binary.index_to_key == text.index_to_key and binary.vector_size == 16
    np.testing.assert_allclose(binary.vectors, text.vectors, rtol=1e-6)
    # the run's own files are never written over
    before = (run_dir / "curves.png").read_bytes()
    cli_run("lm", "export", "run", "--to", "run/curves.png").assert_user_error(
        "the training run's own curves.png")
    assert (run_dir / "curves.png").read_bytes() == before


def test_generate_and_similar_read_words_and_count_the_vocabulary_alike(run_dir, cli_run,
                                                                         monkeypatch):
    """Python's generate draws as `lm generate` does (--top-k 40); `similar` reads a word with
    the model's tokenizer, as generate reads a prompt, and both name the vocabulary size
    training reported (<pad>, <unk>, <eos> included)."""
    from dlcourse.lm import LanguageModel

    monkeypatch.chdir(run_dir.parent)
    lm = LanguageModel.load("run")
    drawn = cli_run("lm", "generate", "run", "the", "--num", "1", "--max-tokens", "20", "--seed",
                    "4").out
    assert drawn == f"the {lm.generate('the', max_tokens=20, seed=4)}\n"
    police = cli_run("lm", "similar", "run", "police", "--topn", "3").out
    assert cli_run("lm", "similar", "run", "Police", "--topn", "3").out == police
    size = json.loads((run_dir / "metrics.json").read_text())["vocab_size"]
    note = cli_run("lm", "generate", "run", "qwxzzy", "--num", "1", "--max-tokens", "1").err
    assert f"({size:,} words)" in note
    cli_run("lm", "similar", "run", "qwxzzy").assert_user_error(rf"\({size:,} words\)")


def test_old_spellings_work_with_a_note(run_dir, cli_run, monkeypatch):
    monkeypatch.chdir(run_dir.parent)
    result = cli_run("lm", "generate", "run", "--prompt", "the prime", "--num", "1",
                     "--max-tokens", "3", "--seed", "1")
    assert result.code == 0 and "note: '--prompt the prime' is deprecated" in result.err
    assert result.out == cli_run("lm", "generate", "run", "the", "prime", "--num", "1",
                                 "--max-tokens", "3", "--seed", "1").out
    result = cli_run("lm", "evaluate", "run", "--data", "lee", "--max-lines", "100")
    assert result.code == 0 and "note: '--data lee' is deprecated" in result.err
    result = cli_run("--threads", "1", "lm", "train", "--data", "lee", "--dry-run", "--device",
                     "cpu", "--out", "legacy")
    assert result.code == 0 and "note: '--data lee' is deprecated" in result.err
    assert (run_dir.parent / "legacy" / "model.safetensors").exists()


@pytest.fixture(scope="module")
def alias_run(tmp_path_factory):
    """A small LSTM trained with the other lessons' spellings of four options (200 lines)."""
    return train_in(tmp_path_factory.mktemp("lm_alias"), "--max-lines", "200", "--epochs", "1",
                    "--embed-dim", "12", "--hidden-size", "12", "--layers", "1", "--grad-clip",
                    "0.5", "--max-vocab", "300", "--min-count", "3")


def test_other_spellings_set_the_config(alias_run):
    from dlcourse.engine.persist import read_manifest

    config = read_manifest(alias_run / "model.safetensors")["config"]
    assert config["hidden_dim"] == 12 and config["grad_clip"] == 0.5
    assert json.loads((alias_run / "metrics.json").read_text())["vocab_size"] <= 300 + 3


@pytest.mark.parametrize("spellings, field, value", [
    (("--hidden-size", "--hidden-dim"), "hidden_dim", 24),
    (("--grad-clip", "--clip"), "grad_clip", 0.75),
    (("--max-vocab", "--max-size"), "max_size", 321),
    (("--min-freq", "--min-count"), "min_freq", 5),
])
def test_both_spellings_of_an_option_set_one_field(spellings, field, value):
    """`lm train` parses each spelling into the field it builds the config from; the first is
    the one --help shows first."""
    from dlcourse.cli.lm import CORPUS, train, train_config

    for spelling in spellings:
        ctx = train.make_context("train", ["lee", "--out", "out", "--no-tie", spelling,
                                           str(value)])
        options = {k: v for k, v in ctx.params.items()
                   if k not in ("data", "preset", "dry_run", "out", "resume")}
        corpus = CORPUS.build(CORPUS.pop(options)).to_dict()
        built = {**corpus, **train_config("lstm", options).to_dict()}
        assert built[field] == value, spelling
    option = next(p for p in train.params if p.name == field)
    assert option.opts[:2] == list(spellings)


def test_evaluate_reproduces_the_training_figures(alias_run, cli_run, monkeypatch):
    """`lm evaluate MODEL_DIR` reads the training --max-lines (200), not every line."""
    monkeypatch.chdir(alias_run.parent)
    assert evaluated(cli_run("lm", "evaluate", "run")) == train_figures(alias_run)
    # --out keeps the same figures in evaluation.json, as every lesson's evaluate --out does
    assert cli_run("lm", "evaluate", "run", "--out", "ev").code == 0
    saved = json.loads((alias_run.parent / "ev" / "evaluation.json").read_text())
    assert {k: round(v, 2) if k.endswith("_ppl") else v for k, v in saved.items()
            if k not in ("data", "valid_unk", "test_unk")} == train_figures(alias_run)
    assert 0 < saved["valid_unk"] < 0.5 and 0 < saved["test_unk"] < 0.5  # <unk> shares


def test_evaluate_help_says_what_its_options_do(cli_run):
    out = " ".join(cli_run("lm", "evaluate", "--help").out.split())
    assert "--max-lines" in out and "Use only the first N training lines" not in out
    assert "the first N // 8 lines of DATA's valid and test parts" in out
    assert "the model's training setting" in out


def test_lm_help_does_not_import_torch():
    code = ("import sys; from dlcourse.cli.main import main\n"
            "for args in (['lm', '--help'], ['lm', 'train', '--help'], "
            "['lm', 'generate', '--help']):\n"
            "    try: main(args)\n"
            "    except SystemExit: pass\n"
            "print('torch' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "generate" in out.stdout and "--max-vocab, --max-size" in out.stdout
    assert "--layers" in out.stdout and "--hidden-size, --hidden-dim" in out.stdout
    assert out.stdout.strip().endswith("False False"), out.stdout


def test_every_train_option_defaults_to_the_config():
    """The options are generated from LMConfig/CorpusConfig: each shows the config's default."""
    import click

    from dlcourse.cli.lm import RENAME, TRAIN, train
    from dlcourse.cli.options import option_name
    from dlcourse.lm.config import CorpusConfig, LMConfig

    ctx = click.Context(train)
    helps = {p.opts[0]: p.get_help_record(ctx)[1] for p in train.params
             if isinstance(p, click.Option)}
    for config in (LMConfig(), CorpusConfig()):
        for name, value in config.to_dict().items():
            if not config.__dataclass_fields__[name].metadata.get("cli", True):
                continue  # progress: the command's own -q decides
            if name == "model":  # --model is the preset, whose default recipe is the config's
                assert "[default: lstm]" in helps["--model"]
                continue
            none = "all" if name.startswith("max_") else "none"  # a max_* None: no limit
            shown = TRAIN.shown.get(name) or (none if value is None else (
                "on" if value else "off") if isinstance(value, bool) else str(value))
            assert f"[default: {shown}]" in helps[option_name(name, RENAME)], name


def test_train_reads_a_latin1_file_with_encoding(cli_run, workdir, tmp_path):
    text = "le café est très bon et le thé aussi\n" * 60
    Path("latin1.txt").write_bytes(text.encode("latin-1"))
    result = cli_run("lm", "train", "latin1.txt", "--encoding", "latin-1", "--dry-run",
                     "--out", "out")
    assert result.code == 0, result.err
    from dlcourse.lm import LanguageModel

    assert "café" in LanguageModel.load("out").itos_  # decoded, not replaced
    result = cli_run("lm", "evaluate", "out", "latin1.txt", "--encoding", "latin-1")
    assert result.code == 0, result.err


def test_a_model_of_a_corpus_file_evaluates_from_another_folder(cli_run, workdir):
    """`lm train corpus.txt` keeps where the file is: `lm evaluate MODEL_DIR` finds it from any
    working directory (it kept the name as typed, found only from the training folder)."""
    import random

    rng = random.Random(0)
    words = "the cat dog sat on a mat big small red house".split()
    Path("corpus.txt").write_text("\n".join(" ".join(rng.choice(words) for _ in range(8))
                                            for _ in range(300)))
    trained = cli_run("--threads", "1", "lm", "train", "corpus.txt", "--out", "run",
                      "--epochs", "1", "--device", "cpu")
    assert trained.code == 0, trained.err
    os.mkdir("elsewhere")
    os.chdir("elsewhere")
    result = cli_run("lm", "evaluate", "../run")
    assert result.code == 0, result.err
    assert str(Path("../corpus.txt").resolve()) in result.out
    assert evaluated(result) == train_figures(Path("../run"))


def test_max_vocab_all_keeps_every_word(cli_run, workdir):
    # the README says every max_* setting takes all: lm's --max-vocab was "a whole number"
    assert cli_run("-q", "lm", "train", "lee", "--max-vocab", "all", "--dry-run", "--out",
                   "all").code == 0
    assert cli_run("-q", "lm", "train", "lee", "--max-vocab", "50", "--dry-run", "--out",
                   "cut").code == 0
    from dlcourse.lm import LanguageModel

    every, cut = LanguageModel.load("all"), LanguageModel.load("cut")
    assert every.corpus_settings_["max_size"] is None and len(cut.itos_) == 50 + 3
    assert len(every.itos_) > 1000
