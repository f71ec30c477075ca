"""`dlcourse classify train | evaluate | predict`, in-process on CSV files of real sentences."""

import csv
import json
import re
import subprocess
import sys

import pytest

from dlcourse.cli.main import main


def _write_csv(path, texts, labels):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "review", "label"])
        w.writerows((i, t, y) for i, (t, y) in enumerate(zip(texts, labels)))
    return str(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, pang_lee_split):
    (tr_t, tr_y), (va_t, va_y) = pang_lee_split
    d = tmp_path_factory.mktemp("cli")
    train = _write_csv(d / "train.csv", tr_t, tr_y)
    valid = _write_csv(d / "valid.csv", va_t, va_y)
    out = d / "model"
    main(["classify", "train", train, "--valid", valid, "--text-col", "review",
          "--label-col", "label", "--model", "gru", "--out", str(out), "--device", "cpu",
          "--dry-run"])
    return d, out


def test_train_writes_model_metrics_and_figure(trained, capsys):
    _, out = trained
    assert (out / "model.safetensors").is_file() and not (out / "model.pt").exists()
    assert (out / "confusion_valid.png").stat().st_size > 1000
    assert (out / "history.json").is_file() and (out / "last.pt").is_file()
    metrics = json.loads((out / "metrics_valid.json").read_text())
    assert metrics["n"] == 40 and metrics["classes"] == ["neg", "pos"]
    assert 0.0 <= metrics["accuracy"] <= 1.0 and "roc_auc" in metrics


def test_evaluate_on_the_training_table_says_training_rows_are_scored(trained, capsys):
    d, out = trained
    main(["classify", "evaluate", str(out), str(d / "valid.csv")])
    assert "note:" not in capsys.readouterr().err  # other rows: no note
    main(["classify", "evaluate", str(out), str(d / "train.csv")])
    assert capsys.readouterr().err == (
        "note: train.csv is the data the model was trained on and has no test split: all its "
        "rows are scored, training rows among them\n")


def test_evaluate_uses_the_training_columns(trained, capsys):
    d, out = trained
    main(["classify", "evaluate", str(out), str(d / "valid.csv"), "--out", str(d / "ev")])
    text = capsys.readouterr().out
    assert "accuracy" in text and "macro" in text and "confusion matrix" in text
    saved = json.loads((d / "ev" / "evaluation.json").read_text())
    expected = json.loads((out / "metrics_valid.json").read_text())
    assert saved["accuracy"] == pytest.approx(expected["accuracy"])


