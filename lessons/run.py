"""Execute the lesson notebooks into a run folder: executed ``.ipynb`` plus HTML for each.

The lessons are stored as jupytext "percent" scripts (``lessons/NN_name.py``). This script
converts each with jupytext, runs it cell by cell with nbclient in a fresh kernel of *this*
Python (the project's venv, through a kernel spec written for the run, so no kernel has to be
registered), and writes ``OUT/NN_name.ipynb`` and ``OUT/NN_name.html`` (nbconvert, figures
embedded). Figures and temporary files of a notebook go to ``OUT/NN_name_files/`` (the
notebook reads it from ``DLCOURSE_LESSON_OUT``).

Every notebook runs even when an earlier one fails; a failing cell is reported with the
notebook, the cell's number, its line in the script and the error, the partly executed
notebook is still written, and the exit status is 1. ``DLCOURSE_QUICK=1`` (or ``--quick``)
makes each notebook shrink its data and epochs. The data sets come from the cache only
(``DLCOURSE_OFFLINE=1``), as ``make data`` fills it.

Usage::

    python lessons/run.py                      # all five, full settings, runs/lessons-<date>-<time>
    python lessons/run.py --quick --out /tmp/l # all five, quick settings
    python lessons/run.py --only 05_som        # one notebook (name or number: --only 5)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

LESSONS_DIR = Path(__file__).resolve().parent
TEMPLATES = LESSONS_DIR / "templates"  # nbconvert templates of the lesson pages
KERNEL_NAME = "dlcourse-lessons"


@dataclass
class Result:
    """How one notebook went: ``error`` is None when every cell ran."""

    name: str
    seconds: float
    cells: int
    ipynb: str
    html: str
    error: str | None = None


def notebooks(only: list[str] | None = None, directory: Path = LESSONS_DIR) -> list[Path]:
    """The lesson scripts ``NN_name.py`` of ``directory`` in course order; ``only`` picks some by
    stem or number ("5", "05_som").

    Raises:
        SystemExit: a name in ``only`` that matches no lesson (the message lists them).
    """
    paths = sorted(p for p in Path(directory).glob("[0-9][0-9]_*.py"))
    if not paths:
        raise SystemExit(f"error: no lesson scripts NN_name.py in {directory}")
    if not only:
        return paths
    chosen = []
    for name in only:
        match = [p for p in paths if p.stem == name or p.stem.split("_")[0].lstrip("0") ==
                 name.lstrip("0")]
        if not match:
            raise SystemExit(f"error: no lesson {name!r}; choose one of "
                             f"{', '.join(p.stem for p in paths)}")
        chosen += [p for p in match if p not in chosen]
    return chosen


def _kernel_manager(spec_root: Path):
    """A kernel manager whose kernel is ``sys.executable -m ipykernel_launcher``.

    A kernel spec written into ``spec_root`` (instead of the installed ``python3`` one, which
    may belong to another Python) makes the kernel this interpreter, venv and all.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = spec_root / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "dlcourse (venv)", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(spec_root)])
    # ipc: local sockets instead of TCP ports (no port races, no "unencrypted TCP" warning);
    # an absolute socket path, as the kernel runs in another working directory
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs, transport="ipc",
                         ip=str(spec_root / "kernel"))


def _cell_line(script: str, source: str) -> int | None:
    """1-based line where a code cell's source starts in the percent script (None if unknown).

    jupytext keeps a code cell's text as it is in the script, so the whole source is searched
    (a first line alone, such as ``import re``, may also occur inside an earlier line).
    """
    at = script.find(source) if source.strip() else -1
    return script.count("\n", 0, at) + 1 if at >= 0 else None


def _error_text(cell) -> str:
    """``Name: message`` of the error output a failed cell left."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}".strip()
    return "the cell failed"


def html_page(nb) -> str:
    """The notebook ``nb`` as nbconvert's lab page (figures embedded) without the scripts that
    page loads from a CDN (templates/offline): it opens offline with nothing missing. The
    page's title is the notebook's first heading (a browser tab then names the lesson)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_template_basedirs=[str(TEMPLATES)], template_name="offline")
    return exporter.from_notebook_node(nb, resources={"metadata": {"name": title(nb)}})[0]


