"""Verbs that still take the options older scripts used for their arguments.

``@group.command(cls=OldSpellings, old_spellings=("--model", "--data"))`` names, for each of
the verb's arguments in order, the option (or a tuple of alternative options) that once gave
it: ``vision evaluate --model DIR --data SET`` then runs as ``vision evaluate DIR SET``, with a
one-line note when the command ends well (see :func:`~dlcourse.cli.common.note_deprecated`).
An argument given both ways, an old option twice, or a bad value under an old spelling (a DATA
that does not exist) is one error line, with no note (a rewrite before parsing printed the
note, then click's "unexpected extra argument"; a note printed at parsing came before the
command's own "error: DATA ... does not exist").
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from dlcourse.cli.common import note_deprecated


class OldSpellings(click.Command):
    """A click command whose arguments may also come from their old options (see the module)."""

    def __init__(self, *args, old_spellings: Sequence[str | tuple[str, ...]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.old_spellings = tuple((s,) if isinstance(s, str) else tuple(s)
                                   for s in old_spellings)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args, old, moved = _move_old_options(ctx, self, list(args))
        rest = super().parse_args(ctx, args)
        if old:  # printed when the command ends well: a refused value is one error line
            note_deprecated(" ".join(old), f"'{ctx.command_path} {' '.join(moved)} ...'")
        return rest


def _move_old_options(ctx: click.Context, command: OldSpellings, args: list[str]
                      ) -> tuple[list[str], list[str], list[str]]:
    """(args with the old options' values as arguments, the old options used, the arguments
    that fill their places); ``args`` unchanged when no old option is used."""
    place_of = {o: i for i, spellings in enumerate(command.old_spellings) for o in spellings}
    params = command.get_params(ctx)
    valued = {o for p in params if isinstance(p, click.Option) and not (p.is_flag or p.count)
              for o in p.opts}
    arguments = [p for p in params if isinstance(p, click.Argument)]
    options, plain, given, spelt, old = [], [], {}, {}, []
    tokens = iter(args)
    for token in tokens:
        name, eq, value = token.partition("=")
        if token == "--":
            plain.extend(tokens)
        elif name in place_of:
            value = value if eq else next(tokens, None)
            place = place_of[name]
            if value is None or place in given:  # click's "No such option" named no cause
                raise click.UsageError(f"{name} given twice ({given[place]}, {value}); give "
                                       f"{_name(arguments[place])} once" if value is not None
                                       else f"{name} needs a value", ctx)
            given[place], spelt[place], old = value, name, [*old, f"{name} {value}"]
        elif token.startswith("-") and token != "-":
            if token not in valued:
                options.append(token)
            elif (value := next(tokens, None)) is None:  # as click says it
                raise click.UsageError(f"Option '{token}' requires an argument.", ctx)
            else:
                options += [token, value]
        else:
            plain.append(token)
    if not given:
        return args, [], []
    moved, free = [], list(plain)
    for place in range(len(command.old_spellings)):
        if place in given or free:
            moved.append(given[place] if place in given else free.pop(0))
        elif place < max(given):
            raise click.UsageError(f"Missing argument '{_name(arguments[place])}'.", ctx)
    twice = next((p for p, v in given.items() if v in plain), None)
    if twice is None and free and arguments[-1].nargs != -1:  # an argument left over
        twice = min(given)
    if twice is not None:
        raise click.UsageError(f"{_name(arguments[twice])} given twice: as an argument and as "
                               f"{spelt[twice]} {given[twice]} (its old spelling); give it "
                               "once, as the argument", ctx)
    # "--" before the arguments: one that starts with "-" stays an argument
    return [*options, "--", *moved, *free], old, moved


def _name(argument: click.Argument) -> str:
    return argument.human_readable_name.strip("[].")   # "[DATA]" -> "DATA"
