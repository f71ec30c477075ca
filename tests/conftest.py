"""Shared fixtures: every test runs with its own cache unless it asks for the real one."""

from __future__ import annotations

import logging
import os

import pytest

os.environ.setdefault("DLCOURSE_PROGRESS", "0")
# Tests never download: data comes from installed packages or the cache that `make test` fills
# (`dlcourse data fetch --offline`); the data-layer tests lift this for their local server.
os.environ.setdefault("DLCOURSE_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def small_minilm_words(tmp_path_factory):
    """minilm-words (the classifier's default vectors) keep their store in a folder of this
    session and fit their PCA on GloVe's 400 most frequent words instead of 50,000: tests that
    train with the default vectors take seconds, and the user's cache never holds a test
    basis. (Imports no torch.)"""
    import dlcourse.classify.minilm_words as mw

    folder = tmp_path_factory.mktemp("minilm-words")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mw, "REFERENCE_WORDS", 400)
        patch.setattr(mw, "store_folder", lambda dim: folder / f"v{mw.VERSION}-{dim}")
        yield folder


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """An empty DLCOURSE_HOME for tests that exercise fetching (the data sets' lock files, which
    live in the temporary folder, go to the test's own folder, not to /tmp by hundreds)."""
    import tempfile

    home = tmp_path / "cache"
    monkeypatch.setenv("DLCOURSE_HOME", str(home))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("DLCOURSE_OFFLINE", raising=False)
    return home


