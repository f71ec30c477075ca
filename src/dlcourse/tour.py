"""The tour: every lesson's chapter end to end on offline real data, in one report."""

from __future__ import annotations

import importlib
import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from dlcourse.errors import check_choice
from dlcourse.report import Report

log = logging.getLogger(__name__)

# (key, module with run(report, out_dir, quick=..., device=...), title) in teaching order
CHAPTERS = [
    ("text", "dlcourse.text.chapter", "NLP pipeline: tokenizers, vocabulary, batches"),
    ("embeddings", "dlcourse.embeddings.chapter", "Word embeddings: one-hot, word2vec, GloVe"),
    ("lm", "dlcourse.lm.chapter", "Language models: the embedding model and an LSTM"),
    ("classify", "dlcourse.classify.chapter", "Text classification: movie-review sentiment"),
    ("vision", "dlcourse.vision.chapter", "Transfer learning: a pretrained CNN on Fashion-MNIST"),
    ("som", "dlcourse.som.chapter", "Self-organizing maps on handwritten digits"),
]


@dataclass
class ChapterResult:
    key: str
    status: str  # "ok", "failed", "missing"
    seconds: float
    error: str = ""


def run_tour(
    out_dir: str | Path, *, only: list[str] | None = None, quick: bool = False, device: str = "auto"
) -> tuple[Path, list[ChapterResult]]:
    """Run the chosen chapters (all by default) and write ``out_dir/report.html`` and ``.md``.

    A failing chapter is recorded in the report and the tour goes on; the report is rewritten
    after every chapter so an interrupted tour still leaves what it finished.
    """
    from dlcourse.engine.accelerator import check_device_name
    from dlcourse.engine.device import resolve_device

    out_dir = Path(out_dir)
    keys = [k for k, _, _ in CHAPTERS]
    for key in only or []:
        check_choice("chapter", key, keys)
    # before any chapter: a misspelt or absent device would fail each chapter in turn
    resolve_device(check_device_name(device))
    report = Report(out_dir, "dlcourse tour")
    report.text(
        "Every lesson of the course, run end to end on real data that installs offline, "
        f"with {'quick test-sized' if quick else 'CPU-sized'} settings. "
        "Figures are beside this file."
    )
    results: list[ChapterResult] = []
    summary_at = len(report.blocks)
    for key, module_name, title in CHAPTERS:
        if only and key not in only:
            continue
        start = time.perf_counter()
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                results.append(ChapterResult(key, "missing", 0.0, "lesson not built yet"))
                continue
            raise
        log.info("tour: %s", title)
        chapter_dir = out_dir / key
        chapter_dir.mkdir(parents=True, exist_ok=True)
        try:
            module.run(report, chapter_dir, quick=quick, device=device)
            results.append(ChapterResult(key, "ok", time.perf_counter() - start))
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one chapter's failure must not hide the others
            log.error("tour: chapter %s failed: %s", key, exc)
            log.debug("%s", traceback.format_exc())
            report.section(title)
            report.text(f"This chapter failed: `{type(exc).__name__}: {exc}`")
            results.append(ChapterResult(key, "failed", time.perf_counter() - start, str(exc)))
        log.info("tour: %s done in %.0f s", key, time.perf_counter() - start)
        _write_with_summary(report, summary_at, results)
    return _write_with_summary(report, summary_at, results), results


def _write_with_summary(report: Report, at: int, results: list[ChapterResult]) -> Path:
    blocks = report.blocks
    summary = Report(report.out_dir, report.title)
    summary.section("Summary")
    summary.table(
        [
            {
                "chapter": r.key,
                "status": r.status,
                "seconds": round(r.seconds, 1),
                "note": r.error[:120],
            }
            for r in results
        ]
    )
    report.blocks = blocks[:at] + summary.blocks + blocks[at:]
    try:
        return report.write()
    finally:
        report.blocks = blocks
