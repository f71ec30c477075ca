"""Tour chapter for transfer learning: ImageNet features vs training from scratch on Fashion-MNIST.

EfficientNet-Lite0 with its offline ImageNet weights, frozen, with a new linear head trained on
cached features, against the same network trained from random weights, on class-balanced
Fashion-MNIST subsets (images upscaled to 32 px so the chapter runs in about two minutes on a CPU).
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

TITLE = "Transfer learning: ImageNet features vs training from scratch"


def run(report, out_dir: Path, *, quick: bool = False, device: str = "auto") -> None:
    """Train both methods on growing Fashion-MNIST subsets and add the section to ``report``.

    ``quick`` shrinks everything (tiny subsets, 16 px, one epoch) for tests.
    """
    import numpy as np

    from dlcourse.plots.common import plot_confusion_matrix
    from dlcourse.plots.vision import plot_learning_curves, plot_predictions
    from dlcourse.vision.compare import learning_curve
    from dlcourse.vision.data import stratified_subset
    from dlcourse.vision.named_sets import load_named

    out_dir = Path(out_dir)
    sizes, n_test, size, epochs = ((20, 50), 50, 16, 1) if quick else ((100, 300, 1000), 500, 32, 4)
    train, test = load_named("fashion-mnist")
    test = stratified_subset(test, n_test, seed=1)
    rows, models = learning_curve(train, test, sizes, keep=True, image_size=size, epochs=epochs,
                                  head_epochs=10 if quick else 30, device=device)

    report.section(TITLE)
    report.text(
        f"A network trained on ImageNet photos already knows edges, textures and shapes. Here "
        f"**EfficientNet-Lite0** with its ImageNet weights is frozen and only a new 10-class "
        f"linear layer is trained on its 1280 features (*feature extraction*; the features are "
        f"computed once and cached). The baseline is the same network from random weights, every "
        f"layer trained for {epochs} epoch{'s' * (epochs != 1)}. Both see the same "
        f"class-balanced Fashion-MNIST images, grey 28x28 "
        f"{'upscaled' if size > 28 else 'downscaled' if size < 28 else 'kept at'} {size} px and "
        f"copied to 3 channels; accuracy is on "
        f"{len(test)} test images (chance: 10%).")
    report.table([{"training images": r["n_train"], "method": r["method"],
                   "test accuracy": r["accuracy"], "top-5": r["top5"], "seconds": r["seconds"]}
                  for r in rows], floatfmt=".3f")
    curve = plot_learning_curves(rows, out_dir / "vision_learning_curve.png",
                                 title="Fashion-MNIST: accuracy vs training images")
    report.image(curve, "Test accuracy against the number of training "
                 "images: pretrained features win most where data is scarce.")

    best = models["pretrained"]
    result = best.evaluate(test)
    cm = plot_confusion_matrix(result.confusion, test.classes, out_dir / "vision_confusion.png",
                               title=f"pretrained features, {max(sizes)} training images")
    worst = int(np.nanargmin(result.per_class))  # NaN: a class without test images
    row = result.confusion[worst].copy()
    row[worst] = -1
    report.text(f"Confusions of the pretrained model trained on {max(sizes)} images: the hardest "
                f"class is *{test.classes[worst]}* ({result.per_class[worst]:.0%} right), most "
                f"often taken for *{test.classes[int(row.argmax())]}*.")
    report.image(cm, "Confusion matrix (rows: true class).")

    picks = np.random.default_rng(0).choice(len(test), size=6, replace=False)
    images = test.images[picks]                                    # (6, 1, 28, 28) uint8
    preds = best.predict_top(images, k=3)
    grid = plot_predictions(images.numpy(), preds, out_dir / "vision_predictions.png",
                            truths=[test.classes[int(test.labels[i])] for i in picks])
    report.image(grid, "A few test images with the top-3 predictions "
                 "(green: right; red: wrong, with the true class).")

    out = "runs/vision"
    common = ("dlcourse vision train fashion-mnist --arch efficientnet_lite0 "
              "--optimizer adamw --weight-decay 1e-4 --image-size 32 --limit 1000")
    report.commands([
        f"# this chapter as above (writes {out}/report.html)",
        f"dlcourse tour --only vision{' --quick' if quick else ''} --out {out}"
        + ("" if device == "auto" else f" --device {device}"),
        "# both methods at 1,000 images (full settings); the CLI tests on its own 1,000 images",
        f"{common} --weights imagenet --mode features --epochs 30 --lr 3e-3 --batch-size 64 "
        f"--out {out}/pretrained",
        f"{common} --weights none --mode finetune --epochs 4 --lr 2e-3 --batch-size 32 "
        f"--backbone-lr-mult 1.0 --out {out}/scratch",
        "# the pretrained model on its test images again (prints; --out DIR adds the figures)",
        f"dlcourse vision evaluate {out}/pretrained --limit 1000",
    ], python="""
        from dlcourse.vision.compare import learning_curve
        from dlcourse.vision.data import stratified_subset
        from dlcourse.vision.named_sets import load_named

        train, test = load_named("fashion-mnist")
        test = stratified_subset(test, 500, seed=1)
        rows, models = learning_curve(train, test, (100, 300, 1000), image_size=32, epochs=4,
                                      head_epochs=30, keep=True)
        for row in rows:
            print(row)
    """)
