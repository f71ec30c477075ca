# %% [markdown]
# # Lesson 5: Self-Organizing Maps
#
# A self-organizing map (SOM, Teuvo Kohonen, 1982) is a grid of units, each holding a weight
# vector in the space of the data. Training pulls the units towards the data while keeping
# neighbours on the grid close to each other in data space. The result is a 2-D picture of
# high-dimensional data in which similar samples land on nearby units: a tool for
# dimensionality reduction, clustering and exploring a data set, learned without labels.
#
# This notebook first writes the algorithm in a few lines of numpy on a small map, then uses
# `dlcourse.som.SOM` to map 784-pixel handwritten digits and reads the map through its U-matrix
# and hit map.
#
# With its full settings the notebook takes under a minute on a 2-core laptop; the long
# cells print their time. Set `DLCOURSE_QUICK=1` before starting the kernel for a run of seconds
# on less data.

# %%
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from IPython.display import Image, display

QUICK = os.environ.get("DLCOURSE_QUICK", "0") not in ("", "0")
# figures go here: the run folder under `make lessons`, else one under the temporary folder
OUT = Path(os.environ.get("DLCOURSE_LESSON_OUT")
           or Path(tempfile.gettempdir(), "dlcourse-lessons", "lesson5"))
OUT.mkdir(parents=True, exist_ok=True)  # one folder per lesson, reused by every run
print(f"{'quick' if QUICK else 'full'} settings; figures in {OUT}")

# %% [markdown]
# ## The data: 5,000 handwritten digits
#
# `mnist-5k` is a class-balanced sample of MNIST that ships with a PyPI package, so it works
# offline (`dlcourse data list` shows every data set and whether it needs the network).
# Each image is 28 x 28 grey pixels; flattened, a digit is a point in 784 dimensions. We keep
# a fifth of the images aside to check later what the map learned.

# %%
from dlcourse.data.readers import read_mnist_5k, split_indices

images, digits = read_mnist_5k()            # (5000, 28, 28) uint8, (5000,) int
X = images.reshape(len(images), -1) / 255.0  # (5000, 784) floats in [0, 1]
train_idx, test_idx = split_indices(len(X), (0.8, 0.2), seed=0, stratify=digits)
if QUICK:
    train_idx, test_idx = train_idx[:1000], test_idx[:300]
X_train, y_train = X[train_idx], digits[train_idx]
X_test, y_test = X[test_idx], digits[test_idx]
print(f"train {X_train.shape}, test {X_test.shape}, digits {sorted(set(digits.tolist()))}")

# %% [markdown]
# ## The algorithm, step by step
#
# The classic (online) SOM repeats four steps for many epochs:
#
# 1. **Initialise** every unit's weight vector at random.
# 2. **Pick a sample** `x`.
# 3. **Find the best matching unit** (BMU): the unit whose weights are closest to `x`.
# 4. **Update** the BMU and its grid neighbours towards the sample,
#    `w(t+1) = w(t) + a(t) h(t) (x - w(t))`, where `a(t)` is a learning rate that decays over
#    time and `h(t)` a gaussian of the grid distance to the BMU whose radius `sigma(t)` shrinks.
#
# Early on, the wide neighbourhood drags large parts of the map together and lays it out over
# the data; later, the narrow neighbourhood lets each unit settle on its own region.
#
# To *see* this, we map the digits to two dimensions first (their two principal components)
# and train a 6 x 6 map there. In 2-D, every unit's weight vector is a point we can draw.

# %%
def principal_components(X, k=2):
    """Project the rows of X onto its top-k principal directions."""
    centred = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)  # vt: (d, d) directions
    return centred @ vt[:k].T                                # (N, k)


X2 = principal_components(X_train)  # (N, 2)
rows, cols = 6, 6


