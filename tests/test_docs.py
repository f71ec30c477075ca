"""The documentation's Python, run the way a new user meets it.

Every ```python block of the Markdown files below is read from the file itself (nothing is
copied here) and is either

- runnable: run as written in a fresh interpreter, from an empty working folder, with
  ``DLCOURSE_OFFLINE=1``; then the outcomes the block states are checked (the files its
  ``# -> PATH`` comments name exist, the numbers its comments quote, the commands that read what
  it saved); a traceback points at the Markdown file's own line;
- an API sketch (a signature listing, a call with names it never defines): skipped as a
  program, with the reason, but every import in it must resolve and every name, keyword and
  default it shows must be the code's.

A new block fails ``test_every_python_block_is_covered`` until it is listed in BLOCKS.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "docs/architecture.md", "docs/distributed.md", "src/dlcourse/lm/README.md")


@dataclasses.dataclass(frozen=True)
class Spec:
    """One documented block, found by a string only it contains."""

    doc: str
    marker: str
    slow: bool = False
    sketch: str = ""            # why it is not a program (then it is not run)
    module: str = ""            # sketch: where the names it defines or lists live
    check: str = ""             # Python run after the block, in its namespace
    commands: tuple[tuple[str, ...], ...] = ()   # `dlcourse ...` run afterwards, in its folder


BLOCKS = (
    Spec("README.md", "rt_split()", slow=True,  # minutes: a 4-epoch classifier on 8,455 texts
         check="""
n = int(re.search(r"# ([\\d,]+) review sentences", BLOCK).group(1).replace(",", ""))
assert sum(len(part[0]) for part in split.values()) == n, {k: len(v[0]) for k, v in split.items()}
assert Path("runs/reviews/last.pt").is_file()   # "checkpoints, resume"
""",
         commands=(("embed", "similar", "runs/lee-vectors", "peace"),
                   ("classify", "predict", "runs/reviews", "dull and lifeless"))),
    Spec("src/dlcourse/lm/README.md", "load_corpus(", slow=True,  # minutes: 4 LSTM epochs
         check="""
lstm_ppl, bigram_ppl = map(float, re.search(r"# ~(\\d+) \\(KneserNeyBigram: ~(\\d+)\\)",
                                             BLOCK).groups())
ppl = lm.perplexity(corpus.test)
assert abs(ppl - lstm_ppl) < 0.1 * lstm_ppl, (ppl, lstm_ppl)
ppl = KneserNeyBigram().fit(corpus.train).perplexity(corpus.test)
assert abs(ppl - bigram_ppl) < 0.1 * bigram_ppl, (ppl, bigram_ppl)
from dlcourse.embeddings import KeyedVectors   # "word2vec text format": read it back
kv, table = KeyedVectors.load_word2vec_format("runs/lm/vectors.txt"), lm.keyed_vectors()
assert kv.index_to_key == table.index_to_key and abs(kv.vectors - table.vectors).max() < 1e-4
""",
         commands=(("lm", "generate", "runs/lm", "a person who"),)),
    Spec("docs/architecture.md", 'fetch("lee")', check="""
