"""When `dlcourse lm` and LanguageModel refuse a value: streams the splits cannot hold (before a
model is built, with no reading line printed), and the checks that need no model (before torch
is imported)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
import torch

from dlcourse.errors import ConfigError
from dlcourse.lm import LanguageModel, load_corpus
from dlcourse.lm.config import check_streams, most_streams
from dlcourse.lm.inference import stream_loss, stream_totals

# lee --max-lines 80: 17,237 train, 1,930 valid and 2,022 test tokens
LEE_80 = ("lee", "--max-lines", "80", "--epochs", "1", "--embed-dim", "16", "--hidden-size",
          "16", "--device", "cpu")


@pytest.fixture(scope="module")
def small_corpus():
    return load_corpus("lee", max_lines=15, seed=0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_config, small_corpus):
    """A saved one-epoch model, for the verbs that read one."""
    out = tmp_path_factory.mktemp("lm_checks") / "run"
    LanguageModel(tiny_config(epochs=1)).fit(small_corpus, out_dir=out)
    return out


@pytest.fixture
def files(workdir):
    """The working directory's files (a fresh folder), to assert that a refusal wrote nothing."""
    return workdir


# ---------------------------------------------------------------- streams the data cannot hold
def test_most_streams_is_two_tokens_a_stream():
    assert [most_streams(n) for n in (1, 2, 3, 1930, 1931)] == [1, 1, 1, 965, 965]
    from dlcourse.lm import LMConfig

    check_streams(LMConfig(batch_size=8618, eval_batch_size=965),
                  {"train": 17237, "valid": 1930, "test": 2022})  # the most: accepted
    with pytest.raises(ConfigError, match=r"eval_batch_size 1012 is more streams than the test "
                                          r"split of the corpus holds: its 2,022 tokens make at "
                                          r"most 1,011") as info:
        check_streams(LMConfig(eval_batch_size=1012), {"valid": 2400, "test": 2022})
    assert info.value.field == "eval_batch_size"


def test_train_refuses_an_eval_batch_size_the_valid_split_cannot_hold(refused, files):
    # it was measured silently with 965 streams of two tokens: a perplexity of 1127, not 175
    result = refused(files, "lm", "train", *LEE_80, "--eval-batch-size", "1000", "--out", "out",
                     match=r"^error: --eval-batch-size 1000 is more streams than the valid split "
                           r"of 'lee' \(cut to 80 lines by --max-lines\) holds: its 1,930 tokens "
                           r"make at most 965 \(two tokens a stream\); lower it or give more "
                           r"text$")
    assert "vocabulary" not in result.err and "tokens;" not in result.err  # no reading line


def test_train_refuses_an_eval_batch_size_the_test_split_cannot_hold(refused, files):
    Path("splits").mkdir()
    Path("splits/train.txt").write_text("the cat sat on the mat\n" * 30)
    Path("splits/valid.txt").write_text("the cat sat on the mat\n" * 3)  # 21 tokens
    Path("splits/test.txt").write_text("the mat\n")  # 3 tokens: one stream
    refused(files, "lm", "train", "splits", "--dry-run", "--device", "cpu", "--eval-batch-size",
            "2", "--out", "out",
            match=r"--eval-batch-size 2 is more streams than the test split of 'splits' holds: "
                  r"its 3 tokens make at most 1 ")


def test_train_refuses_a_batch_size_the_train_split_cannot_hold_before_any_line(refused, files):
    # it was refused by the batching, after the reading lines, with the API's words
    result = refused(files, "lm", "train", *LEE_80, "--batch-size", "60000", "--out", "out",
                     match=r"^error: --batch-size 60000 is more streams than the train split of "
                           r"'lee' \(cut to 80 lines by --max-lines\) holds: its 17,237 tokens "
                           r"make at most 8,618 \(two tokens a "
                           r"stream\); lower it or give more text$")
    assert "vocabulary" not in result.err


def test_a_split_too_short_for_the_streams_names_the_limit_that_cut_it(refused, files):
    # "its 20 tokens make at most 10": the file held hundreds; --limit 5 had cut it
    Path("short.txt").write_text("".join(f"a b {i}\n" for i in range(60)))
    refused(files, "lm", "train", "short.txt", "--limit", "5", "--out", "out",
            match=r"--batch-size 20 is more streams than the train split of 'short.txt' \(cut "
                  r"to 5 lines by --limit\) holds: its 20 tokens make at most 10 ")


