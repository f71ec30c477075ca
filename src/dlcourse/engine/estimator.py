"""The estimator contract every lesson follows (scikit-learn's conventions, one checkpoint layout).

* One config dataclass per lesson (:class:`~dlcourse.engine.config.Config`) holds every
  hyper-parameter and its default once; the estimator keeps it in ``self.config`` and exposes
  each field as an attribute too (``som.sigma``), so ``get_params``/``set_params`` work.
* ``__init__`` only stores: ``SOM(20, 20, sigma=3)`` or ``SOM(config=SOMConfig(...))``. Values
  are validated when ``fit`` starts (:meth:`Estimator.validated_config`); the CLI validates them
  before any work.
* ``fit`` returns ``self``; learned attributes end in ``_``; using an unfitted estimator raises
  :class:`~dlcourse.errors.NotFittedError`.
* ``save(dir)`` / ``load(dir, device=...)`` are written once here, over ``DIR/model.safetensors``
  (:mod:`dlcourse.engine.persist`). A lesson supplies only :meth:`Estimator._get_state` (plain
  arrays/tensors and JSON values out) and :meth:`Estimator._set_state` (and back in). Loading
  another lesson's model, or weights that do not fit the config, is one clear error.

Nothing here imports torch: SOM and word-vector models save and load without it.
"""

from __future__ import annotations

import logging
import numbers
import os
from pathlib import Path
from typing import Any, ClassVar

from dlcourse import __version__
from dlcourse.engine.accelerator import check_device_name
from dlcourse.engine.config import Config
from dlcourse.engine.distributed import is_main_process
from dlcourse.engine.files import check_out_dir
from dlcourse.engine.interrupt import StopGuard
from dlcourse.engine.persist import (
    check_out_lesson,
    folder_notes,
    model_path,
    read_manifest,
    read_state,
    write_state,
)
from dlcourse.errors import (
    ConfigError,
    DlcourseError,
    IncompatibleModelError,
    InputError,
    NotFittedError,
    a_quoted,
    article,
)


