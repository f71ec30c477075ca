"""Hyper-parameter configs: one dataclass per lesson, the single home of every default.

A config field is declared with :func:`param`, which records its help text, its valid choices
and its range beside the default. :meth:`Config.validate` checks all of them in one place (and
the types), so the Python API and the command line (whose options are generated from the same
fields, see ``dlcourse.cli.options.ConfigOptions``) refuse the same values with the same message.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class ToyConfig(Config):
    ...     epochs: int = param(10, "Passes over the data.", min=1)
    ...     mode: str = param("fast", "How to train.", choices=("fast", "exact"))
    >>> ToyConfig().replace(epochs=0).validate()
    Traceback (most recent call last):
    ...
    dlcourse.errors.ConfigError: epochs must be >= 1, got 0
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
import types
import typing
from typing import Any, ClassVar

from dlcourse.errors import ConfigError, InputError

_MISSING = dataclasses.MISSING
# the largest seed: every generator a run seeds (Python's, numpy's, torch's) takes 0..2**32 - 1
SEED_MAX = 2**32 - 1
#: the most epochs of any trainer: a history entry each, and far past any run (10**12 is a
#: typo that would otherwise train for ever)
MAX_EPOCHS = 100_000
#: the widest layer and the most layers of any network: far above any model a CPU or GPU trains
#: here (a typo of 10**12 hung building the model, or ended in an allocation traceback)
MAX_WIDTH, MAX_LAYERS = 65536, 100


def param(
    default: Any = _MISSING,
    help: str = "",
    *,
    choices: tuple | None = None,
    min: float | None = None,
    max: float | None = None,
    exclusive_min: bool = False,
    cli: bool = True,
    default_factory: Any = _MISSING,
) -> Any:
    """A config field: ``default`` plus the help text, valid ``choices`` and range.

    Args:
        default: the default value (use ``default_factory`` for lists and dicts).
        help: one sentence for ``--help`` and the docs.
        choices: the valid values of a string field (None for free values).
        min, max: inclusive bounds of a number (``exclusive_min`` makes ``min`` strict, e.g.
            a learning rate that must be > 0).
        cli: False keeps the field out of the generated command-line options (objects, or
            settings the CLI sets itself).
    """
    metadata = {"help": help, "choices": choices, "min": min, "max": max,
                "exclusive_min": exclusive_min, "cli": cli}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _allowed_types(hint: Any) -> tuple[tuple[type, ...], bool]:
    """(plain types a field accepts, whether None is allowed) from its annotation."""
    if hint is Any:
        return (), True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        kinds: list[type] = []
        optional = False
        for arg in typing.get_args(hint):
            if arg is type(None):
                optional = True
            else:
                sub, _ = _allowed_types(arg)
                if not sub:
                    return (), True
                kinds.extend(sub)
        return tuple(kinds), optional
    if origin is not None:  # list[int], tuple[int, ...], dict[str, float]
        return (origin,), False
    return ((hint,) if isinstance(hint, type) else ()), False


@dataclasses.dataclass
class Config:
    """Base of every lesson's config dataclass.

    Subclasses declare fields with :func:`param` and may override :meth:`check` for rules that
    involve several fields. Instances are plain data: ``to_dict`` gives JSON values that
    ``from_dict`` turns back into an equal config. ``aliases`` maps the other lessons' names
    of a field to it (``LMConfig``: ``hidden_size`` -> ``hidden_dim``), so a parameter two
    lessons share is accepted under either name; the field's own name is what is stored.
    ``before`` maps each field added since models were first saved to the value a model saved
    without it was trained with (``ClassifierConfig``: ``ngrams`` -> 0): :meth:`from_dict`
    fills it in, and a resume compares against it. ``resume_free`` names the fields a resumed
    run may change (speed, place, where it stops): :meth:`resume_values` leaves them out.
    ``elsewhere`` maps names the peer libraries use that mean something else here, or nothing,
    to what to write instead (``Word2VecConfig``: gensim's ``sg``): the unknown-parameter
    error says it; a key ``"positional N"`` is said when N positional arguments are given
    (``SOMConfig``: MiniSom's third, ``input_len``). Every config with a ``seed`` also takes
    scikit-learn's ``random_state`` for it.
    """

    aliases: ClassVar[dict[str, str]] = {}
    elsewhere: ClassVar[dict[str, str]] = {}
    before: ClassVar[dict[str, Any]] = {}
    resume_free: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def fields(cls) -> tuple[dataclasses.Field, ...]:
        """The dataclass fields, in declaration order."""
        return dataclasses.fields(cls)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def signature(cls, positional: tuple[str, ...] = ()) -> inspect.Signature:
        """An estimator's constructor as these settings: the ``positional`` fields, ``config``,
        then every other field by name, each with its default.

        Args:
            positional: names of fields taken positionally, in order (e.g. MiniSom's ``x, y``);
                each must be a field.
        """
        def parameter(field: dataclasses.Field, kind: Any) -> inspect.Parameter:
            default = (field.default_factory() if field.default_factory is not _MISSING
                       else field.default if field.default is not _MISSING
                       else inspect.Parameter.empty)
            return inspect.Parameter(field.name, kind, default=default, annotation=field.type)

        fields = {field.name: field for field in cls.fields()}
        return inspect.Signature([
            *(parameter(fields[name], inspect.Parameter.POSITIONAL_OR_KEYWORD)
              for name in positional),
            inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, default=None,
                              annotation=f"{cls.__name__} | None"),
            *(parameter(field, inspect.Parameter.KEYWORD_ONLY) for name, field in fields.items()
              if name not in positional)])

    @classmethod
    def hints(cls) -> dict[str, Any]:
        """Resolved type annotations of the fields (cached per class)."""
        cache = cls.__dict__.get("_hints_cache")
        if cache is None:
            cache = typing.get_type_hints(cls)
            cls._hints_cache = cache
        return cache

    @classmethod
    def all_aliases(cls) -> dict[str, str]:
        """:attr:`aliases`, and scikit-learn's ``random_state`` for a config with a ``seed``."""
        common = {"random_state": "seed"} if "seed" in cls.field_names() else {}
        return {**common, **cls.aliases}

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes`` applied; an unknown name raises ConfigError listing the valid
        ones; an alias (:attr:`aliases`) stands for its field. Values are not validated here
        (see :meth:`validate`)."""
        names = self.field_names()
        for alias, name in self.all_aliases().items():
            if alias in changes:
                if name in changes:
                    raise ConfigError(f"{alias} and {name} are one parameter; give it once",
                                      field=name)
                changes[name] = changes.pop(alias)
        unknown = [k for k in changes if k not in names]
        if unknown and unknown[0] in self.elsewhere:
            raise ConfigError(f"unknown parameter {unknown[0]!r} for {type(self).__name__}: "
                              f"{self.elsewhere[unknown[0]]}", field=unknown[0])
        if unknown:
            raise ConfigError(
                f"unknown parameter {unknown[0]!r} for {type(self).__name__}; valid parameters: "
                f"{', '.join(names)}", field=unknown[0])
        return dataclasses.replace(self, **changes)

    def validate(self) -> Config:
        """Check every field's type, choices and range, then :meth:`check`; returns ``self``.

        A setting that may be None takes the word ``"none"`` for it, as the help and the
        command line spell it (``max_len="none"``), unless "none" is one of its choices.

        Raises:
            ConfigError: naming the field, the value and what is allowed.
        """
        hints = self.hints()
        for f in self.fields():
            value = getattr(self, f.name)
            meta = f.metadata
            kinds, optional = _allowed_types(hints[f.name])
            if optional and _spells_none(value, meta.get("choices")):
                value = None  # the word the help and the command line use for None
                setattr(self, f.name, None)
            if value is None:
                if not optional and kinds:
                    raise ConfigError(f"{f.name} must be set (None is not allowed)", f.name)
                continue
            if kinds:
                value = self._coerce(f.name, value, kinds)
            if meta.get("choices") is not None and value not in meta["choices"]:
                none = ", none" if optional else ""  # an optional choice's None is one too
                raise ConfigError(
                    f"unknown {f.name} {value!r}; choose one of "
                    f"{', '.join(map(str, meta['choices']))}{none}", f.name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                self._check_range(f.name, value, meta)
        if isinstance(getattr(self, "device", None), str):  # every lesson spells devices alike
            from dlcourse.engine.accelerator import check_device_name

            check_device_name(self.device)
        self.check()
        return self

    def _coerce(self, name: str, value: Any, kinds: tuple[type, ...]) -> Any:
        """Accept ints for float fields (stored as floats) and numpy scalars (stored as plain
        values: ``np.int64(4)`` from a grid of settings); refuse bools posing as numbers."""
        if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
            value = value.item()
            setattr(self, name, value)
        if isinstance(value, bool) and bool not in kinds:
            raise ConfigError(f"{name} must be {_kind_names(kinds)}, got {value!r}", name)
        if isinstance(value, kinds):
            return value
        if float in kinds and isinstance(value, int):
            setattr(self, name, float(value))
            return float(value)
        if int in kinds and isinstance(value, float) and value.is_integer():
            setattr(self, name, int(value))
            return int(value)
        if tuple in kinds and isinstance(value, list):  # JSON has no tuples
            setattr(self, name, tuple(value))
            return tuple(value)
        raise ConfigError(f"{name} must be {_kind_names(kinds)}, got {value!r}", name)

    @staticmethod
    def _check_range(name: str, value: float, meta: Any) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {value}", name)
        low, high = meta.get("min"), meta.get("max")
        if low is not None:
            if meta.get("exclusive_min") and not value > low:
                raise ConfigError(f"{name} must be > {low}, got {value}", name)
            if not meta.get("exclusive_min") and value < low:
                raise ConfigError(f"{name} must be >= {low}, got {value}", name)
        if high is not None and value > high:
            raise ConfigError(f"{name} must be <= {high}, got {value}", name)

    def check(self) -> None:
        """Rules that involve several fields; raise ConfigError. The base has none."""

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (tuples become lists)."""
        return {f.name: _plain(getattr(self, f.name)) for f in self.fields()}

    def epochs_span(self) -> tuple[str, str] | None:
        """What in a run depends on its number of epochs (a learning-rate schedule that ends
        with the last one), with the settings under which epochs may be added on resume; None
        (the default) when a resumed run may add epochs. See ``check_resume_epochs``."""
        return None

    def idle_settings(self) -> tuple[str, ...]:
        """The fields these settings leave unread (SOM's learning rate under the batch rule):
        the command line notes them when typed and a resumed run may change them. None here."""
        return ()

    def resume_values(self) -> dict[str, Any]:
        """The settings a resumed run must share with the run it continues (plain values):
        :meth:`to_dict` without the :attr:`resume_free` fields and the :meth:`idle_settings`."""
        idle = set(self.resume_free) | set(self.idle_settings())
        return {k: v for k, v in self.to_dict().items() if k not in idle}

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, strict: bool = True) -> Config:
        """Rebuild a config from :meth:`to_dict`'s output.

        With ``strict=False`` keys this version does not know are dropped (a model saved by a
        newer release); with ``strict=True`` they raise ConfigError. A field of :attr:`before`
        that ``values`` lack (a model saved before the field existed) takes its value there.

        Args:
            values: field names (or :attr:`aliases`) to values; missing fields keep defaults.
            strict: refuse unknown keys (True) or drop them (False). Values are not validated.

        Raises:
            ConfigError: an unknown key (with ``strict=True``).
        """
        names = set(cls.field_names())
        if not strict:
            values = {k: v for k, v in values.items() if k in names or k in cls.all_aliases()}
        values = {**cls.before, **values}
        config = cls().replace(**values)
        hints = cls.hints()
        for name in names:  # JSON turned tuples into lists: turn them back (aliases resolved)
            value = getattr(config, name)
            kinds, _ = _allowed_types(hints[name])
            if isinstance(value, list) and tuple in kinds:
                setattr(config, name, tuple(value))
        return config

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every field's default value (what the CLI shows as ``[default: ...]``)."""
        return cls().to_dict()


def _spells_none(value: Any, choices: tuple | None) -> bool:
    """Whether ``value`` is the word "none" (any case) where it is not itself a choice."""
    return (isinstance(value, str) and value.strip().lower() == "none"
            and "none" not in (choices or ()))


def _kind_names(kinds: tuple[type, ...]) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             list: "a list", tuple: "a list", dict: "a mapping"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def whole_number(name: str, value: Any, low: int, high: int | None, wanted: str) -> int:
    """``value`` as a plain ``int``, taken as config int fields take it (``Config._coerce``):
    numpy integers and floats with an integer value (``4.0``) pass.

    Raises:
        InputError: "<name> must be <wanted>, got <value>" for a bool, a fraction, NaN, an
            infinity, text or a number outside ``low`` to ``high`` (``None``: no upper bound).
    """
    number = None
    if isinstance(value, bool):  # True is an int to Python, not a count
        pass
    elif isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():  # False for NaN, inf
        number = int(value)
    if number is None or number < low or (high is not None and number > high):
        raise InputError(f"{name} must be {wanted}, got {value!r}")
    return number