assert isinstance(d, Path) and d.is_dir() and not d.is_relative_to(Path.cwd()), d
assert (d / "lee_background.cor").is_file() and (d / "lee.cor").is_file(), sorted(d.iterdir())
"""),
    Spec("docs/architecture.md", "class SOMConfig(Config)", module="dlcourse.som",
         sketch="the estimator contract in outline: bodies are `...`, X is never defined"),
    Spec("docs/architecture.md", "history = fit(model, train_loader", module="dlcourse.engine",
         sketch="fit's signature as a call: model, train_loader, step_fn, optimizer are yours"),
    Spec("docs/architecture.md", "wrap_model(model", module="dlcourse.engine.distributed",
         sketch="torchrun helpers in outline: `model` is yours, the `with` body is `...`"),
    Spec("docs/architecture.md", "read_wordnet_glosses() ->", module="dlcourse.data.readers",
         sketch="a listing of the readers' signatures (`f(...) -> type`), not statements"),
    Spec("docs/architecture.md", "class Report:", module="dlcourse.report",
         sketch="a listing of Report's methods (signatures without bodies), not statements"),
)

# run after a runnable block in its namespace (argv: doc, first line, block file, check file)
DRIVER = """
import re, sys
from pathlib import Path
doc, first, block, check = sys.argv[1:]
BLOCK = Path(block).read_text()
ns = {"__name__": "__main__"}
exec(compile("\\n" * (int(first) - 1) + BLOCK, doc, "exec"), ns)
ns.update(re=re, Path=Path, BLOCK=BLOCK)
exec(compile(Path(check).read_text(), "check", "exec"), ns)
"""


def python_blocks(doc: str) -> list[tuple[int, str]]:
    """(line of the block's first code line, code) of every ```python fence in ``doc``."""
    lines = (ROOT / doc).read_text(encoding="utf-8").splitlines()
    blocks, start = [], None
    for i, line in enumerate(lines, 1):
        if start is None and re.fullmatch(r"```python\s*", line):
            start = i + 1
        elif start is not None and re.fullmatch(r"```\s*", line):
            blocks.append((start, "\n".join(lines[start - 1:i - 1]) + "\n"))
            start = None
    assert start is None, f"{doc}:{start - 1}: unclosed ```python fence"
    return blocks


def find(spec: Spec) -> tuple[int, str]:
    found = [b for b in python_blocks(spec.doc) if spec.marker in b[1]]
    assert len(found) == 1, f"{spec.doc}: {len(found)} ```python blocks contain {spec.marker!r}"
    return found[0]


def block_id(spec: Spec) -> str:
    return f"{spec.doc}:{spec.marker}"


def test_every_python_block_is_covered():
    for doc in DOCS:
        for line, code in python_blocks(doc):
            specs = [s for s in BLOCKS if s.doc == doc and s.marker in code]
            assert len(specs) == 1, (f"{doc}:{line}: {len(specs)} entries of BLOCKS match this "
                                     f"block; give it one (runnable or a sketch with a reason)")
    for spec in BLOCKS:
        find(spec)


def _dlcourse(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlcourse", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("spec", [
    pytest.param(s, id=block_id(s), marks=(
        [pytest.mark.skip(reason=f"not a program: {s.sketch}")] if s.sketch else
        [pytest.mark.slow] if s.slow else []))
    for s in BLOCKS])
def test_block_runs_as_written(spec: Spec, tmp_path: Path):
    first, code = find(spec)
    work = tmp_path / "work"   # the user's empty folder; the block's runs/... land here
    work.mkdir()
    (tmp_path / "block.py").write_text(code)
    (tmp_path / "check.py").write_text(spec.check)
    env = {**os.environ, "DLCOURSE_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-c", DRIVER, str(ROOT / spec.doc), str(first),
                          str(tmp_path / "block.py"), str(tmp_path / "check.py")],
                         cwd=work, env=env, capture_output=True, text=True, timeout=3600)
    assert run.returncode == 0, f"{spec.doc}:{first}: exit {run.returncode}\n{run.stderr[-4000:]}"
    for target in re.findall(r"#\s*->\s*(\S+/\S+\.\w+)", code):  # "# -> runs/x/model.safetensors"
        assert (work / target).is_file(), f"{spec.doc}: the comment's {target} was not written"
    for args in spec.commands:
        result = _dlcourse(*args, cwd=work, env=env)
        assert result.returncode == 0 and result.stdout.strip(), (args, result.stderr[-2000:])


# --- API sketches: the names, keywords and defaults they show are the code's -------------------

def _statements(code: str) -> list[ast.stmt]:
    """The block's statements; for a listing that is not Python, its import lines alone."""
    try:
        return ast.parse(code).body
    except SyntaxError:
        pass
    statements, pending = [], ""
    for line in code.splitlines():
        if pending or re.match(r"(from\s+\S+\s+)?import\s", line):
            pending += line.split("#")[0] + "\n"
            if pending.count("(") == pending.count(")"):
                statements += ast.parse(pending).body
                pending = ""
    return statements