class CliResult:
    """What one in-process ``dlcourse`` invocation left: exit code, stdout, stderr."""

    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def assert_user_error(self, match: str | None = None, report: bool = False) -> None:
        """One line ``error: ...`` on stderr, exit 2, no traceback, nothing on stdout (a refused
        command prints no partial result; ``report``: a check whose findings are its output,
        e.g. ``data verify``); ``match``: a regex."""
        import re

        lines = [line for line in self.err.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error: ")]
        assert self.code == 2, f"exit {self.code}, stderr: {self.err!r}"
        assert len(errors) == 1 and "Traceback" not in self.err, self.err
        assert not [line for line in lines if not line.startswith(("error: ", "note: "))], \
            self.err
        assert report or not self.out.strip(), f"printed before the error: {self.out[:300]!r}"
        if match is not None:
            assert re.search(match, errors[0]), errors[0]


@pytest.fixture
def cli_run(capsys):
    """Run ``dlcourse ARGS...`` in-process as a user would type it; returns a CliResult.

    Example:
        cli_run("som", "train", "missing.csv", "--out", "out").assert_user_error("does not exist")
    """
    import sys

    from dlcourse.cli.main import main
    from dlcourse.engine.threads import THREAD_VARIABLES

    def run(*args) -> CliResult:
        capsys.readouterr()
        names = sys.modules.get("dlcourse.data.names")
        if names is not None:  # a user's command is a process of its own: notes anew
            names._NOTED.clear()
        # the CLI sets the thread count (and -q the progress) for its process: give the test
        # session its own back
        saved_env = {k: os.environ.get(k) for k in (*THREAD_VARIABLES, "DLCOURSE_PROGRESS")}
        torch = sys.modules.get("torch")
        saved_threads = torch.get_num_threads() if torch is not None else None
        # pytest's log capture keeps the CLI's logging.basicConfig from reaching stderr: show
        # its messages there, in order with the rest, as a user sees them
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logging.getLogger("dlcourse").addHandler(handler)
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            logging.getLogger("dlcourse").removeHandler(handler)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            if saved_threads is not None:
                torch.set_num_threads(saved_threads)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh working directory (commands use relative paths, as users type them); returns a
    function listing every file under it, to assert that a refused command wrote nothing."""
    monkeypatch.chdir(tmp_path)

    def files() -> set[str]:
        return {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")}

    return files


TORCH_FREE_RUNNER = """
import sys
for name in ("torch", "torchvision"):
    sys.modules[name] = None  # any import of them now raises ImportError
from dlcourse.cli.main import main
main(sys.argv[1:])
"""


@pytest.fixture
def run_without_torch():
    """Run ``dlcourse ARGS...`` in a subprocess where torch and torchvision cannot be imported
    (the commands that train no torch model must not need them); returns the CompletedProcess.
    """
    import subprocess
    import sys

    def run(*args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
        env = {**os.environ, "DLCOURSE_PROGRESS": "0"}
        return subprocess.run([sys.executable, "-c", TORCH_FREE_RUNNER, *map(str, args)],
                              capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)

    return run


@pytest.fixture
def python_without_torch():
    """Run Python ``code`` in a subprocess where torch cannot be imported (the models that need
    no torch must load and answer without it); returns its stripped stdout, failing the test
    with the child's stderr when it exits non-zero."""
    import subprocess
    import sys

    def run(code: str) -> str:
        done = subprocess.run([sys.executable, "-c", "import sys; sys.modules['torch'] = None\n"
                               + code], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    return run


@pytest.fixture
def refused(cli_run):
    """``refused(files, *args, match=regex)``: ``dlcourse ARGS`` is refused with one error line
    and leaves the folder ``files()`` lists as it was; ``match=None`` is a control case that must
    succeed. The bad-input suites of every noun use it.
    """

    def check(files, *args, match: str | None) -> CliResult:
        before = files()
        result = cli_run(*args)
        if match is None:  # a control case: the same command is accepted
            assert result.code == 0, result.err
            return result
        result.assert_user_error(match)
        assert files() == before
        return result

    return check


@pytest.fixture
def model_inputs(workdir):
    """``model_inputs(model_file, name, others=("som",))`` writes, in the working directory, the
    inputs every noun's bad-input suite feeds its verbs: ``NAME/`` (a copy of a trained model),
    one model folder per lesson in ``others`` (the same manifest naming another lesson),
    ``truncated/`` and ``header/`` (the model file cut in its arrays and in its JSON header),
    ``nomodel/`` (an empty folder) and the text files ``notes.txt`` (good), ``empty.txt``,
    ``blank.txt``, ``latin1.txt`` and ``binary.bin``.
    """
    import shutil
    from pathlib import Path

    import numpy as np

    from dlcourse.engine.persist import read_manifest, write_state

    def write(model: Path, name: str, others: tuple[str, ...] = ("som",)) -> None:
        Path(name).mkdir()
        shutil.copy(model, Path(name) / "model.safetensors")
        manifest = read_manifest(model)
        for lesson in others:
            write_state(Path(lesson) / "model.safetensors",
                        {**manifest, "lesson": lesson, "estimator": lesson.upper()},
                        {"weights": np.zeros((3, 2), np.float32)})
        data = model.read_bytes()
        Path("truncated").mkdir()
        Path("truncated/model.safetensors").write_bytes(data[: len(data) // 2])  # arrays cut
        Path("header").mkdir()
        Path("header/model.safetensors").write_bytes(data[:20])  # the JSON header cut off
        Path("nomodel").mkdir()
        Path("notes.txt").write_text("the cat sat on the mat\n" * 50, encoding="utf-8")
        Path("empty.txt").write_text("")
        Path("blank.txt").write_text("\n   \n\t\n" * 20)
        Path("latin1.txt").write_bytes("le café est très bon\n".encode("latin-1") * 50)
        Path("binary.bin").write_bytes(bytes(range(256)) * 8)

    return write


class SameRun:
    """The resume tests' yardstick: a resumed run must equal the uninterrupted one."""

    #: the only history values a resume may change
    TIMING = ("seconds", "items_per_s")

    @classmethod
    def tensors(cls, a, b, where: str = "") -> None:
        """Every tensor (nested in dicts and lists) equal, bit for bit; plain values equal."""
        import torch

        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b), where
        elif isinstance(a, dict):
            assert a.keys() == b.keys(), where
            for key in a:
                cls.tensors(a[key], b[key], f"{where}/{key}")
        elif isinstance(a, list | tuple):
            assert len(a) == len(b), where
            for i, (x, y) in enumerate(zip(a, b)):
                cls.tensors(x, y, f"{where}/{i}")
        else:
            assert a == b, where

    @classmethod
    def history(cls, history: list[dict]) -> list[dict]:
        """The history without its timings."""
        return [{k: v for k, v in h.items() if k not in cls.TIMING} for h in history]


@pytest.fixture
def same_run():
    """:class:`SameRun`: ``same_run.tensors(a, b)``, ``same_run.history(h)``."""
    return SameRun