class Estimator:
    """Base class of the lessons' estimators (SOM, Word2Vec, GloVe, LanguageModel,
    TextClassifier, ImageClassifier).

    Subclasses set the class attributes and implement ``fit``, ``_get_state`` and
    ``_set_state``:

    Attributes:
        config_class: the lesson's :class:`Config` subclass.
        lesson: the CLI noun whose ``train`` writes this model ("som", "embed", "lm",
            "classify", "vision"); saved in the model file.
        framework: "numpy" when the state's arrays are numpy arrays (loads without torch),
            "torch" when they are tensors.
        fitted_attribute: a learned attribute that exists once the estimator is fitted.
        positional: config fields that may be given positionally, e.g. ``("m", "n")``.
        load_device: the device :meth:`load` uses when none is asked for: "auto" (a GPU when
            present, else the CPU), so a model trained on a GPU loads on a laptop; None keeps
            the saved setting (for lessons that resolve devices themselves).
        estimator_type: "classifier" for estimators fitted on ``(texts, labels)`` whose
            ``score`` is accuracy (scikit-learn then stratifies its folds), else None.
    """

    config_class: ClassVar[type[Config]]
    lesson: ClassVar[str]
    framework: ClassVar[str] = "numpy"
    fitted_attribute: ClassVar[str]
    positional: ClassVar[tuple[str, ...]] = ()
    load_device: ClassVar[str | None] = "auto"
    estimator_type: ClassVar[str | None] = None  # "classifier": scikit-learn stratifies folds

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        config_class = cls.__dict__.get("config_class")
        if config_class is None:
            return
        for name in config_class.field_names():
            if not any(name in klass.__dict__ for klass in cls.__mro__):
                setattr(cls, name, _config_property(name))
        # the other lessons' names a constructor takes (SOM(lr=...)) read and set their field
        for alias, name in config_class.all_aliases().items():
            if not any(alias in klass.__dict__ for klass in cls.__mro__):
                setattr(cls, alias, _config_property(name))
        # help(), IDEs and scikit-learn read the settings, not (*args, config, **params)
        cls.__signature__ = config_class.signature(cls.positional)

    def __init__(self, *args: Any, config: Config | None = None, **params: Any) -> None:
        if args and isinstance(args[0], Config):  # Estimator(SomeConfig(...), epochs=3)
            if config is not None:
                raise TypeError("pass the config positionally or as config=, not both")
            config, args = args[0], args[1:]
        if len(args) > len(self.positional):
            extra = self.config_class.elsewhere.get(f"positional {len(self.positional) + 1}")
            name = type(self).__name__
            many = len(self.positional)
            takes = (f"takes at most {many} positional argument{'s' * (many > 1)} "
                     f"({', '.join(self.positional)}); pass the others by name" if many
                     else f"takes settings by name only, e.g. {name}("
                     f"{self.config_class.field_names()[0]}=...)")
            raise TypeError(f"{name} {takes}" + (f" ({extra})" if extra else ""))
        for name, value in zip(self.positional, args):
            if name in params:
                raise TypeError(f"{name} given both positionally and by name")
            if value is not None and not isinstance(value, str | numbers.Number | os.PathLike):
                # Word2Vec(sentences, ...) as in gensim, SOM(X), LanguageModel(corpus),
                # ImageClassifier(dataset): data where a setting (a name or a number) goes
                raise TypeError(f"{type(self).__name__}(...) takes settings only ({name} got "
                                f"{type(value).__name__}); pass the data to fit: "
                                f"{type(self).__name__}(...).fit(data)")
            params[name] = value
        self._config_error = None
        config = self._stored_config(config)
        self.config = (self.config_class() if config is None else config).replace(**params)

    def _stored_config(self, config: Any) -> Config | None:
        """``config`` when it is the lesson's config class, else None with the error kept for
        :meth:`validated_config`: ``__init__`` and ``set_params`` only store (scikit-learn's
        rule, which its ``check_estimator`` tries with ``config=-1``)."""
        if config is None or isinstance(config, self.config_class):
            self._config_error = None
            return config
        self._config_error = ConfigError(f"{type(self).__name__} needs a "
                                         f"{self.config_class.__name__}, got "
                                         f"{type(config).__name__}")
        return None

    # ------------------------------------------------------------------ parameters
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyper-parameters as a dict (``deep`` is accepted for scikit-learn tools).

        Args:
            deep: ignored (there are no nested estimators).
        """
        return {name: getattr(self.config, name) for name in self.config.field_names()}

    def set_params(self, **params: Any) -> Estimator:
        """Change hyper-parameters (unknown names raise ConfigError); returns ``self``.

        The new values are validated by the next ``fit`` (or by :meth:`validated_config`);
        ``config=`` replaces the whole config first.
        """
        if "config" in params:
            self.config = self._stored_config(params.pop("config")) or self.config
        self.config = self.config.replace(**params)
        return self

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags (its model selection reads them: ``clone``, ``GridSearchCV``,
        ``cross_val_score``), built only when scikit-learn asks for them."""
        from sklearn.utils import ClassifierTags, Tags, TargetTags, TransformerTags

        classifier = self.estimator_type == "classifier"
        return Tags(estimator_type=self.estimator_type,
                    target_tags=TargetTags(required=classifier),
                    classifier_tags=ClassifierTags() if classifier else None,
                    # SOM.transform: distances to the units, as KMeans.transform
                    transformer_tags=TransformerTags() if hasattr(self, "transform") else None)

    def validated_config(self, out_dir: str | os.PathLike | None = None,
                         resume: bool = False, later_notes: bool = False) -> Config:
        """``self.config`` after :meth:`Config.validate`, and ``fit``'s ``out_dir`` checked
        (call this first thing in ``fit``): ``resume`` needs one, and it must not hold another
        lesson's model (see :func:`check_out_lesson`). A refit of a loaded model starts with
        empty ``metadata_`` unless the caller set new ones.

        What the folder holds (a finished run, an interrupted run's checkpoint, a killed run's
        temporary files) is said at once, or with ``later_notes`` when :meth:`say_folder_notes`
        is called: after the checks of data that ``fit`` reads itself, so that a refused corpus
        gets its one error line alone.

        Args:
            out_dir: ``fit``'s run folder, or None (nothing written).
            resume: ``fit``'s ``resume``: continue the run in ``out_dir``.
            later_notes: keep the folder notes for :meth:`say_folder_notes`.

        Raises:
            ConfigError: an invalid setting or config, or ``resume`` without ``out_dir``.
            InputError: ``out_dir`` cannot be a writable folder, or holds another lesson's model.
        """
        if getattr(self, "_config_error", None) is not None:
            raise self._config_error
        config = self.config.validate()
        check_resume_dir(resume, out_dir)
        self._folder_notes: list[tuple[int, str]] = []
        if out_dir is not None:
            check_out_dir(out_dir, "out_dir")  # a file there failed only when the run ended
            check_out_lesson(Path(out_dir), self.lesson)
            self._folder_notes = folder_notes(Path(out_dir), resume)
        if not later_notes:
            self.say_folder_notes()
        if getattr(self, "metadata_", None) is getattr(self, "_loaded_metadata", False):
            # a loaded model's metadata (the CLI's scaler, the data's name) describe the data it
            # was trained on, not this fit's: dropped unless the caller set new ones
            self.metadata_ = {}
        return config

    def say_folder_notes(self) -> None:
        """Log what :meth:`validated_config` found in the run folder (once, and under torchrun
        on rank 0 alone: every process sees the same folder)."""
        from dlcourse.engine.distributed import is_main_process

        for level, message in getattr(self, "_folder_notes", []) if is_main_process() else ():
            logging.getLogger("dlcourse").log(level, message)
        self._folder_notes = []

    # ------------------------------------------------------------------ fitted state
    @property
    def is_fitted(self) -> bool:
        """True after ``fit`` or ``load``."""
        return hasattr(self, self.fitted_attribute)

    def check_is_fitted(self) -> None:
        """Raise NotFittedError unless the estimator has been fitted or loaded."""
        if not self.is_fitted:
            name = type(self).__name__
            raise NotFittedError(f"this {name} is not fitted yet; call fit(...) first or "
                                 f"load a trained one with {name}.load(directory)")

    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(arrays, values): the learned arrays/tensors by name and plain JSON values."""
        raise NotImplementedError

    def _set_state(self, arrays: dict[str, Any], values: dict[str, Any]) -> None:
        """Restore what :meth:`_get_state` returned into a fresh estimator built from the saved
        config (``self.config.device`` says where tensors go)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``directory/model.safetensors`` (arrays + config + state); returns its path.

        :meth:`load` needs nothing else: no data, no download. ``self.metadata_`` (plain values
        such as the CLI's scaler or column names) is saved too. Under torchrun only rank 0
        writes (the ranks hold the same model).

        Args:
            directory: the model folder (created if missing), or a ``.safetensors`` file path.

        Raises:
            NotFittedError: before ``fit``.
            DlcourseError: ``directory`` holds another lesson's model (the two runs' files
                would mix; a model of this lesson is replaced).
        """
        self.check_is_fitted()
        if not str(directory).strip():  # Path("") is the working folder
            raise InputError("directory is empty; name a folder, e.g. save('runs/x')")
        path = model_path(directory)
        check_out_dir(path.parent, "directory")
        check_out_lesson(path.parent, self.lesson, "directory")
        if not is_main_process():
            return path
        arrays, values = self._get_state()
        manifest = {"lesson": self.lesson, "estimator": type(self).__name__,
                    "dlcourse_version": __version__, "config": self.config.to_dict(),
                    "state": values, "metadata": dict(getattr(self, "metadata_", {}) or {})}
        return write_state(path, manifest, arrays)

    def _one_step_fit(self, out_dir: str | os.PathLike | None, resume: bool) -> Config:
        """:meth:`validated_config` for a ``fit`` that trains in one step (counts, L-BFGS):
        it writes no checkpoint, so ``resume`` is refused; ``out_dir`` gets the model at the
        end (:meth:`_save_run`), as every lesson's ``fit`` writes it."""
        if resume:
            raise InputError(f"{type(self).__name__} trains in one step and writes no "
                             "checkpoint: nothing to resume; fit again")
        return self.validated_config(out_dir)

    def _save_run(self, out_dir: str | os.PathLike) -> None:
        """:meth:`save` at the end of ``fit(..., out_dir=...)``: a Ctrl-C meanwhile waits for
        the model file (the run has finished; a stop would leave only its checkpoint)."""
        with StopGuard(at_end=True):
            self.save(out_dir)

    @classmethod
    def load(cls, directory: str | os.PathLike, device: str | None = None) -> Estimator:
        """A fitted estimator from a directory written by :meth:`save` (or its model file).

        Args:
            directory: the model directory (or ``.../model.safetensors``).
            device: where to put the model ("cpu", "cuda", "auto"); default
                :attr:`load_device`.

        Raises:
            DlcourseError: the file is missing or damaged.
            IncompatibleModelError: it holds another lesson's model, or arrays that do not fit.
        """
        path = model_path(directory)
        manifest = read_manifest(path)
        if manifest.get("kind") == "checkpoint":  # last.safetensors given for the model
            raise DlcourseError(f"{path} is a training checkpoint, not the trained model; pass "
                                f"the run's folder {path.parent}")
        check_compatible(manifest, cls, directory)
        config = cls.config_class.from_dict(manifest.get("config") or {}, strict=False)
        if device is not None:  # a misspelling is refused here, in every lesson
            device = check_device_name(device)
        device = device if device is not None else cls.load_device
        if device is not None and "device" in config.field_names():
            config = config.replace(device=device)
        estimator = cls(config=config)
        _, arrays = read_state(path, cls.framework)
        estimator.metadata_ = dict(manifest.get("metadata") or {})
        estimator._loaded_metadata = estimator.metadata_  # see validated_config
        try:
            estimator._set_state(arrays, manifest.get("state") or {})
        except KeyError as exc:
            raise IncompatibleModelError(
                f"{path} lacks the array {exc.args[0]!r} that {cls.__name__} needs; it was "
                "written by another version: train it again") from exc
        return estimator

    def __repr__(self) -> str:
        defaults = self.config_class()
        changed = [f"{name}={getattr(self.config, name)!r}" for name in self.config.field_names()
                   if getattr(self.config, name) != getattr(defaults, name)]
        return f"{type(self).__name__}({', '.join(changed)})"


