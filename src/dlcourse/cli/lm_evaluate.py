"""``dlcourse lm evaluate``'s report: which tokens of DATA are scored, the perplexities with
the share of ``<unk>`` beside each, and a note when most of the text is unknown to the model."""

from __future__ import annotations

from pathlib import Path

import click

from dlcourse.cli.tables import echo_table
from dlcourse.lm.config import source_name

#: a share of <unk> this high gets a note: the perplexity then measures little of the text
#: (a small training text leaves 10-25% of its own test split <unk>, so lower is common)
MOSTLY_UNKNOWN = 0.5


def report_evaluation(lm, corpus, data: str, seed: int, max_lines: int | None) -> dict:
    """Print what is scored (stderr), the one-row table (stdout) and, where most tokens are
    ``<unk>``, a note (stderr).

    Args:
        lm: the loaded :class:`~dlcourse.lm.LanguageModel`.
        corpus: DATA encoded with the model's vocabulary.
        data: DATA as checked (a corpus name or a path).
        seed, max_lines: how DATA was split and cut.

    Returns:
        The row, as evaluation.json keeps it: ``valid_ppl``, ``valid_unk``, ``test_ppl``,
        ``test_unk`` (shares of the scored tokens, ``<eos>`` included, from 0 to 1) and
        ``test_tokens``.
    """
    click.echo(scored_line(data, corpus, seed, max_lines), err=True)
    figures = lm.evaluate(corpus)
    unknown = {split: figures[f"{split}_unk"] for split in ("valid", "test")}
    row = {"data": corpus.name, "valid_ppl": figures["valid_ppl"], "valid_unk": unknown["valid"],
           "test_ppl": figures["test_ppl"], "test_unk": unknown["test"],
           "test_tokens": int(corpus.test.numel())}
    # the table shows the shares as percentages, right-aligned under their headers as the
    # numbers beside them are
    shown = {f"{split}_unk": f"{share:.1%}".rjust(len(f"{split}_unk"))
             for split, share in unknown.items()}
    echo_table([{**row, **shown}], floatfmt=".2f")
    mostly = [f"{share:.0%} of the {split}" for split, share in unknown.items()
              if share >= MOSTLY_UNKNOWN]
    if mostly:
        click.echo(f"note: {' and '.join(mostly)} tokens are <unk>, words the model's "
                   "vocabulary lacks: the perplexity mostly says how well it predicts an "
                   "unknown word, not this text; measure on text like its training data "
                   f"({lm.data_name_})", err=True)
    return row


def scored_line(data: str, corpus, seed: int, max_lines: int | None) -> str:
    """Which tokens of DATA are scored and how DATA was split (the corpus's own summary
    counts "training" tokens, which evaluate never reads)."""
    if source_name(data) is not None:
        how = "its valid and test splits"
    elif Path(data).expanduser().is_dir():
        how = "its *valid* and *test* files"
    else:
        how = (f"its valid and test parts: the lines split 80/10/10 by seed {seed}, as "
               "training splits a file")
    if max_lines is not None:
        how += f"; the first {max(1, max_lines // 8):,} lines of each"
    return (f"{data}: scoring {corpus.valid.numel():,} valid and {corpus.test.numel():,} test "
            f"tokens ({how}) in the model's vocabulary of {len(corpus.itos):,} words")