@pytest.mark.parametrize("option", ["--batch-size", "--eval-batch-size"])
def test_streams_past_any_run_are_refused_before_any_data_is_read(run_without_torch, tmp_path,
                                                                  option):
    result = run_without_torch("lm", "train", "lee", option, "1000000000000", "--out", "out",
                               cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (f"error: {option} must be <= 65536, got 1000000000000")
    assert not list(tmp_path.iterdir())


def test_the_most_the_splits_hold_trains_and_prints_the_reading_lines(cli_run, workdir, caplog):
    caplog.set_level(logging.INFO, logger="dlcourse")
    result = cli_run("lm", "train", *LEE_80, "--batch-size", "8618", "--eval-batch-size", "965",
                     "--out", "out")
    assert result.code == 0, result.err
    # the held reading lines are printed once the check passed, before training
    reading = [r.getMessage() for r in caplog.records
               if r.name in ("dlcourse.text.vocab", "dlcourse.lm.corpus")]
    assert reading == ["vocabulary: 80 token lists, 17157 tokens, 3504 types, kept 1611 (+3 "
                       "specials)", "lee: 17,237 training, 1,930 validation, 2,022 test tokens; "
                       "1,614 words in the vocabulary"]
    assert Path("out/model.safetensors").is_file()


def test_a_small_text_shrinks_the_default_eval_batch_size_with_a_note(cli_run, workdir):
    # 12 lines leave 7 valid and 7 test tokens: the default 10 streams were refused though the
    # user typed no --eval-batch-size; a typed 10 still is
    Path("tiny.txt").write_text("the cat sat on the mat\nthe dog sat on the log\n"
                                "a bird flew over the house\n" * 4)
    result = cli_run("lm", "train", "tiny.txt", "--epochs", "1", "--embed-dim", "8",
                     "--hidden-size", "8", "--device", "cpu", "--out", "out")
    assert result.code == 0, result.err
    assert "note: --eval-batch-size 10 is more streams than the valid and test splits hold (7 " \
           "tokens, two a stream): measuring with 3" in result.err
    assert LanguageModel.load("out").eval_batch_size == 3
    typed = cli_run("lm", "train", "tiny.txt", "--epochs", "1", "--eval-batch-size", "10",
                    "--device", "cpu", "--out", "out2")
    typed.assert_user_error("--eval-batch-size 10 is more streams than the valid split")


def test_fit_refuses_streams_before_building_the_model(tiny_config, small_corpus, monkeypatch):
    import dlcourse.lm.language_model as module

    def no_model(*args, **kwargs):
        raise AssertionError("the model was built")

    monkeypatch.setattr(module, "build_for", no_model)
    valid = small_corpus.valid.numel()
    with pytest.raises(ConfigError, match=rf"^eval_batch_size {valid // 2 + 1} is more streams "
                                          rf"than the valid split of 'lee' holds: its "
                                          rf"{valid:,} tokens make at most {valid // 2:,} "):
        LanguageModel(tiny_config(eval_batch_size=valid // 2 + 1)).fit(small_corpus)
    train = small_corpus.train.numel()
    with pytest.raises(ConfigError, match=rf"^batch_size {train // 2 + 1} is more streams than "
                                          rf"the train split of 'lee' holds: its {train:,} "):
        LanguageModel(tiny_config(batch_size=train // 2 + 1)).fit(small_corpus)
    with pytest.raises(ConfigError, match=r"batch_size must be <= 65536, got 100000"):
        LanguageModel(tiny_config(batch_size=100_000)).fit(small_corpus)


# ---------------------------------------------------------------- measuring a short stream
def test_perplexity_of_a_short_stream_notes_the_streams_it_used(model_dir, caplog):
    lm = LanguageModel.load(model_dir, device="cpu")
    assert lm.config.eval_batch_size == 10
    ids = lm.encode("the government said on monday")  # 6 tokens: at most 3 streams
    with caplog.at_level(logging.WARNING, logger="dlcourse"):
        ppl = lm.perplexity(ids)
    notes = [r.getMessage() for r in caplog.records]
    assert notes == ["note: 6 tokens hold at most 3 of the 10 streams of eval_batch_size "
                     "(two tokens a stream): perplexity measured with 3"]
    assert ppl == pytest.approx(math.exp(stream_loss(lm.model_, ids, 3, 20)))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dlcourse"):
        lm.perplexity(lm.encode(["the government said on monday"] * 4))  # 24 tokens hold 10
    assert not caplog.records


def test_evaluate_notes_each_short_split_once(model_dir, cli_run, workdir):
    # a short text printed one unnamed note twice, once a split
    Path("short.txt").write_text("the government said\n" * 20, encoding="utf-8")
    result = cli_run("lm", "evaluate", str(model_dir), "short.txt", "--device", "cpu")
    assert result.code == 0, result.err
    notes = [line for line in result.err.splitlines() if line.startswith("note: ")]
    assert [note.split(":")[1] for note in notes] == [" the valid split", " the test split"]
    # lm evaluate has no --eval-batch-size: the note named it as if it had
    assert all("streams of eval_batch_size (two tokens a stream)" in note for note in notes)
    assert "--eval-batch-size" not in result.err


def test_stream_totals_records_no_gradient(model_dir):
    lm = LanguageModel.load(model_dir, device="cpu")
    lm.model_.train()
    seen = []
    lm.model_.register_forward_hook(lambda *_: seen.append(torch.is_grad_enabled()))
    stream_totals(lm.model_, lm.encode(["the government said on monday"] * 8), 2, 5)
    assert seen and not any(seen)  # a measurement builds no autograd graph
    assert lm.model_.training  # and the mode is restored


# ---------------------------------------------------------------- refused before torch
@pytest.mark.parametrize("args, message", [
    (("evaluate", "MODEL", "--max-lines", "0"), "--max-lines must be >= 1, got 0"),
    (("evaluate", "MODEL", "--limit", "-3"), "--limit must be >= 1, got -3"),
    (("evaluate", "MODEL", "--encoding", "nosuch"), "unknown --encoding 'nosuch'; use a text "
                                                    "encoding name such as utf-8"),
    (("evaluate", "MODEL", "lee", "--data", "lee"), "DATA given twice: as an argument and as "
                                                    "--data lee (its old spelling)"),
    (("generate", "MODEL", "a", "--prompt", "b"), "give the prompt once (after MODEL_DIR), not "
                                                  "with --prompt too"),
    # a --resume with nothing to resume waited for torch (2 s) and read the text first
    (("train", "lee", "--out", "MODEL/none", "--resume"), "nothing to resume: "),
])
def test_checks_that_need_no_model_come_before_torch(run_without_torch, model_dir, args,
                                                     message):
    args = [str(model_dir) if a == "MODEL" else a for a in args]
    result = run_without_torch("lm", *args)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {message}"), result.stderr
    assert "torch" not in result.stderr


def test_a_dry_run_with_one_width_typed_ties_its_small_widths():
    # --dry-run --hidden-size 32 was refused: "--tie needs embed_dim == hidden_dim (got 200 and
    # 32)", the recipe's 200 checked before the smoke test's 16 replaced both
    from dlcourse.cli.lm import train_config

    for typed in ({"hidden_dim": 32}, {"embed_dim": 8}, {}):
        config = train_config("lstm", typed, dry_run=True)
        assert config.embed_dim == config.hidden_dim == min([16, *typed.values()])
        assert (config.epochs, config.num_layers, config.tie_weights) == (1, 1, True)
    with pytest.raises(Exception, match="--hidden-size must be >= 1, got 0"):
        train_config("lstm", {"hidden_dim": 0}, dry_run=True)  # still its own check


@pytest.mark.parametrize("widths, named", [(("--embed-dim", "8", "--hidden-size", "12"),
                                            "--embed-dim == --hidden-size"),
                                           (("--emsize", "8", "--nhid", "12"),
                                            "--emsize == --nhid")])
def test_the_tied_widths_check_names_the_width_options_as_typed(refused, files, widths, named):
    # it said "--tie needs embed_dim == hidden_dim": two config fields, not the options typed
    refused(files, "lm", "train", "lee", "--max-lines", "80", *widths, "--out", "out",
            match=rf"^error: --tie needs {named} \(got 8 and 12\); make them equal or turn "
                  "tying off$")


@pytest.mark.parametrize("typed, named", [(("--limit", "all"), "--limit all -> 100"),
                                          (("--max-lines=none",), "--max-lines none -> 100"),
                                          (("--limit", "5000"), "--limit 5000 -> 100")])
def test_the_dry_run_note_names_the_limit_as_typed(cli_run, workdir, typed, named):
    # it said "--max-lines none -> 100" to a user who typed --limit all
    result = cli_run("lm", "train", "lee", *typed, "--dry-run", "--out", "smoke")
    assert result.code == 0, result.err
    assert f"note: --dry-run replaces {named} (a smoke test;" in result.err