def _config_property(name: str) -> property:
    def get(self: Estimator) -> Any:
        return getattr(self.config, name)

    def set_(self: Estimator, value: Any) -> None:
        self.config = self.config.replace(**{name: value})

    return property(get, set_, doc=f"The ``{name}`` hyper-parameter (stored in ``config``).")


def check_compatible(manifest: dict[str, Any], cls: type[Estimator],
                     where: str | os.PathLike) -> None:
    """Raise IncompatibleModelError unless ``manifest`` describes a ``cls`` model."""
    lesson, estimator = manifest.get("lesson"), manifest.get("estimator")
    if lesson == cls.lesson and estimator == cls.__name__:
        return
    if lesson == cls.lesson:
        raise IncompatibleModelError(
            f"{where} holds {article(estimator)} {estimator} model, not {article(cls.__name__)} "
            f"{cls.__name__}; load it with {estimator}.load")
    raise IncompatibleModelError(
        f"{where} holds {a_quoted(lesson)} model ({estimator}), not {article(cls.__name__)} "
        f"{cls.__name__}; pass a "
        f"directory written by 'dlcourse {cls.lesson} train'")


def check_resume_dir(resume: bool, out_dir: str | os.PathLike | None) -> None:
    """Refuse ``fit(..., resume=True)`` without the ``out_dir`` of the run to continue (every
    lesson's trainer asks this one question first).

    Raises:
        ConfigError: ``resume`` without ``out_dir`` (a ValueError too).
    """
    if resume and out_dir is None:
        raise ConfigError("resume=True needs the out_dir of the run to continue", "resume")


def module_arrays(module: Any, prefix: str = "model.") -> dict[str, Any]:
    """A torch module's state dict as ``{prefix + name: tensor}`` (for ``_get_state``)."""
    return {prefix + key: value for key, value in module.state_dict().items()}


def load_module_arrays(module: Any, arrays: dict[str, Any], prefix: str = "model.",
                       where: str = "the model file") -> None:
    """Load the ``prefix``-ed tensors of ``arrays`` into ``module`` (strictly).

    Raises:
        IncompatibleModelError: names or shapes do not match the module built from the config.
    """
    state = {key[len(prefix):]: value for key, value in arrays.items() if key.startswith(prefix)}
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise IncompatibleModelError(
            f"the weights in {where} do not fit the model its config describes ({detail[:200]}); "
            "the file was edited or written by another version: train it again") from exc
