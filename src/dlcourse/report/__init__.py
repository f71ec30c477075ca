"""Run reports: :class:`Report` collects sections, text, tables, figures and the commands that
reproduce them, and writes ``report.md`` and a ``report.html`` that opens from any folder.

``python -m dlcourse.report.check RUN_DIR`` opens a written report in headless Chromium, checks
that every figure loads, and saves a screenshot beside it (see :mod:`dlcourse.report.check`).
"""

from __future__ import annotations

from dlcourse.report.builder import Report, shell_quote

__all__ = ["Report", "shell_quote"]
