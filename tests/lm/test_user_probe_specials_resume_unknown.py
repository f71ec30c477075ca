"""What a user probe of `dlcourse lm` met: the <eos> stop marker printed as a word and the
specials answered as nearest words; an internal hash when a resumed run's file had changed;
`lm evaluate` on text the model barely knows, with no word of how much of it is <unk>."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from dlcourse.cli.main import main
from dlcourse.errors import DlcourseError, TrainingInterrupted
from dlcourse.lm import LanguageModel, corpus_from_splits

SPECIALS = {"<pad>", "<unk>", "<eos>"}
WORDS = ("the cat dog bird sees likes eats a small big red green house tree river field "
         "runs sleeps near under over quickly slowly and").split()
# words the model never saw: an evaluation text of them is all <unk> but the line ends
FOREIGN = "le chat voit une maison près de la rivière et mange vite".split()
TRAIN = ("english.txt", "--model", "embedding", "--epochs", "2", "--embed-dim", "16",
         "--batch-size", "8", "--bptt", "10", "--device", "cpu")


def write_lines(path: str | Path, words: tuple[str, ...] | list[str], lines: int,
                seed: int = 0) -> None:
    """``lines`` lines of 6 to 12 words drawn from ``words``."""
    rng = random.Random(seed)
    Path(path).write_text("\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(6, 12)))
                                    for _ in range(lines)) + "\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder with english.txt and the embedding model `m` the CLI trained on it."""
    root = tmp_path_factory.mktemp("lm_probe")
    before = os.getcwd()
    os.chdir(root)
    try:
        write_lines("english.txt", WORDS, 300)
        main(["--threads", "1", "lm", "train", *TRAIN, "--out", "m"])
    finally:
        os.chdir(before)
    return root


# --------------------------------------------------------------- 1. <eos> is no word
def test_generate_stop_at_eos_ends_the_line_without_printing_the_marker(trained, cli_run,
                                                                        monkeypatch):
    monkeypatch.chdir(trained)
    result = cli_run("lm", "generate", "m", "the", "--stop-at-eos", "--num", "6",
                     "--max-tokens", "100")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 6 and all(line.startswith("the") for line in lines)
    assert not [line for line in lines if "<eos>" in line.split()], lines
    # the samples did stop at a sentence end (one word in ~9 is <eos> in this text)
    assert any(len(line.split()) < 1 + 100 for line in lines)


def test_generate_api_leaves_out_the_eos_it_stopped_at(trained):
    lm = LanguageModel.load(trained / "m", device="cpu")
    for seed in range(4):
        sentence = lm.generate("the", max_tokens=100, seed=seed, stop_at_eos=True).split()
        # the same draws without the stop: the sentence, then the <eos> it stopped at
        running = lm.generate("the", max_tokens=100, seed=seed).split()
        assert "<eos>" not in sentence
        assert running[:len(sentence)] == sentence
        assert len(sentence) == 100 or running[len(sentence)] == "<eos>"


def test_similar_never_answers_the_special_tokens(trained, cli_run, monkeypatch):
    monkeypatch.chdir(trained)
    lm = LanguageModel.load("m", device="cpu")
    words = len(set(lm.itos_) - SPECIALS)
    # --top larger than the vocabulary: every neighbour is listed, so a special would show
    result = cli_run("lm", "similar", "m", "cat", "--top", "100")
    assert result.code == 0, result.err
    listed = [line.split()[0] for line in result.out.splitlines()[3:]]
    assert not SPECIALS & set(listed) and len(listed) == words - 1  # all words but "cat"
    near = lm.most_similar("cat", topn=100)
    assert [w for w, _ in near] == listed and not SPECIALS & {w for w, _ in near}
    # topn words still come back when specials rank among the nearest
    assert len(lm.most_similar("cat", topn=words - 1)) == words - 1
    assert len(lm.most_similar("cat", topn=3)) == 3


def test_export_says_it_keeps_unk_and_eos_and_does(trained, cli_run, monkeypatch):
    monkeypatch.chdir(trained)
    text = " ".join(cli_run("lm", "export", "--help").out.split())
    assert "Every row but <pad>'s" in text and "<unk> and <eos>" in text
    assert cli_run("lm", "export", "m", "--to", "vectors.txt").code == 0
    rows = {line.split()[0] for line in Path("vectors.txt").read_text().splitlines()[1:]}
    assert {"<unk>", "<eos>"} <= rows and "<pad>" not in rows