def _check_signature(where: str, obj, shown: ast.arguments | None = None, *,
                     call: ast.Call | None = None):
    """Every parameter (or keyword) shown exists, and a constant default shown in a signature
    is the code's (a call's keywords are values of its own)."""
    params = inspect.signature(obj).parameters
    any_keyword = any(p.kind is p.VAR_KEYWORD for p in params.values())
    if call is not None:
        pairs = [(k.arg, k.value) for k in call.keywords if k.arg]
    else:
        names = [a.arg for a in shown.posonlyargs + shown.args + shown.kwonlyargs]
        defaults = [None] * (len(shown.posonlyargs + shown.args) - len(shown.defaults))
        pairs = list(zip(names, defaults + list(shown.defaults) + list(shown.kw_defaults)))
        missing = [n for n, p in params.items() if p.default is p.empty and n not in names
                   and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        assert not missing, f"{where}: the code also requires {missing}"
    for name, value in pairs:
        assert name in params or any_keyword, f"{where}: no parameter {name!r} in {list(params)}"
        if call is None and name in params and isinstance(value, ast.Constant):
            default = params[name].default
            assert default is inspect.Parameter.empty or default == value.value, (
                f"{where}: shows {name}={value.value!r}, the code's default is {default!r}")


def _check_class(where: str, cls, node: ast.ClassDef):
    """A sketched class: its constant attributes and its config fields' defaults and choices."""
    fields = {f.name: f for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}
    for item in node.body:
        if isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name):
            name, actual = item.targets[0].id, getattr(cls, item.targets[0].id)
            if isinstance(item.value, ast.Name):
                assert actual.__name__ == item.value.id, f"{where}: {name} is {actual!r}"
            else:
                assert actual == ast.literal_eval(item.value), f"{where}: {name} is {actual!r}"
        elif (isinstance(item, ast.AnnAssign) and isinstance(item.value, ast.Call)
              and isinstance(item.target, ast.Name)):
            field = fields[item.target.id]
            assert field.default == ast.literal_eval(item.value.args[0]), (
                f"{where}: {item.target.id} defaults to {field.default!r}")
            for k in item.value.keywords:
                if k.arg in ("choices", "min", "max"):
                    actual = field.metadata[k.arg]
                    assert (tuple(actual) if k.arg == "choices" else actual) == ast.literal_eval(
                        k.value), f"{where}: {item.target.id}'s {k.arg} is {actual!r}"
        elif isinstance(item, ast.FunctionDef):
            _check_signature(f"{where} {item.name}", getattr(cls, item.name), item.args)


def _listed_signatures(code: str):
    """(line offset, owner name or None, name, parsed arguments) for each `name(args)` line."""
    owner = None
    for offset, line in enumerate(code.splitlines()):
        if m := re.match(r"class\s+(\w+)", line):
            owner = m.group(1)
            continue
        m = re.match(r"(\s*)(?:def\s+)?(\w+)\(", line)
        if not m or line.lstrip().startswith(("from ", "import ")):
            continue
        owner = owner if m.group(1) else None
        depth, end = 0, m.end() - 1
        for end in range(m.end() - 1, len(line)):
            depth += {"(": 1, ")": -1}.get(line[end], 0)
            if depth == 0:
                break
        header = ast.parse(f"def {m.group(2)}{line[m.end() - 1:end + 1]}: pass").body[0]
        yield offset, owner, m.group(2), header.args


@pytest.mark.parametrize("spec", [pytest.param(s, id=block_id(s)) for s in BLOCKS if s.sketch])
def test_sketch_matches_the_code(spec: Spec):
    first, code = find(spec)
    module = importlib.import_module(spec.module)
    imported: dict[str, object] = {}
    statements = _statements(code)
    for node in statements:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            exec(compile(ast.Module([node], []), spec.doc, "exec"), imported)
    try:
        ast.parse(code)
    except SyntaxError:
        for offset, owner, name, args in _listed_signatures(code):
            where = f"{spec.doc}:{first + offset}"
            holder = getattr(module, owner) if owner else module
            assert hasattr(holder, name), f"{where}: {holder.__name__} has no {name}"
            _check_signature(where, getattr(holder, name), args)
        return
    for node in ast.walk(ast.Module(statements, [])):
        where = f"{spec.doc}:{first + getattr(node, 'lineno', 1) - 1}"
        func = (imported.get(node.func.id, getattr(module, node.func.id, None))
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else None)
        if callable(func):
            _check_signature(where, func, call=node)
        elif isinstance(node, ast.ClassDef) and hasattr(module, node.name):
            _check_class(where, getattr(module, node.name), node)