def title(nb) -> str:
    """The text of the notebook's first ``#`` heading, else "Notebook"."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "Notebook"


def run_notebook(path: Path, out_dir: Path, env: dict[str, str], timeout: int,
                 verbose: bool = False) -> Result:
    """Execute one percent script; write ``out_dir/<stem>.ipynb`` and ``.html`` either way.

    ``verbose`` prints each code cell's number, line and seconds as it finishes.
    """
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    script = path.read_text(encoding="utf-8")
    nb = jupytext.reads(script, fmt="py:percent")
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "dlcourse (venv)",
                                 "language": "python"}
    files = out_dir / f"{path.stem}_files"
    files.mkdir(parents=True, exist_ok=True)
    env = {**env, "DLCOURSE_LESSON_OUT": str(files.resolve())}
    error, cell_no = None, 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dlcourse-kernel-") as spec_root:
        client = NotebookClient(nb, km=_kernel_manager(Path(spec_root)), timeout=timeout,
                                record_timing=True, shutdown_kernel="immediate")
        try:
            # cleanup_kc: shut the kernel down at the end although the manager is ours
            with client.setup_kernel(env=env, cwd=str(files.resolve()), cleanup_kc=True):
                for index, cell in enumerate(nb.cells):
                    cell_no, began = index + 1, time.perf_counter()
                    client.execute_cell(cell, index)
                    if verbose and cell.cell_type == "code":
                        print(f"    cell {cell_no:>3} (line {_cell_line(script, cell.source)})"
                              f" {time.perf_counter() - began:6.1f} s", flush=True)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            cell = nb.cells[cell_no - 1]
            line = _cell_line(script, cell.source)
            where = f"{path.name}: cell {cell_no}" + (f" (line {line})" if line else "")
            what = (_error_text(cell) if isinstance(exc, CellExecutionError)
                    else str(exc).splitlines()[0])
            error = f"{where}: {what}"
        except RuntimeError as exc:  # the kernel did not start
            error = f"{path.name}: kernel: {exc}"
    seconds = time.perf_counter() - start
    ipynb, html = out_dir / f"{path.stem}.ipynb", out_dir / f"{path.stem}.html"
    nbformat.write(nb, str(ipynb))
    html.write_text(html_page(nb), encoding="utf-8")
    code_cells = sum(c.cell_type == "code" for c in nb.cells)
    return Result(path.stem, round(seconds, 1), code_cells, str(ipynb), str(html), error)


def main(argv: list[str] | None = None) -> int:
    """Run the lessons; print one line per notebook; 0 when all ran, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="run folder (default: runs/lessons-<date>-<time>)")
    parser.add_argument("--quick", action="store_true",
                        help="small data and few epochs (same as DLCOURSE_QUICK=1)")
    parser.add_argument("--only", nargs="+", metavar="LESSON",
                        help="run only these lessons (stem such as 05_som, or number)")
    parser.add_argument("--timeout", type=int, default=1200,
                        help="seconds one cell may run (default 1200)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print each cell's time as it finishes")
    parser.add_argument("--dir", type=Path, default=LESSONS_DIR,
                        help="folder of the NN_name.py scripts (default: this script's)")
    args = parser.parse_args(argv)

    paths = notebooks(args.only, args.dir)
    out_dir = args.out or Path(time.strftime("runs/lessons-%Y%m%d-%H%M%S"))
    out_dir.mkdir(parents=True, exist_ok=True)
    quick = args.quick or os.environ.get("DLCOURSE_QUICK", "") not in ("", "0")
    env = {**os.environ, "DLCOURSE_QUICK": "1" if quick else "0",
           # the lessons read the cached data sets only: a notebook never downloads
           "DLCOURSE_OFFLINE": os.environ.get("DLCOURSE_OFFLINE", "1"),
           "DLCOURSE_PROGRESS": "0", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}

    print(f"lessons: {len(paths)} notebook(s), {'quick' if quick else 'full'} settings, "
          f"into {out_dir}", flush=True)
    start, results = time.perf_counter(), []
    for path in paths:
        result = run_notebook(path, out_dir, env, args.timeout, args.verbose)
        results.append(result)
        status = "ok" if result.error is None else "FAILED"
        print(f"  {result.name:<24} {status:<6} {result.seconds:7.1f} s  {result.html}",
              flush=True)
    total = time.perf_counter() - start
    summary = {"quick": quick, "seconds": round(total, 1),
               "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
               "notebooks": [asdict(r) for r in results]}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    failed = [r for r in results if r.error]
    print(f"lessons: {len(results) - len(failed)}/{len(results)} ran in {total:.0f} s; "
          f"{out_dir / 'summary.json'}")
    for r in failed:
        print(f"error: {r.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