# --------------------------------------------------------------- 2. resume on an edited file
def test_resume_after_the_file_changed_says_it_was_other_data(cli_run, workdir, monkeypatch):
    write_lines("english.txt", WORDS, 300)
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "5")  # Ctrl-C after 5 windows of epoch 1
    assert cli_run("--threads", "1", "lm", "train", *TRAIN, "--out", "run").code != 0
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    original = Path("english.txt").read_text()
    Path("english.txt").write_text(original.replace("the", "tha"))  # the user's sed
    result = cli_run("--threads", "1", "lm", "train", *TRAIN, "--out", "run", "--resume")
    result.assert_user_error(r"^error: cannot resume run: it was trained on other data \(\d[\d,]* "
                             r"training tokens, a vocabulary of \d+ words, sha256 [0-9a-f]{16}\), "
                             r"this run reads .*; resume with the same data")
    assert "vocab_sha256" not in result.err and "vocab_size" not in result.err  # no field
    # the file as it was: the run continues
    Path("english.txt").write_text(original)
    assert cli_run("--threads", "1", "lm", "train", *TRAIN, "--out", "run", "--resume").code == 0


def test_api_resume_on_edited_text_says_it_was_other_data(tiny_config, tmp_path, monkeypatch):
    rng = random.Random(1)
    lines = [" ".join(rng.choice(WORDS) for _ in range(10)) for _ in range(200)]
    splits = lines[:160], lines[160:180], lines[180:]
    config = tiny_config("embedding", batch_size=4, bptt=10)
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "3")
    with pytest.raises(TrainingInterrupted):
        LanguageModel(config).fit(corpus_from_splits("text", *splits), out_dir=tmp_path)
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    edited = [line.replace("cat", "dog") for line in splits[0]], *splits[1:]
    with pytest.raises(DlcourseError, match=r"it was trained on other data \(1,760 training "
                                            r"tokens, a vocabulary of \d+ words, sha256 "):
        LanguageModel(config).fit(corpus_from_splits("text", *edited), out_dir=tmp_path,
                                  resume=True)


# --------------------------------------------------------------- 3. evaluate on unknown text
def test_evaluate_on_foreign_text_reports_the_unknown_share(trained, cli_run, monkeypatch):
    monkeypatch.chdir(trained)
    write_lines("foreign.txt", FOREIGN, 200, seed=2)
    result = cli_run("lm", "evaluate", "m", "foreign.txt", "--out", "ev")
    assert result.code == 0, result.err
    header, _, row, wrote = result.out.splitlines()
    values = dict(zip(header.split(), row.split()))
    assert list(values) == ["data", "valid_ppl", "valid_unk", "test_ppl", "test_unk",
                            "test_tokens"]
    # every word is <unk>: only the <eos> ending each line (one token in 7 to 13) is known
    assert 80 < float(values["valid_unk"].rstrip("%")) < 95
    saved = json.loads(Path("ev/evaluation.json").read_text())
    assert {"valid_ppl", "test_ppl", "test_tokens"} <= saved.keys()  # the keys it had
    assert saved["test_unk"] == pytest.approx(float(values["test_unk"].rstrip("%")) / 100,
                                              abs=1e-3)
    # the file is only evaluated: no "training" tokens; what is scored, and a warning
    assert "training tokens" not in result.err and "training," not in result.err
    assert ("foreign.txt: scoring " in result.err
            and "(its valid and test parts: the lines split 80/10/10 by seed 0" in result.err)
    assert "tokens are <unk>, words the model's vocabulary lacks" in result.err


def test_evaluate_on_the_training_text_has_few_unknown_and_no_note(trained, cli_run,
                                                                   monkeypatch):
    monkeypatch.chdir(trained)
    result = cli_run("lm", "evaluate", "m")
    assert result.code == 0, result.err
    header, _, row = result.out.splitlines()
    values = dict(zip(header.split(), row.split()))
    assert values["valid_unk"] == values["test_unk"] == "0.0%"
    assert "note:" not in result.err and "english.txt: scoring" in result.err