def test_predict_texts_file_and_csv_output(trained, capsys, tmp_path):
    _, out = trained
    main(["classify", "predict", str(out), "a gorgeous, witty film", "tedious and flat"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["text", "label", "p_neg", "p_pos"] and len(lines) == 4
    assert lines[2].split()[-3] in ("neg", "pos")
    f = tmp_path / "in.txt"
    f.write_text("first one\nsecond one\n\n\n", encoding="utf-8")  # blank lines at the end
    main(["classify", "predict", str(out), "--file", str(f), "--out", str(tmp_path / "p.csv")])
    rows = list(csv.DictReader(open(tmp_path / "p.csv", encoding="utf-8")))
    assert [r["text"] for r in rows] == ["first one", "second one"]
    assert abs(float(rows[0]["p_neg"]) + float(rows[0]["p_pos"]) - 1) < 1e-5
    # a table's --text-col, and the old --output spelling with a note
    table = _write_csv(tmp_path / "t.csv", ["first one", "second one"], ["pos", "neg"])
    main(["classify", "predict", str(out), "--file", table, "--text-col", "review",
          "--output", str(tmp_path / "q.csv")])
    assert "note: '--output" in capsys.readouterr().err
    again = list(csv.DictReader(open(tmp_path / "q.csv", encoding="utf-8")))
    assert again == rows
    # without --text-col: the column the model was trained on ("review"), as evaluate does
    main(["classify", "predict", str(out), "--file", table, "--out", str(tmp_path / "r.csv")])
    assert list(csv.DictReader(open(tmp_path / "r.csv", encoding="utf-8"))) == rows
    predict_help = " ".join(_help(["classify", "predict", "--help"]).split())
    assert "[default: the model's training column, else text]" in predict_help
    # predict reads no labels: its --on-missing spoke of "an empty text or label"
    on_missing = predict_help.split("--on-missing")[-1].split("--out")[0]
    assert "empty text:" in on_missing and "label" not in on_missing


def test_predict_blank_lines_are_missing_texts(trained, capsys, tmp_path):
    _, out = trained
    f = tmp_path / "gaps.txt"
    f.write_text("first one\n\nsecond one\n", encoding="utf-8")
    with pytest.raises(SystemExit) as e:  # one row a line, or an error saying which is not
        main(["classify", "predict", str(out), "--file", str(f)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.strip().splitlines() == [
        f"error: {f}:2: blank line (no text to classify); fill or remove it, or skip blank "
        "lines with --on-missing drop"]
    main(["classify", "predict", str(out), "--file", str(f), "--on-missing", "drop",
          "--out", str(tmp_path / "p.csv")])
    assert "note: skipped 1 blank line of" in capsys.readouterr().err
    rows = list(csv.DictReader(open(tmp_path / "p.csv", encoding="utf-8")))
    assert [r["text"] for r in rows] == ["first one", "second one"]


def test_predict_notes_texts_without_a_known_word(trained, capsys):
    _, out = trained
    main(["classify", "predict", str(out), "zzz qqq"])
    captured = capsys.readouterr()
    assert re.fullmatch(r"note: the text 'zzz qqq' has no word the model knows \([\d,]+ "
                        r"words\); it reads only <unk> there, so the label is a guess\n",
                        captured.err)
    assert "zzz qqq" in captured.out
    main(["classify", "predict", str(out), "a gorgeous film", "", "zzz"])
    err = capsys.readouterr().err
    assert "note: 2 of the 3 texts ('', 'zzz') have no word the model knows" in err
    main(["classify", "predict", str(out), "a gorgeous, witty film"])
    assert "note:" not in capsys.readouterr().err


def test_predict_notes_a_text_col_that_no_table_reads(trained, capsys, tmp_path):
    _, out = trained
    main(["classify", "predict", str(out), "a gorgeous, witty film", "--text-col", "review"])
    captured = capsys.readouterr()
    assert captured.err.startswith("note: --text-col names a column of a table --file")
    assert "gorgeous" in captured.out
    texts = tmp_path / "texts.txt"
    texts.write_text("a gorgeous, witty film\n")
    main(["classify", "predict", str(out), "--file", str(texts), "--text-col", "review"])
    assert "note: --text-col" in capsys.readouterr().err
    table = tmp_path / "t.csv"
    table.write_text('review\n"a gorgeous, witty film"\n')
    main(["classify", "predict", str(out), "--file", str(table), "--text-col", "review"])
    assert "note: --text-col" not in capsys.readouterr().err


def test_api_names_texts_without_a_known_word(tiny_fitted):
    assert tiny_fitted.unknown_texts(["a fine film", "zzz qqq", "", "zzz film"]) == [1, 2]


def test_label_errors_quote_and_cap_the_labels(tiny_fitted, pang_lee_split, tiny):
    from dlcourse.classify import TextClassifier
    from dlcourse.errors import DlcourseError

    with pytest.raises(DlcourseError) as e:
        tiny_fitted.evaluate([f"film {i}" for i in range(9)], [f"x{i}" for i in range(9)])
    assert str(e.value) == ("evaluate: 9 labels not seen in training ('x0', 'x1', 'x2', 'x3', "
                            "'x4' and 4 more; the 2 classes: 'neg', 'pos'); evaluate on data "
                            "with the model's classes")
    (tr_t, tr_y), _ = pang_lee_split
    with pytest.raises(DlcourseError, match=r"^valid: 1 label not seen in training \(3; the 2 "
                       r"classes: 'neg', 'pos'\); give those labels training texts too"):
        TextClassifier(**dict(tiny, epochs=1)).fit(tr_t, tr_y, valid=(["a film"], [3]))


@pytest.mark.parametrize("args, message", [
    (["train", "--out", "X"], "Missing argument 'DATA'"),
    (["predict", "MODEL"], "give texts to classify"),
    (["evaluate", "MODEL"], "Missing argument 'DATA'"),
])
def test_usage_errors(trained, capsys, args, message):
    _, out = trained
    args = [str(out) if a == "MODEL" else a for a in args]
    with pytest.raises(SystemExit) as e:
        main(["classify", *args])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_wrong_column_is_one_error_line(trained, capsys):
    d, out = trained
    with pytest.raises(SystemExit) as e:
        main(["classify", "train", str(d / "train.csv"), "--text-col", "text",
              "--out", str(d / "x"), "--dry-run"])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and err.startswith("error:") and "review" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("model, extra", [
    ("cnn", ["--kernel-sizes", "2,3", "--multichannel", "--pretrained", "glove-test"]),
    ("transformer", ["--positions", "sinusoidal", "--pooling", "cls", "--schedule", "cosine"]),
])
def test_train_the_new_models_and_predict(trained, capsys, tmp_path, model, extra):
    d, _ = trained
    out = tmp_path / model
    main(["classify", "train", str(d / "train.csv"), "--valid", str(d / "valid.csv"),
          "--text-col", "review", "--model", model, *extra, "--out", str(out), "--device", "cpu",
          "--dry-run"])
    state = json.loads((out / "metrics_valid.json").read_text())
    assert state["n"] == 40
    main(["classify", "predict", str(out), "a gorgeous, witty film"])
    assert capsys.readouterr().out.splitlines()[-1].split()[-3] in ("neg", "pos")


def test_bad_kernel_sizes_is_a_usage_error(trained, capsys):
    d, _ = trained
    with pytest.raises(SystemExit) as e:
        main(["classify", "train", str(d / "train.csv"), "--kernel-sizes", "3,x",
              "--out", str(d / "y"), "--dry-run"])
    assert e.value.code == 2 and "--kernel-sizes" in capsys.readouterr().err


def test_module_import_stays_light():
    code = ("import sys, dlcourse.cli.classify, dlcourse.classify.config; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("args", [
    ("classify", "--help"),
    ("classify", "train", "--help"),
    ("classify", "evaluate", "--help"),
    ("classify", "predict", "--help"),
    ("classify", "train", "pang-lee-sample", "--out", "o", "--epochs", "0"),  # refused first
])
def test_help_and_refusals_need_no_torch(run_without_torch, tmp_path, args):
    result = run_without_torch(*args, cwd=tmp_path)
    assert result.returncode == (2 if "--epochs" in args else 0), result.stderr
    assert "torch" not in result.stderr and not list(tmp_path.iterdir())


def test_old_spellings_work_with_a_note(trained, capsys, tmp_path):
    d, out = trained
    main(["classify", "train", "--train", str(d / "train.csv"), "--valid", str(d / "valid.csv"),
          "--text-col", "review", "--model", "gru", "--out", str(tmp_path / "old"),
          "--device", "cpu", "--dry-run"])
    assert "note: '--train " in capsys.readouterr().err
    assert (tmp_path / "old" / "model.safetensors").is_file()
    main(["classify", "evaluate", str(out), "--data", "pang-lee-sample"])
    captured = capsys.readouterr()
    assert "note: '--data pang-lee-sample' is deprecated" in captured.err
    assert "pang-lee-sample: accuracy" in captured.out
    main(["classify", "predict", "--model", str(out), "a gorgeous, witty film"])
    captured = capsys.readouterr()
    assert "note: '--model " in captured.err and "p_pos" in captured.out
    # the other lessons' spellings of the settings they share (lm, embed, text)
    main(["classify", "train", str(d / "train.csv"), "--text-col", "review", "--model", "gru",
          "--hidden-dim", "12", "--min-count", "2", "--max-size", "500", "--clip", "1.5",
          "--out", str(tmp_path / "alias"), "--device", "cpu", "--dry-run"])
    from dlcourse.classify import TextClassifier

    config = TextClassifier.load(tmp_path / "alias").config
    # (--dry-run sets its own small hidden size: --hidden-dim is accepted, not kept)
    assert (config.min_freq, config.max_vocab, config.grad_clip) == (2, 500, 1.5)


def test_evaluate_file_labels_against_integer_classes(pang_lee_split, tiny, tmp_path, capsys):
    from dlcourse.classify import TextClassifier

    (tr_t, tr_y), (va_t, va_y) = pang_lee_split
    to_int = {"neg": 0, "pos": 1}
    clf = TextClassifier(**dict(tiny, epochs=1)).fit(tr_t, [to_int[y] for y in tr_y])
    clf.save(tmp_path / "m")
    data = _write_csv(tmp_path / "v.csv", va_t, [to_int[y] for y in va_y])  # "0"/"1" as text
    main(["classify", "evaluate", str(tmp_path / "m"), data, "--text-col", "review"])
    expected = clf.evaluate(va_t, [to_int[y] for y in va_y])["accuracy"]
    assert f"accuracy {expected:.4f}" in capsys.readouterr().out


def _help(args: list[str]) -> str:
    from click.testing import CliRunner

    from dlcourse.cli.main import cli

    return CliRunner().invoke(cli, args).output


def test_limit_draws_a_class_balanced_part(pang_lee, tmp_path, capsys, caplog):
    # classify had no --limit, the other lessons' train and evaluate do; a file sorted by label
    # (pang-lee's is) must not give one class
    texts, labels = pang_lee
    rows = sorted(zip(texts, labels), key=lambda r: r[1])
    data = _write_csv(tmp_path / "sorted.csv", *zip(*rows))
    out = tmp_path / "m"
    main(["classify", "train", data, "--text-col", "review", "--label-col", "label",
          "--limit", "40", "--epochs", "1", "--hidden-size", "8", "--embed-dim", "8",
          "--min-freq", "1", "--pretrained", "none", "--out", str(out), "--device", "cpu"])
    valid = json.loads((out / "metrics_valid.json").read_text())  # held out, cut to 40 // 9
    assert valid["n"] == 4 and [c["support"] for c in valid["per_class"]] == [2, 2]
    # --limit N trains on N rows: the 10% held out came out of them (36 rows)
    assert "training cnn on 40 texts, validating on 4" in caplog.text
    main(["classify", "evaluate", str(out), data, "--limit", "10", "--out", str(tmp_path / "e")])
    scored = json.loads((tmp_path / "e" / "evaluation.json").read_text())
    assert scored["n"] == 10 and [c["support"] for c in scored["per_class"]] == [5, 5]


def test_train_help_states_the_minilm_recipe_as_the_config_holds_it(cli_run):
    """`classify train --help` spells out what --model minilm changes, in prose: every value
    of MINILM_DEFAULTS must be the one it states (a change to the recipe fails here)."""
    from dlcourse.classify.config import MINILM_DEFAULTS

    help_text = " ".join(cli_run("classify", "train", "--help").out.split())
    d = {k: format(v, "g").replace("e-0", "e-") if isinstance(v, float) else v
         for k, v in MINILM_DEFAULTS.items()}  # 3e-05 as 3e-5, 1.0 as 1
    stated = (f"AdamW lr {d['lr']} with weight decay {d['weight_decay']}, 10% warm-up then "
              f"decay, {d['epochs']} epochs, batch {d['batch_size']}, {d['max_len']} WordPiece "
              f"tokens, clip {d['grad_clip']}, no word dropout, adversarial training or "
              "weight average")
    assert stated in help_text
    assert (d["word_dropout"], d["adversarial"], d["ema_span"], d["schedule"],
            d["tokenizer"]) == ("0", "0", "0", "warmup", "wordpiece")
