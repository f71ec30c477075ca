"""The estimator contract: configs validate in one place, get/set_params, not-fitted errors,
one model file that loads without torch, and clear errors for another lesson's or a damaged
model."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest

from dlcourse.engine.config import Config, param
from dlcourse.engine.estimator import Estimator
from dlcourse.errors import ConfigError, DlcourseError, IncompatibleModelError, NotFittedError


@dataclass
class ToyConfig(Config):
    m: int = param(3, "Rows.", min=1)
    n: int = param(4, "Columns.", min=1)
    lr: float = param(0.5, "Step size.", min=0, exclusive_min=True)
    mode: str = param("mean", "How to combine.", choices=("mean", "sum"))
    sigma: float | None = param(None, "Radius (None: automatic).", min=0, exclusive_min=True)
    widths: tuple[int, ...] = param((3, 4), "Filter widths.")

    def check(self) -> None:
        if self.mode == "sum" and self.sigma is None:
            raise ConfigError("mode 'sum' needs sigma", "sigma")


class Toy(Estimator):
    """A mean of the data times a learned grid: enough state to save and load."""

    config_class = ToyConfig
    lesson = "toy"
    fitted_attribute = "weights_"
    positional = ("m", "n")

    def fit(self, X):
        c = self.validated_config()
        self.weights_ = np.full((c.m, c.n), float(np.mean(X)), dtype=np.float32)
        self.history_ = [{"epoch": 1, "loss": 0.25}]
        return self

    def _get_state(self):
        return {"weights": self.weights_}, {"history": self.history_}

    def _set_state(self, arrays, values):
        self.weights_ = arrays["weights"]
        self.history_ = values["history"]


class OtherToy(Toy):
    lesson = "other"


def test_init_only_stores_and_params_round_trip():
    toy = Toy(5, 6, lr=2)
    assert (toy.m, toy.n, toy.lr) == (5, 6, 2)
    assert toy.get_params()["mode"] == "mean"
    assert toy.set_params(mode="sum", sigma=1.5) is toy and toy.config.sigma == 1.5
    toy.sigma = 2.0
    assert toy.get_params()["sigma"] == 2.0
    assert Toy(-1).m == -1  # stored, refused only when used
    assert Toy(config=ToyConfig(m=2)).m == 2 and Toy(ToyConfig(n=7), m=1).n == 7
    assert repr(Toy(5)) == "Toy(m=5)"


@pytest.mark.parametrize("params, match", [
    ({"m": 0}, "m must be >= 1, got 0"),
    ({"lr": 0}, "lr must be > 0"),
    ({"lr": float("nan")}, "lr must be a finite number"),
    ({"mode": "median"}, "unknown mode 'median'; choose one of mean, sum"),
    ({"m": True}, "m must be an integer"),
    ({"m": "3"}, "m must be an integer"),
    ({"mode": "sum"}, "mode 'sum' needs sigma"),
    ({"widths": "3,4"}, "widths must be a list"),
])
def test_fit_refuses_bad_values_in_one_place(params, match):
    with pytest.raises(ConfigError, match=match):
        Toy(**params).fit([1.0])


def test_numpy_scalars_are_taken_as_plain_values():
    """Settings drawn from a numpy grid (np.int64, np.float32) validate and save as plain JSON."""
    toy = Toy(np.int64(2), n=np.int32(3), lr=np.float32(0.25), sigma=np.float64(1.0),
              mode=np.str_("sum")).fit([1.0])
    values = toy.config.to_dict()
    assert values["m"] == 2 and values["lr"] == 0.25 and values["mode"] == "sum"
    assert [type(values[k]) for k in ("m", "n", "lr", "sigma", "mode")] == [int, int, float,
                                                                             float, str]
    with pytest.raises(ConfigError, match="m must be an integer"):
        Toy(np.float64(2.5)).fit([1.0])


def test_the_word_none_is_none_where_a_setting_may_be_none():
    """The help says "none: automatic" and the command line takes none; Python took the word
    for a value ("sigma must be a number, got 'none'")."""
    toy = Toy(sigma="None").fit([1.0])
    assert toy.config.sigma is None and toy.config.to_dict()["sigma"] is None
    with pytest.raises(ConfigError, match="m must be an integer, got 'none'"):
        Toy(m="none").fit([1.0])  # m may not be None: the word stays a wrong value


def test_the_word_none_in_every_lesson():
    from dlcourse.classify import ClassifierConfig
    from dlcourse.lm import LMConfig
    from dlcourse.som import SOMConfig

    assert ClassifierConfig(max_len="none", grad_clip=" none").validate().max_len is None
    assert ClassifierConfig(pretrained="none").validate().pretrained is None
    assert SOMConfig(sigma="none").validate().sigma is None
    assert LMConfig(eval_batch_size="none").validate().eval_batch_size is None


def test_unknown_parameter_names_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown parameter 'sigm'.*sigma"):
        Toy(sigm=1)
    with pytest.raises(TypeError, match="at most 2 positional"):
        Toy(1, 2, 3)


def test_not_fitted_is_one_error_type():
    with pytest.raises(NotFittedError, match="not fitted yet.*Toy.load"):
        Toy().save("anywhere")
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


def test_save_load_round_trip_with_metadata_and_permissions(tmp_path):
    toy = Toy(2, 3, mode="sum", sigma=1.0).fit([1.0, 3.0])
    toy.metadata_ = {"columns": ["a", "b"]}
    old = os.umask(0o022)
    try:
        path = toy.save(tmp_path / "run")
    finally:
        os.umask(old)
    assert path == tmp_path / "run" / "model.safetensors"
    assert path.stat().st_mode & 0o777 == 0o644
    back = Toy.load(tmp_path / "run")
    assert np.array_equal(back.weights_, toy.weights_) and back.config == toy.config
    assert back.history_ == toy.history_ and back.metadata_ == {"columns": ["a", "b"]}
    assert Toy.load(path).config.widths == (3, 4)  # tuples survive JSON


def test_numpy_models_load_without_torch(tmp_path):
    Toy(2, 2).fit([1.0]).save(tmp_path / "run")
    code = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # any import of torch now fails
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_estimator import Toy
        toy = Toy.load({str(tmp_path / "run")!r})
        print(toy.weights_.sum())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "4.0"


def test_numpy_values_in_metadata_are_saved_as_lists(tmp_path):
    # an array in metadata_ made save fail with "Object of type ndarray is not JSON serializable"
    toy = Toy(2, 2).fit([1.0])
    toy.metadata_ = {"scale": np.array([1.5, 2.0]), "n": np.int64(3)}
    assert Toy.load(toy.save(tmp_path / "toy").parent).metadata_ == {"scale": [1.5, 2.0],
                                                                      "n": 3}
    toy.metadata_ = {"when": object()}
    with pytest.raises(TypeError, match="object .* cannot be saved in a model file"):
        toy.save(tmp_path / "other")


def test_another_lessons_model_and_damaged_files_are_clear_errors(tmp_path):
    Toy(2, 2).fit([1.0]).save(tmp_path / "toy")
    with pytest.raises(IncompatibleModelError, match="holds a 'toy' model.*dlcourse other train"):
        OtherToy.load(tmp_path / "toy")
    with pytest.raises(FileNotFoundError, match="does not exist"):  # MissingFileError
        Toy.load(tmp_path / "missing")
    # a run's checkpoint file given for its folder: it said ".../best.pt/model.safetensors
    # does not exist"
    (tmp_path / "toy" / "best.pt").write_bytes(b"PK")
    with pytest.raises(ValueError, match=r"best.pt is a file, not a model folder .*; pass the "
                                         r"run's folder"):
        Toy.load(tmp_path / "toy" / "best.pt")
    # save never writes over another lesson's model (fit's out_dir refused it; save did not)
    before = (tmp_path / "toy" / "model.safetensors").read_bytes()
    with pytest.raises(DlcourseError, match=r"directory .*toy holds a 'toy' model, not an "
                                            r"'other' one"):
        OtherToy(2, 2).fit([2.0]).save(tmp_path / "toy")
    assert (tmp_path / "toy" / "model.safetensors").read_bytes() == before
    Toy(2, 2).fit([3.0]).save(tmp_path / "toy")  # the same lesson's model is replaced
    data = (tmp_path / "toy" / "model.safetensors").read_bytes()
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(DlcourseError, match="damaged|not a dlcourse model"):
        Toy.load(tmp_path / "cut")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "model.safetensors").write_bytes(os.urandom(64))
    with pytest.raises(DlcourseError, match="not a dlcourse model file"):
        Toy.load(tmp_path / "junk")


def test_a_failed_save_keeps_the_previous_model(tmp_path, monkeypatch):
    toy = Toy(2, 2).fit([1.0])
    toy.save(tmp_path / "run")
    before = (tmp_path / "run" / "model.safetensors").read_bytes()
    toy.weights_ = toy.weights_ + 1

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.numpy.save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        toy.save(tmp_path / "run")
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["model.safetensors"]


def test_auto_means_the_cpu_without_torch_where_no_gpu_can_be(monkeypatch):
    from dlcourse.engine import accelerator

    monkeypatch.setattr(accelerator.os.path, "exists", lambda path: False)
    monkeypatch.setattr(accelerator.sys, "platform", "linux")
    assert accelerator.is_cpu_spec("auto") and accelerator.is_cpu_spec(None)
    assert accelerator.is_cpu_spec("cpu") and not accelerator.is_cpu_spec("cuda:0")
    monkeypatch.setattr(accelerator.os.path, "exists", lambda path: path == "/dev/nvidia0")
    assert not accelerator.is_cpu_spec("auto")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert accelerator.is_cpu_spec("auto")


def test_a_file_cut_in_its_arrays_is_damaged_and_an_unreadable_one_is_not(tmp_path,
                                                                         monkeypatch):
    """Only what says the file is damaged is called damaged: a permission or disk error was
    "the file is damaged, train or save the model again" too (every exception was)."""
    import safetensors.numpy

    Toy(2, 2).fit([1.0]).save(tmp_path / "toy")
    data = (tmp_path / "toy" / "model.safetensors").read_bytes()
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "model.safetensors").write_bytes(data[:-8])  # the header is whole
    with pytest.raises(DlcourseError, match="the file is damaged, train or save the model"):
        Toy.load(tmp_path / "cut")

    def refused(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(safetensors.numpy, "load_file", refused)
    with pytest.raises(DlcourseError, match=r"cannot read .*model.safetensors: Permission "
                                            r"denied$"):
        Toy.load(tmp_path / "toy")


def test_from_dict_reads_aliases_and_turns_lists_back_into_tuples():
    """A saved or hand-written dict may use an alias (scikit-learn's random_state, MiniSom's
    names); from_dict raised a KeyError on them, and strict=False dropped them silently."""
    from dlcourse.som import SOMConfig

    assert SOMConfig.from_dict({"random_state": 3, "lr": 0.2}).seed == 3
    relaxed = SOMConfig.from_dict({"random_seed": 4, "from_a_newer_release": 1}, strict=False)
    assert relaxed.seed == 4
    with pytest.raises(ConfigError, match="from_a_newer_release"):
        SOMConfig.from_dict({"from_a_newer_release": 1})
    assert ToyConfig.from_dict({"widths": [5, 6]}).widths == (5, 6)  # JSON's list