class PlainSOM:
    """The online SOM in plain numpy: random initial weights, the BMU search and the update
    ``w += a(t) h(t) (x - w)``, the learning rate and the radius decaying exponentially."""

    def __init__(self, rows, cols, low, high, seed=0):
        self.seed = seed
        # each unit's position on the grid, (K, 2) with K = rows * cols
        self.grid = np.array([(r, c) for r in range(rows) for c in range(cols)], dtype=float)
        rng = np.random.default_rng(seed)                      # 1. random weights, (K, d)
        self.weights = rng.uniform(low, high, size=(rows * cols, len(low)))

    def bmu(self, x):
        """3. The best matching unit: the unit whose weights are nearest the sample x (d,)."""
        return np.argmin(((self.weights - x) ** 2).sum(axis=1))

    def update(self, x, bmu, a, s):
        """4. Move the BMU and its grid neighbours toward x: w += a h (x - w)."""
        d2 = ((self.grid - self.grid[bmu]) ** 2).sum(axis=1)   # squared grid distances, (K,)
        h = np.exp(-d2 / (2 * s**2))                           # gaussian neighbourhood h(t)
        self.weights += a * h[:, None] * (x - self.weights)

    def train(self, X, epochs, lr=(0.5, 0.01), sigma=(3.0, 0.5)):
        """One sample at a time; returns the weights after each epoch (a list of (K, d))."""
        rng = np.random.default_rng(self.seed)
        snapshots, steps, t = [], epochs * len(X), 0
        for _ in range(epochs):
            for i in rng.permutation(len(X)):                  # 2. pick a sample
                frac = t / steps
                a = lr[0] * (lr[1] / lr[0]) ** frac            # decaying learning rate a(t)
                s = sigma[0] * (sigma[1] / sigma[0]) ** frac   # shrinking radius sigma(t)
                self.update(X[i], self.bmu(X[i]), a, s)
                t += 1
            snapshots.append(self.weights.copy())
        return snapshots


plain = PlainSOM(rows, cols, X2.min(axis=0), X2.max(axis=0), seed=0)
grid, start = plain.grid, plain.weights.copy()
epochs_2d = 2 if QUICK else 5
began = time.perf_counter()
snapshots = plain.train(X2, epochs=epochs_2d)
after_one, trained = snapshots[0], snapshots[-1]
print(f"{epochs_2d} epochs over {len(X2)} samples in {time.perf_counter() - began:.1f} s")

# %% [markdown]
# The picture the original lesson drew, with the digits' two principal components where it
# trained on random points: the samples (coloured by digit, which the map never saw), the
# units' weights in red and grid neighbours joined by lines. From a random tangle the map
# unfolds into a net spread over the cloud of digits.

# %%
from dlcourse.plots.som import plot_weight_scatter

names = ["principal component 1", "principal component 2"]
for i, (title, w) in enumerate([("random start", start), ("after one epoch", after_one),
                                (f"after {epochs_2d} epochs", trained)]):
    path = plot_weight_scatter(X2, w.reshape(rows, cols, 2), OUT / f"som_2d_{i}.png",
                               labels=y_train, names=names, title=f"6 x 6 map, {title}")
    display(Image(filename=path))

# %% [markdown]
# ### Measuring a map
#
# Two numbers summarise how well a map fits:
#
# - the **quantization error** (QE): the mean distance from each sample to its BMU (how well
#   the units represent the data);
# - the **topographic error** (TE): the share of samples whose best and second-best units are
#   not neighbours on the grid (how well the grid keeps the data's neighbourhoods).
#
# Written by hand, then checked against the library, which measures any weights we give it
# (`SOM.from_weights`):

# %%
def errors(X, weights):
    """(quantization error, topographic error) of a rectangular map, by brute force."""
    dist = np.sqrt(((X[:, None, :] - weights[None, :, :]) ** 2).sum(axis=2))  # (N, K)
    best_two = np.argsort(dist, axis=1)[:, :2]                                 # (N, 2)
    qe = dist[np.arange(len(X)), best_two[:, 0]].mean()
    # neighbours on a rectangular grid: the 8 units around (Chebyshev distance 1)
    gap = np.abs(grid[best_two[:, 0]] - grid[best_two[:, 1]]).max(axis=1)
    return float(qe), float((gap > 1).mean())


from dlcourse.som import SOM

for title, w in [("random start", start), ("trained", trained)]:
    qe, te = errors(X2, w)
    lib = SOM.from_weights(w.reshape(rows, cols, 2), device="cpu")
    print(f"{title:>12}: QE {qe:.3f} (library {lib.quantization_error(X2):.3f}), "
          f"TE {te:.3f} (library {lib.topographic_error(X2):.3f})")

