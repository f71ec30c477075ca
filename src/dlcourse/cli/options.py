"""Command-line options generated from a lesson's config dataclass: each field becomes an option
with the config's default and help, typed loosely (numbers, comma lists, "none") so that
``Config.validate`` stays the one place that refuses a value.

No heavy imports here (no torch, no numpy): ``dlcourse <noun> --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from dlcourse.errors import ConfigError, DlcourseError

NONE_WORDS = ("none", "null")  # how a user sets an optional setting to None: --max-len none


class _Unset:
    """The value of an option the user did not give (the config's default applies)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()
_NONE = object()  # the user typed "none"


class ConfigValue(click.ParamType):
    """A number, string or comma list typed for one config field; "none" means None where the
    field allows it, and so does "all" for a limit (``unlimited``: a ``max_*`` field, whose None
    is no limit, as ``--limit all`` elsewhere). Range and choice checks are left to
    ``Config.validate`` (one place)."""

    def __init__(self, kind: type, optional: bool, choices: Sequence | None = None,
                 item: type | None = None, unlimited: bool = False):
        self.kind, self.optional, self.choices, self.item = kind, optional, choices, item
        self.unlimited = unlimited
        self.name = kind.__name__

    def get_metavar(self, param, ctx=None) -> str:  # click 8.2 passes ctx
        if self.choices:  # "none" too where the field may be None
            shown = [*map(str, self.choices), *(["none"] if self.optional else [])]
            return "[" + "|".join(dict.fromkeys(shown)) + "]"
        return {int: "INT", float: "NUMBER", str: "TEXT", tuple: "LIST", list: "LIST"}.get(
            self.kind, "VALUE")

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        text = value.strip()
        if self.optional and (text.lower() in NONE_WORDS
                              or (self.unlimited and text.lower() == "all")):
            return _NONE
        try:
            if self.kind is int:
                return int(text)
            if self.kind is float:
                return float(text)
            if self.kind in (tuple, list):
                if text.lower() in NONE_WORDS:  # as every option spells "nothing"
                    return ()
                parts = [p.strip() for p in text.split(",")] if text else []
                if not all(parts):  # ',' or 'a,,b' is a slip, not an empty list
                    self.fail(f"{value!r} has an empty item; separate items with single commas "
                              "(an empty value '' gives none)", param, ctx)
                return tuple((self.item or str)(p) for p in parts)
        except ValueError:
            noun = {int: "an integer", float: "a number"}.get(self.kind, "a comma-separated list")
            extra = " or all" if self.unlimited else " or none" if self.optional else ""
            self.fail(f"{value!r} is not {noun}{extra}", param, ctx)
        return text


def given_value(value: Any) -> Any:
    """A typed option's value as the config takes it (None for "none"), or UNSET when the
    option was not given."""
    if value is None or value is UNSET:
        return UNSET
    return None if value is _NONE else value


#: ``click.Context.meta`` key of the command line as typed (set by ``dlcourse.cli.main``)
ARGS_KEY = "dlcourse.args"


def last_typed(opts: Sequence[str], args: list[str]) -> str | None:
    """The long spelling among ``opts`` typed last in ``args`` (the value click keeps)."""
    seen = [(i, o) for i, a in enumerate(args) for o in opts
            if o.startswith("--") and (a == o or a.startswith(o + "="))]
    return max(seen)[1] if seen else None


def typed_value(spelling: str, args: list[str]) -> str | None:
    """The text typed after the last ``spelling`` in ``args`` (``--limit all``, ``--limit=all``)."""
    for i in range(len(args) - 1, -1, -1):
        if args[i].startswith(spelling + "="):
            return args[i][len(spelling) + 1:]
        if args[i] == spelling:
            return args[i + 1] if i + 1 < len(args) else None
    return None


def option_name(field: str, rename: dict[str, str | tuple[str, ...]] | None = None) -> str:
    """The command-line spelling of a config field: ``num_layers`` -> ``--num-layers`` (the
    long spelling where ``rename`` gives several, e.g. ``("-t", "--tokenizer")``)."""
    spelling = (rename or {}).get(field, "--" + field.replace("_", "-"))
    if isinstance(spelling, tuple):
        return next((s for s in spelling if s.startswith("--")), spelling[-1])
    return spelling


def option_error(exc: ConfigError,
                 rename: dict[str, str | tuple[str, ...]] | None = None,
                 fields: Sequence[str] = ()) -> DlcourseError:
    """A config's error as the command line says it: its field named as the option
    (``batch_size 5 ...`` -> ``--batch-size 5 ...``), and the other ``fields`` (the command's
    options) it names too: as words where they are identifiers (``embed_dim == hidden_dim``
    -> ``--embed-dim == --hidden-size``), else where a value follows (``model=embedding``)."""
    message = str(exc)
    if exc.field:
        message = option_named(message, exc.field, option_name(exc.field, rename))
    for field in fields:
        if field != exc.field:
            after = r"(?![\w-])" if "_" in field else r"=(?![{\[])"
            message = re.sub(rf"(?<![\w-]){re.escape(field)}{after}",
                             lambda m, name=option_name(field, rename):
                             name + " " * m[0].endswith("="), message)
    return DlcourseError(message)


def option_named(message: str, field: str, name: str, as_word: bool = True) -> str:
    """``message`` with the config field ``field`` named as the option ``name``: at its start
    (``batch_size 5 ...`` -> ``--batch-size 5 ...``), or where a value is shown as typed
    (``trained with lr=0.5`` -> ``trained with --lr 0.5``; a dict value, such as lm's
    tokenizer settings, is no value typed). With ``as_word``, else its first mention as a word
    ("m" does not rename the "m" of "map")."""
    if re.match(rf"{re.escape(field)}\b", message):
        return name + message[len(field):]
    word = r"|\b" if as_word else ""
    return re.sub(rf"(?<![\w-]){re.escape(field)}(?:=(?![{{\[]){word})",
                  lambda m: name + " " * m[0].endswith("="), message, count=int(as_word))


def _spellings(field: str, rename: dict | None) -> tuple[str, ...]:
    spelling = (rename or {}).get(field, "--" + field.replace("_", "-"))
    return spelling if isinstance(spelling, tuple) else (spelling,)


class ConfigOptions:
    """Click options generated from a config dataclass, and the config built from their values.

    Args:
        config_class: the lesson's Config subclass.
        exclude: fields the command sets itself (e.g. ``m``/``n`` from ``--grid``).
        rename: field -> option spelling, e.g. ``{"num_layers": "--layers"}``, or several
            spellings, e.g. ``{"tokenizer": ("-t", "--tokenizer")}``.
        defaults: field -> default for this command only (e.g. a smaller model for a demo);
            normally empty so the config's default applies.
        shown: field -> what the help says the default is, where the command finds it at run
            time (e.g. ``"the model's"``: a column a trained model remembers).

    Example::

        TRAIN = ConfigOptions(SOMConfig, exclude=("m", "n"))

        @group.command()
        @TRAIN
        def train(data, out, **options):
            config = TRAIN.build(options, m=rows, n=cols)   # validated; one-line errors
    """

    def __init__(self, config_class: type, *, exclude: Iterable[str] = (),
                 rename: dict[str, str | tuple[str, ...]] | None = None,
                 defaults: dict[str, Any] | None = None, shown: dict[str, str] | None = None):
        self.config_class = config_class
        self.rename = dict(rename or {})
        self.defaults = dict(defaults or {})
        self.shown = dict(shown or {})
        excluded = set(exclude)
        self.fields = [f for f in dataclasses.fields(config_class)
                       if f.metadata.get("cli", True) and f.name not in excluded]

    def __call__(self, command: Callable) -> Callable:
        hints = typing.get_type_hints(self.config_class)
        base = self.config_class()
        for f in reversed(self.fields):  # click applies decorators bottom-up
            command = self._option(f, hints[f.name], getattr(base, f.name))(command)
        return command

    def _option(self, f: dataclasses.Field, hint: Any, default: Any) -> Callable:
        from dlcourse.engine.config import _allowed_types

        kinds, optional = _allowed_types(hint)
        meta = f.metadata
        default = self.defaults.get(f.name, default)
        unlimited = optional and f.name.startswith("max_")  # None is no limit: "all"
        shown = self.shown.get(f.name) or ("all" if unlimited and default is None
                                           else _show(default))
        help_ = (meta.get("help") or "").rstrip()
        help_ = f"{help_} [default: {shown}]" if help_ else f"[default: {shown}]"
        name = option_name(f.name, self.rename)
        spellings = _spellings(f.name, self.rename)
        if bool in kinds and len(kinds) == 1:
            flag = name[2:]
            return click.option(f"{name}/--no-{flag}", f.name, default=None, help=help_)
        kind = next((k for k in kinds if k is not bool), str)
        item = None
        if kind in (tuple, list):
            args = typing.get_args(next(a for a in _union_args(hint) if a is not type(None)))
            item = args[0] if args else str
        return click.option(*spellings, f.name,
                            type=ConfigValue(kind, optional, meta.get("choices"), item,
                                             unlimited=unlimited),
                            default=None, help=help_)

    def build(self, values: dict[str, Any], base: Any = None, **fixed: Any):
        """The validated config from the options' ``values`` (others keep their defaults, or
        ``base``'s values, e.g. a preset) and the ``fixed`` fields the command computed itself.

        Raises:
            click.BadParameter: naming the option (the CLI prints one line and exits 2).
        """
        names = {f.name for f in self.fields}
        changes = dict(self.defaults)
        for key, value in values.items():
            if key in names and value is not None and value is not UNSET:
                changes[key] = None if value is _NONE else value
        changes.update(fixed)
        try:
            start = base if base is not None else self.config_class()
            return start.replace(**changes).validate()
        except ConfigError as exc:
            raise option_error(exc, self.rename, [f.name for f in self.fields]) from None

    def pop(self, values: dict[str, Any]) -> dict[str, Any]:
        """Remove this object's options from ``values`` (a command's kwargs); return them."""
        names = {f.name for f in self.fields}
        return {k: values.pop(k) for k in list(values) if k in names}


def _union_args(hint: Any) -> tuple:
    args = typing.get_args(hint)
    return args if typing.get_origin(hint) in (typing.Union, __import__("types").UnionType) \
        else (hint,)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    return str(value)
