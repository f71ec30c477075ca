"""`dlcourse text` works with torch made unimportable: every verb runs in a subprocess whose
import system refuses torch and torchvision and reports any attempt on stderr."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Runs before the CLI: any `import torch`/`import torchvision` raises ImportError and leaves a
# mark on stderr, so an attempt that some library swallows (try/except ImportError) still shows.
SHIM = """
import sys

class BlockTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            sys.stderr.write(f"BLOCKED {name}\\n")
            raise ImportError(f"{name} is blocked by the test")
        return None

sys.meta_path.insert(0, BlockTorch())
from dlcourse.cli.main import main
main(sys.argv[1:])
"""


def run_without_torch(cwd, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SHIM, "text", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def inputs(tmp_path):
    (tmp_path / "c.txt").write_text("the cat sat\nthe dog\n", encoding="utf-8")
    rows = [{"review": "a fine film", "label": "pos"}, {"review": "dull", "label": "neg"}]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows),
                                      encoding="utf-8")
    (tmp_path / "r.csv").write_text("review,label\na fine film,pos\ndull,neg\n",
                                    encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("args, expected", [
    (("tokenize", "Hello, World!"), "hello , world !"),
    (("tokenize", "--tokenizer", "wordpiece", "--ids", "Hi!"), "101 7632 999 102"),
    (("tokenize", "--tokenizer", "regex", "--file", "c.txt", "--json"), '["the", "dog"]'),
    (("tokenize", "--file", "r.csv", "--text-col", "review"), "a fine film"),
    (("vocab", "c.txt", "r.jsonl", "--text-col", "review", "--out", "out/v.json"),
     "saved out/v.json"),
    (("vocab", "pang-lee-sample", "--max-size", "10"), "200 texts"),
    (("inspect", "r.csv", "--text-col", "review"), "2 rows; columns: review, label"),
    (("inspect", "r.jsonl", "--text-col", "review", "--tokenizer", "wordpiece"), "2 classes"),
])
def test_every_verb_runs_without_torch(inputs, args, expected):
    done = run_without_torch(inputs, *args)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout, done.stdout
    assert "BLOCKED" not in done.stderr, done.stderr


@pytest.mark.slow  # importing spaCy takes seconds
def test_spacy_tokenizes_without_torch(inputs):
    """spaCy's thinc imports torch when it can (`dlcourse text` cannot prevent that), but it
    needs none: with torch refused the spacy tokenizer still works."""
    pytest.importorskip("spacy")
    done = run_without_torch(inputs, "tokenize", "--tokenizer", "spacy", "Don't stop")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Do n't stop"


def test_errors_stay_one_line_without_torch(inputs):
    done = run_without_torch(inputs, "tokenize", "--tokenizer", "nosuch", "x")
    assert done.returncode == 2 and done.stderr.startswith("error: unknown --tokenizer")
    assert len(done.stderr.strip().splitlines()) == 1 and "BLOCKED" not in done.stderr