# %% [markdown]
# The library's `algorithm="online"` is the same rule, compiled instead of a Python loop; the
# default `algorithm="batch"` instead moves every unit, once per epoch, to the
# neighbourhood-weighted mean of the samples it and its neighbours win. Same grid, same schedule
# (with the quick mode's few epochs the batch map is still coarse; with the full settings the two
# end up about equally good):

# %%
for algorithm in ("online", "batch"):
    som2d = SOM(m=rows, n=cols, algorithm=algorithm, init="random", sigma=3.0, sigma_end=0.5,
                learning_rate=0.5, learning_rate_end=0.01, decay="exponential",
                epochs=epochs_2d, seed=0, device="cpu").fit(X2)
    print(f"dlcourse {algorithm:>6}: QE {som2d.quantization_error(X2):.3f}, "
          f"TE {som2d.topographic_error(X2):.3f}")

# %% [markdown]
# ## `dlcourse.som` on the real data: 784-pixel digits
#
# Now the map works in the full 784-dimensional pixel space. A hexagonal grid gives every
# inner unit six equidistant neighbours; the weights start on the plane of the two principal
# components (`init="pca"`), which saves the unfolding phase; the batch algorithm trains it.

# %%
side, epochs = (10, 3) if QUICK else (20, 10)
som = SOM(m=side, n=side, topology="hexagonal", init="pca", algorithm="batch",
          epochs=epochs, seed=0, device="cpu")
began = time.perf_counter()
som.fit(X_train)
print(f"{side} x {side} map, {epochs} epochs, {len(X_train)} digits: "
      f"{time.perf_counter() - began:.1f} s")
print(f"QE {som.quantization_error_:.3f}, TE {som.topographic_error_:.3f}, "
      f"weights {som.weights_.shape}")

# %%
from dlcourse.plots.som import plot_som_history

display(Image(filename=plot_som_history(som.history_, OUT / "som_history.png",
                                        title="Batch SOM on digits: errors per epoch")))

# %% [markdown]
# Read the curves with the schedule in mind. The first point is the PCA start: a flat sheet
# across the two main directions of the data, so its topographic error is low (a plane has no
# folds) while it fits the digits poorly. The first epoch's wide radius pulls every unit toward
# the mean of a large neighbourhood and crumples the sheet: both errors jump. As the radius
# shrinks the map settles into the data; the quantization error falls below the start, and the
# topographic error ends where the final radius puts it (the trade the schedule table at the
# end shows): a map bent through 784 dimensions puts some samples' two best units apart.

# %% [markdown]
# ### The U-matrix
#
# For each unit, the mean distance between its weights and its neighbours' weights. Units
# inside a cluster resemble their neighbours (light cells); dark cells are the ridges
# between clusters. No label is used: this is the map's own view of the data's structure.

# %%
from dlcourse.plots.som import plot_hit_map, plot_umatrix

display(Image(filename=plot_umatrix(som.distance_map(), OUT / "umatrix.png", som.topology)))

# %% [markdown]
# ### The hit map
#
# How many training digits each unit wins, and (now using the labels, only to read the
# map) the digit most of them show. Neighbouring units share digits, and the borders between
# digit regions tend to lie along the darker ridges of the U-matrix.

# %%
hits = som.activation_response(X_train)          # (side, side) counts
unit_labels = som.majority_labels(X_train, y_train)  # (side, side) digit or None
path = plot_hit_map(hits, OUT / "hit_map.png", som.topology, unit_labels,
                    title="Hit map with each unit's majority digit")
display(Image(filename=path))
print(f"{int((hits == 0).sum())} of {side * side} units win no training digit")

# %% [markdown]
# ### What the units look like
#
# Every unit's weights are a 784-pixel image: the prototype of the digits it wins. Drawn in
# grid order, they show how the map morphs one digit into the next.

# %%
from dlcourse.plots.common import new_figure, save_figure

fig, ax = new_figure(7, 7)
mosaic = som.weights_.reshape(side, side, 28, 28).transpose(0, 2, 1, 3).reshape(side * 28, -1)
ax.imshow(mosaic, cmap="gray_r")
ax.set_axis_off()
ax.set_title("Unit prototypes (grid order, hexagonal rows shown unshifted)")
display(Image(filename=save_figure(fig, OUT / "prototypes.png")))

# %% [markdown]
# ### The map as a classifier
#
# Label each unit with its majority digit, then give a new digit the label of its BMU. The
# map was trained without labels, so this measures how well its clusters match the digits.

