"""What ``ImageClassifier``'s default learning rate gives on a few hundred images, against the
old default (0.001, the PyTorch transfer-learning tutorial's, made for 8,000 steps).

Fashion-MNIST, class-balanced training subsets of ``--sizes`` images, 1,000 test images,
EfficientNet-Lite0 from its ImageNet weights (offline) at ``--size`` px, every other setting
at its default (features mode, 5 epochs, batch 64, SGD, cosine); then mode finetune on the
middle size. Prints test top-1 for each learning rate. About a minute on 2 CPU cores.

    PYTHONPATH=src .venv/bin/python benchmarks/vision_defaults.py
    PYTHONPATH=src .venv/bin/python benchmarks/vision_defaults.py --size 64 --sizes 500
"""

from __future__ import annotations

import argparse
import time

from dlcourse.vision import ImageClassifier, TransferConfig, load_named
from dlcourse.vision.data import stratified_subset

OLD_LR = 0.001


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="image size in px")
    parser.add_argument("--sizes", default="100,500,3000", help="training set sizes")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    lr = TransferConfig().lr
    full_train, full_test = load_named("fashion-mnist")
    test = stratified_subset(full_test, 1000, seed=2)
    runs = [("features", n) for n in sizes] + [("finetune", sizes[len(sizes) // 2])]
    print(f"{'mode':<9} {'images':>6} {'lr ' + str(OLD_LR):>9} {'lr ' + str(lr):>9}  seconds")
    for mode, n in runs:
        train = stratified_subset(full_train, n, seed=1)
        scores, began = [], time.perf_counter()
        for rate in (OLD_LR, lr):
            clf = ImageClassifier(arch="efficientnet_lite0", image_size=args.size, mode=mode,
                                  lr=rate, device="cpu").fit(train)
            scores.append(clf.evaluate(test).top1)
        print(f"{mode:<9} {n:>6} {scores[0]:>9.3f} {scores[1]:>9.3f}  "
              f"{time.perf_counter() - began:.1f}")


if __name__ == "__main__":
    main()
