"""The whole tour in quick mode, run as `make demo` runs it (a relative run folder): every
chapter ok, every figure and link resolves from the report's own folder, and every chapter
ends with commands that parse under the current CLI and Python that compiles."""

from __future__ import annotations

import ast
import importlib
import re
import shlex
from pathlib import Path

import click
import pytest

from dlcourse.report.check import missing_targets


def check_command_line(line: str) -> None:
    """Parse a `dlcourse ...` line with the CLI's own parser, without running it.

    Options, flags, choices and numbers are checked and arguments counted; paths are not
    required to exist (they are what the commands before it create).

    Raises:
        click.UsageError: an unknown option or verb, a bad value, a missing or extra argument,
            or a spelling the CLI keeps for old scripts only (a hidden legacy option, or an
            option's older name where it has a first, current one): shown commands teach the
            current ones.
    """
    from dlcourse.cli.main import cli

    args = shlex.split(line)
    assert args[0] == "dlcourse", line
    command, name, args, ctx = cli, "dlcourse", args[1:], None
    while True:
        ctx = click.Context(command, info_name=name, parent=ctx)
        used = {a.split("=", 1)[0] for a in args if a.startswith("--")}  # parse_args eats args
        opts, rest, _ = command.make_parser(ctx).parse_args(args)
        for param in command.params:
            if not isinstance(param, click.Option) or param.name not in opts:
                continue
            longs = [o for o in param.opts if o.startswith("--")]
            old = (used & set(longs[1:])) | (used & set(longs) if param.hidden else set())
            if old:
                raise click.UsageError(f"{line}: {sorted(old)[0]} is an old spelling; write "
                                       f"{longs[0] if not param.hidden else 'the current one'}")
        for param in command.params:
            value = opts.get(param.name)
            if param.name not in opts or param.value_is_missing(value):
                if param.required:
                    raise click.UsageError(f"{line}: missing {param.name}")
            elif not isinstance(param.type, click.Path):
                param.type_cast_value(ctx, value)
        if not isinstance(command, click.Group):
            if rest:
                raise click.UsageError(f"{line}: unexpected arguments {rest}")
            return
        if not rest:
            raise click.UsageError(f"{line}: no verb after {name}")
        name, args = rest[0], rest[1:]
        command = command.get_command(ctx, name)
        if command is None:
            raise click.UsageError(f"{line}: no command {name!r}")


def check_python_imports(code: str) -> None:
    """Compile a Python block and check that every name it imports exists (an API rename in a
    lesson breaks the chapter's block, not only a run of it)."""
    for node in ast.walk(ast.parse(code, "<report>")):
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module)
            missing = [a.name for a in node.names if not hasattr(module, a.name)]
            assert not missing, f"{node.module} has no {', '.join(missing)}"


def test_check_command_line_rejects_what_the_cli_would():
    check_command_line("dlcourse --threads 1 som train sklearn:digits --grid 20x20 --out runs/x")
    for bad, reason in (("dlcourse som train sklearn:digits --grid 20x20", "missing out"),
                        ("dlcourse som train sklearn:digits --epochs ten --out x", "integer"),
                        ("dlcourse som train sklearn:digits --topology cube --out x", "cube"),
                        ("dlcourse som fit sklearn:digits --out x", "no command 'fit'"),
                        ("dlcourse embed similar runs/x", "missing words"),
                        ("dlcourse som plot a b", "unexpected arguments"),
                        ("dlcourse tour --quick --fast", "No such option")):
        with pytest.raises(click.UsageError, match=reason):  # BadParameter, NoSuchOption too
            check_command_line(bad)


def test_whole_tour_in_quick_mode(tmp_path, monkeypatch):
    """Every lesson's chapter runs end to end and lands in one report (the main job, ~30 s)."""
    from dlcourse import tour

    monkeypatch.chdir(tmp_path)
    path, results = tour.run_tour("runs/tour-quick", quick=True, device="cpu")
    assert [(r.key, r.status) for r in results] == [(k, "ok") for k, _, _ in tour.CHAPTERS]
    assert path == tmp_path / "runs" / "tour-quick" / "report.html"
    html = path.read_text(encoding="utf-8")
    markdown = path.with_suffix(".md").read_text(encoding="utf-8")
    for _, _, title in tour.CHAPTERS:
        assert title.split(":")[0] in markdown
    figures = re.findall(r'<img src="([^"]+)"', html)
    assert len(figures) >= 10 and all(not f.startswith(("/", "runs/")) for f in figures)
    assert missing_targets(path) == []  # resolved from the report's folder, not the cwd
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):
        assert (path.parent / link).is_file(), link

    shell = re.findall(r"```bash\n(.*?)```", markdown, re.S)
    python = re.findall(r"```python\n(.*?)```", markdown, re.S)
    assert len(shell) == len(tour.CHAPTERS) and len(python) == len(tour.CHAPTERS)
    lines = [ln for block in shell for ln in block.splitlines() if not ln.startswith("#")]
    assert sum(ln.startswith("dlcourse tour --only") for ln in lines) == len(tour.CHAPTERS)
    for line in lines:
        check_command_line(line)
    for code in python:
        check_python_imports(code)
    assert Path(tmp_path / "runs" / "tour-quick" / "report.md").exists()


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.parametrize("device, chapter, match", [
    ("foo", "som", r"unknown --device 'foo'; use auto, cpu, cuda, cuda:N or mps"),
    ("foo", "text", r"unknown --device 'foo'"),  # a chapter that uses no device
    ("tpu", "text", r"unknown --device 'tpu'"),
    ("meta", "text", r"unknown --device 'meta'"),  # a torch device, but no lesson's
    ("cuda:99", "text", r"device 'cuda:99'"),  # no such GPU here (none, or fewer)
    ("cuda", "text", r"device 'cuda' asked for but CUDA is not available; use the CPU "
                     r"\(--device cpu"),
])
def test_tour_refuses_a_device_before_any_work(refused, workdir, device, chapter, match):
    """`dlcourse tour --device X` is checked as every lesson checks it: one line, exit 2, no
    report (a chapter used to fail after the report was written, or not at all)."""
    if device == "cuda" and _cuda_available():
        pytest.skip("CUDA is available here")
    refused(workdir, "--threads", "1", "tour", "--device", device, "--quick", "--only", chapter,
            "--out", "o8", match=match)


def test_only_takes_a_comma_separated_list(cli_run, workdir, monkeypatch):
    # `--only classify,embeddings` was "unknown chapter 'classify,embeddings'"
    import dlcourse.tour

    asked = {}
    monkeypatch.setattr(dlcourse.tour, "run_tour",
                        lambda out, only, **kw: asked.setdefault("only", only) and ("r", []))
    assert cli_run("tour", "--only", "classify, embeddings", "--only", "som", "--out",
                   "t").code == 0
    assert asked["only"] == ["classify", "embeddings", "som"]