# %%
def map_accuracy(som, unit_labels, X, y):
    """Share of samples whose BMU's majority label is their own label."""
    coords = som.predict(X)                             # (N, 2) grid rows and columns
    guessed = unit_labels[coords[:, 0], coords[:, 1]]   # None where a unit won nothing
    return float(np.mean([g == t for g, t in zip(guessed, y)]))


print(f"test accuracy of the {side} x {side} map: "
      f"{map_accuracy(som, unit_labels, X_test, y_test):.3f} (chance 0.1)")

# %% [markdown]
# The library does this bookkeeping when `fit` gets the labels too: `SOM.fit(X, y)` keeps each
# unit's majority label as `unit_labels_` (saved with the map), and `evaluate(X, y)` reports
# the share of samples that land on a unit of their own label as `label_agreement`: a sample
# whose unit won no training sample counts as wrong, as in `map_accuracy` above, so the two
# agree. The table below uses it.

# %% [markdown]
# ## Where SOMs are used, and their limits
#
# SOMs are used to visualise clusters in high-dimensional data (customer records, gene
# expression, documents), to explore a data set before modelling it, and as a
# topology-preserving quantizer. Their weak points are the choices left to the user: the grid
# size and the schedule of learning rate and radius. A larger map lowers the quantization
# error (more units share the data) but spreads the samples thinner; the topographic error
# tells whether the grid still folds smoothly over the data.

# %%
sides = (4, 8) if QUICK else (5, 10, 20, 30)
rows_table = []
for s in sides:
    began = time.perf_counter()
    fitted = SOM(m=s, n=s, topology="hexagonal", epochs=epochs, seed=0, device="cpu")
    fitted.fit(X_train, y_train)  # the labels only name the units, after training
    seconds = time.perf_counter() - began
    acc = fitted.evaluate(X_test, y_test)["label_agreement"]
    rows_table.append((f"{s} x {s}", fitted.quantization_error_, fitted.topographic_error_,
                       acc, seconds))
print(f"{'grid':>8} {'QE':>7} {'TE':>7} {'test acc':>9} {'seconds':>8}")
for name, qe, te, acc, seconds in rows_table:
    print(f"{name:>8} {qe:7.3f} {te:7.3f} {acc:9.3f} {seconds:8.2f}")

# %% [markdown]
# The schedule is the other choice. The radius falls from half the map to `sigma_end`: ending
# at 1 instead of the default 0.5 gives a smoother map (a topographic error several times
# lower) that fits the samples less closely (a higher quantization error); ending wider still
# raises the quantization error again without lowering the topographic error further. Which to
# prefer depends on the use: a close quantizer, or a faithful picture of the neighbourhoods.

# %%
s = sides[1]
print(f"{s} x {s} map, radius ending at:")
print(f"{'sigma_end':>10} {'QE':>7} {'TE':>7}")
for sigma_end in (0.5, 1.0, 2.0):
    fitted = SOM(m=s, n=s, topology="hexagonal", epochs=epochs, sigma_end=sigma_end, seed=0,
                 device="cpu").fit(X_train)
    print(f"{sigma_end:10.1f} {fitted.quantization_error_:7.3f} "
          f"{fitted.topographic_error_:7.3f}")

# %% [markdown]
# ## Saving and loading a map
#
# Every dlcourse model saves the same way: `est.save(directory)` writes
# `directory/model.safetensors` (weights plus the settings as JSON), and the class's `load`
# gives back a fitted model.

# %%
model_dir = som.save(OUT / "som-digits")
again = SOM.load(OUT / "som-digits")
same = np.array_equal(again.predict(X_test), som.predict(X_test))
print(f"saved to {model_dir}; the loaded map puts every test digit on the same unit: {same}")

# %% [markdown]
# ## The same from the command line
#
# ```
# dlcourse som train mnist-5k --grid 20x20 --topology hex --epochs 10 --no-standardize \
#     --out runs/som-digits
# dlcourse som plot runs/som-digits
# dlcourse som predict runs/som-digits mnist-5k
# ```
#
# `dlcourse som train --help` lists every option; the options are the `SOM` settings used
# above. `--no-standardize` keeps the pixels as they are (0 to 1, as in this lesson): by
# default `som train` rescales each column to mean 0 and variance 1, which suits tables of
# measurements in different units, not pixels.
