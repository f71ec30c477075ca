"""The lesson notebooks (lessons/NN_name.py, jupytext percent scripts) and their runner.

Fast: every notebook parses, is stored without outputs, reads DLCOURSE_QUICK, and names the
sections of its lesson in the course outline; a failing cell is reported with the notebook, the
cell and the error. Slow: all five execute in quick mode through ``lessons/run.py``, as
``DLCOURSE_QUICK=1 make lessons`` does, with no error and with figures.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"

# the outline's sections (the course's LESSONS.md), as the notebooks' headings must name them
SECTIONS = {
    "01_embeddings": ["one-hot", "word2vec", "glove", "embedding layer", "nearest words",
                      "2-d map"],
    "02_transfer_learning": ["data", "pretrained network", "new head", "loss and optimizer",
                             "training", "evaluation"],
    "03_nlp_pytorch": ["pytorch basics", "tensors", "tokenization", "wordpiece", "vocabulary",
                       "padding", "lstm classifier", "training", "accuracy and f1",
                       "prediction"],
    "04_nlp_process": ["terms", "pytorch as a library", "csv", "basic_english", "vocabulary",
                       "bucketed batches", "rnn", "training", "evaluation"],
    "05_som": ["algorithm, step by step", "dlcourse.som", "u-matrix", "hit map",
               "where soms are used, and their limits"],
}


def _runner():
    """lessons/run.py as a module (it is a script, not part of the package)."""
    if "lessons_run" not in sys.modules:
        spec = importlib.util.spec_from_file_location("lessons_run", LESSONS / "run.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["lessons_run"] = module  # its dataclass looks its module up there
        spec.loader.exec_module(module)
    return sys.modules["lessons_run"]


def _headings(nb) -> list[str]:
    return [line.lstrip("#").strip().lower() for cell in nb.cells if cell.cell_type == "markdown"
            for line in cell.source.splitlines() if line.startswith("#")]


def test_the_runner_finds_five_lessons_in_course_order():
    names = [p.stem for p in _runner().notebooks()]
    assert names == list(SECTIONS)
    assert [p.stem for p in _runner().notebooks(["5", "01_embeddings"])] == [
        "05_som", "01_embeddings"]
    with pytest.raises(SystemExit, match="no lesson '9'"):
        _runner().notebooks(["9"])


@pytest.mark.parametrize("name", list(SECTIONS))
def test_notebook_parses_and_names_its_sections(name):
    import jupytext

    text = (LESSONS / f"{name}.py").read_text(encoding="utf-8")
    nb = jupytext.reads(text, fmt="py:percent")
    number = int(name[:2])
    assert nb.cells[0].cell_type == "markdown"
    assert nb.cells[0].source.startswith(f"# Lesson {number}:"), nb.cells[0].source[:60]
    headings = _headings(nb)
    missing = [s for s in SECTIONS[name] if not any(s in h for h in headings)]
    assert not missing, f"{name} names no section for {missing}; headings: {headings}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 8
    assert not any(c.get("outputs") for c in code)  # stored without outputs
    assert "DLCOURSE_QUICK" in code[0].source  # quick mode is read at the top
    for cell in code:  # every code cell is valid Python on its own
        compile(cell.source, f"{name}.py", "exec")


def _tour_checks():
    """check_command_line / check_python_imports of the tour's test (one parser check for the
    chapters' and the notebooks' commands)."""
    if "tour_checks" not in sys.modules:
        path = ROOT / "tests" / "report" / "test_tour.py"
        spec = importlib.util.spec_from_file_location("tour_checks", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["tour_checks"] = module
        spec.loader.exec_module(module)
    return sys.modules["tour_checks"]


def _command_lines(nb) -> list[str]:
    """The ``dlcourse ...`` lines of the notebook's fenced blocks, continuations joined."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for block in re.findall(r"```\n(.*?)```", cell.source, flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                if line.strip().startswith("dlcourse "):
                    lines.append(line.strip())
    return lines


@pytest.mark.parametrize("name", list(SECTIONS))
def test_notebook_imports_and_commands_exist(name):
    """Every name a notebook imports from dlcourse exists and every command line it shows
    parses under the current CLI: an API change breaks this fast test, not only a run."""
    import jupytext

    nb = jupytext.read(LESSONS / f"{name}.py")
    checks = _tour_checks()
    for cell in nb.cells:
        if cell.cell_type == "code":
            checks.check_python_imports(cell.source)
    commands = _command_lines(nb)
    assert commands, f"{name} shows no command line"
    for line in commands:
        checks.check_command_line(line)


def test_a_failing_cell_names_the_notebook_the_cell_and_the_error(tmp_path):
    pytest.importorskip("ipykernel")
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "01_broken.py").write_text(
        "# %% [markdown]\n# # Lesson 1: broken\n\n# %%\nx = 1\n\n# %%\ny = x / 0\n\n"
        "# %%\nprint('never')\n", encoding="utf-8")
    out = tmp_path / "run"
    code = subprocess.run(
        [sys.executable, str(LESSONS / "run.py"), "--dir", str(lessons), "--quick",
         "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert code.returncode == 1, code.stdout + code.stderr
    errors = [line for line in code.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: 01_broken.py: cell 3 (line 8): ZeroDivisionError: division by zero"]
    # the partly executed notebook and its HTML are written for reading the failure
    assert (out / "01_broken.ipynb").is_file() and (out / "01_broken.html").is_file()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["quick"] is True and summary["notebooks"][0]["error"]


@pytest.mark.slow
def test_all_lessons_run_in_quick_mode(tmp_path):
    import nbformat

    env = {**os.environ, "DLCOURSE_QUICK": "1", "DLCOURSE_OFFLINE": "1"}
    result = subprocess.run([sys.executable, str(LESSONS / "run.py"), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=1200, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["quick"] is True
    assert [n["name"] for n in summary["notebooks"]] == list(SECTIONS)
    for name in SECTIONS:
        nb = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "error"], name
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        assert len(images) >= 2, f"{name} shows {len(images)} figures"
        html = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
        assert html.count("data:image/png;base64") >= len(images)  # figures embedded


def test_a_lesson_page_loads_nothing_from_the_network():
    # nbconvert's lab page loaded require.js, MathJax and mermaid from cdnjs: offline, the
    # "self-contained" page logged three failed loads
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A lesson"),
                                         nbformat.v4.new_code_cell("1 + 1")])
    page = _runner().html_page(nb)
    assert "<title>A lesson</title>" in page  # every page was titled "Notebook"
    assert "jp-CodeCell" in page  # the lab page, its cells styled
    assert not re.findall(r"""(?:src|href)=["']https?:|from ["']https?:|import\(["']https?:""",
                          page)
