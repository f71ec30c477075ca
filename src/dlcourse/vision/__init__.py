"""Transfer learning: ImageNet-pretrained backbones, a new head, feature extraction or fine-tuning.

Names are imported lazily (PEP 562), so that the torch-free settings
(``dlcourse.vision.config``) serve ``dlcourse vision --help`` without importing torch.

>>> from dlcourse.vision import ImageClassifier, load_named          # doctest: +SKIP
>>> train, test = load_named("fashion-mnist")                        # doctest: +SKIP
>>> clf = ImageClassifier(arch="efficientnet_lite0", image_size=64).fit(train)  # doctest: +SKIP
>>> clf.evaluate(test).top1                                          # doctest: +SKIP
>>> clf.save("runs/fashion")                                         # doctest: +SKIP
>>> ImageClassifier.load("runs/fashion").predict(["shoe.jpg"])       # doctest: +SKIP
"""

from __future__ import annotations

import importlib

# public name -> module that defines it
_EXPORTS = {
    "ARCHS": "config",
    "TransferConfig": "config",
    "ArrayImageDataset": "data",
    "load_named": "data",
    "stratified_subset": "data",
    "EfficientNetLite0": "efficientnet_lite",
    "convert_lukemelas_state_dict": "efficientnet_lite",
    "ImageClassifier": "estimator",
    "load_image": "images",
    "load_image_folder": "images",
    "EvalResult": "metrics",
    "BackboneInfo": "models",
    "TransferNet": "models",
    "build_backbone": "models",
    "build_model": "models",
    "Pipeline": "pipeline",
    "BatchPreprocess": "transforms",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dlcourse.vision' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dlcourse.vision.{_EXPORTS[name]}"), name)
    globals()[name] = value  # cache: the next lookup skips __getattr__
    return value


def __dir__() -> list[str]:
    return __all__
