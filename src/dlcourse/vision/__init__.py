"""Transfer learning: ImageNet-pretrained backbones, a new head, feature extraction or fine-tuning.

>>> from dlcourse.vision import ImageClassifier, load_named          # doctest: +SKIP
>>> train, test = load_named("fashion-mnist")                        # doctest: +SKIP
>>> clf = ImageClassifier(arch="efficientnet_lite0", image_size=64).fit(train)  # doctest: +SKIP
>>> clf.evaluate(test).top1                                          # doctest: +SKIP
"""

from dlcourse.vision.data import (
    ArrayImageDataset,
    load_image,
    load_image_folder,
    load_named,
    stratified_subset,
)
from dlcourse.vision.efficientnet_lite import EfficientNetLite0, convert_lukemelas_state_dict
from dlcourse.vision.models import ARCHS, BackboneInfo, TransferNet, build_backbone, build_model
from dlcourse.vision.transfer import EvalResult, ImageClassifier, TransferConfig
from dlcourse.vision.transforms import BatchPreprocess

__all__ = [
    "ARCHS",
    "ArrayImageDataset",
    "BackboneInfo",
    "BatchPreprocess",
    "EfficientNetLite0",
    "EvalResult",
    "ImageClassifier",
    "TransferConfig",
    "TransferNet",
    "build_backbone",
    "build_model",
    "convert_lukemelas_state_dict",
    "load_image",
    "load_image_folder",
    "load_named",
    "stratified_subset",
]
