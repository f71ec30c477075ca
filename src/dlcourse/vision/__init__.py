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

import lazy_loader

# submodule -> the public names it provides, each imported on first use (PEP 562)
__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "config": ["ARCHS", "TransferConfig"],
    "data": ["ArrayImageDataset", "stratified_subset"],
    "efficientnet_lite": ["EfficientNetLite0", "convert_lukemelas_state_dict"],
    "estimator": ["ImageClassifier"],
    "images": ["load_image", "load_image_folder", "scan_image_folder"],
    "metrics": ["EvalResult"],
    "models": ["BackboneInfo", "TransferNet", "build_backbone", "build_model"],
    "named_sets": ["load_named", "peek_classes"],
    "pipeline": ["Pipeline"],
    "transforms": ["BatchPreprocess"],
})
