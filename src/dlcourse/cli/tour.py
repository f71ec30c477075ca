"""`dlcourse tour`: every lesson end to end on offline real data, one report."""

from __future__ import annotations

import time

import click

from dlcourse.cli.common import device_option, optional_out_dir


@click.command("tour")
@click.option(
    "--out",
    "out",
    default=None,
    callback=optional_out_dir,
    help="Run folder (default: runs/tour-<date>-<time>).",
)
@click.option(
    "--only",
    multiple=True,
    help="Run only these chapters (repeatable, or comma-separated): text, embeddings, lm, "
         "classify, vision, som.",
)
@click.option("--quick", is_flag=True, help="Tiny settings: a smoke test in seconds per chapter.")
@device_option
def group(out, only, quick: bool, device: str):
    """Run every lesson's chapter and write report.html and report.md with metrics and plots."""
    from dlcourse.tour import run_tour

    out = out or time.strftime("runs/tour-%Y%m%d-%H%M%S")
    start = time.perf_counter()
    chapters = [name.strip() for value in only for name in value.split(",") if name.strip()]
    path, results = run_tour(out, only=chapters or None, quick=quick, device=device)
    for r in results:
        click.echo(f"  {r.key:<11} {r.status:<8} {r.seconds:6.0f} s  {r.error[:100]}")
    click.echo(f"tour finished in {time.perf_counter() - start:.0f} s; report: {path}")
    if any(r.status == "failed" for r in results):
        raise SystemExit(1)
