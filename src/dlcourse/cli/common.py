"""Options and output helpers shared by the noun modules (no heavy imports here)."""

from __future__ import annotations

from collections.abc import Sequence

import click

device_option = click.option(
    "--device",
    default="auto",
    show_default=True,
    help="auto (GPU when present), cpu, cuda, cuda:N or mps.",
)
seed_option = click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
out_option = click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output directory (created if needed).",
)
resume_option = click.option("--resume", is_flag=True, help="Continue from OUT/last.pt.")


def echo_table(
    rows: Sequence[dict], columns: Sequence[str] | None = None, floatfmt: str = ".4g"
) -> None:
    """Print rows of dicts as an aligned plain-text table."""
    if not rows:
        click.echo("(nothing)")
        return
    columns = list(columns or dict.fromkeys(k for row in rows for k in row))

    def fmt(value) -> str:
        return format(value, floatfmt) if isinstance(value, float) else str(value)

    cells = [[fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def parse_grid(value: str) -> tuple[int, int]:
    """'20x20' -> (20, 20); click.BadParameter otherwise."""
    try:
        m, n = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a grid like 20x20") from None
    if m < 1 or n < 1:
        raise click.BadParameter(f"{value!r}: both sides must be >= 1")
    return m, n
