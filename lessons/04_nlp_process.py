# %% [markdown]
# # Lesson 4: NLP terms and the process
#
# Lesson 3 built a classifier step by step. This lesson names the steps and runs the whole
# process the way a project does: from a labelled CSV file of movie reviews, through
# tokenization, a vocabulary and bucketed batches, to a recurrent network trained with a
# binary loss and evaluated on a separate validation file.
#
# With its full settings the notebook takes about 3-5 minutes on a 2-core laptop (the longest:
# the plain RNN loop and the two library models, 1-2 minutes each); the long cells print their
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

import torch
from IPython.display import Image, display
from torch import nn

QUICK = os.environ.get("DLCOURSE_QUICK", "0") not in ("", "0")
# files and figures: the run folder under `make lessons`, else one under the temporary folder
OUT = Path(os.environ.get("DLCOURSE_LESSON_OUT")
           or Path(tempfile.gettempdir(), "dlcourse-lessons", "lesson4"))
OUT.mkdir(parents=True, exist_ok=True)  # one folder per lesson, reused by every run
# tqdm's notebook bars want ipywidgets; without it they are text lines, after a warning
warnings.filterwarnings("ignore", message="IProgress not found")
torch.manual_seed(0)
print(f"{'quick' if QUICK else 'full'} settings; files in {OUT}")

# %% [markdown]
# ## Terms
#
# - **Tokenization**: cutting text into units (tokens): words, punctuation, sub-word pieces.
# - **Vocabulary**: the list of tokens a model knows, each with an integer id; the rest map
#   to an "unknown" id.
# - **Vectorization**: turning text into numbers: token ids, then tensors (one-hot vectors,
#   counts, or ids to be embedded).
# - **Embedding**: a learned table that maps each id to a dense vector (lesson 1).
# - **RNN** (recurrent neural network): reads a sequence one token at a time, carrying a
#   hidden state that summarises what it has read so far; LSTM and GRU are RNNs with gates
#   that let them remember longer.
# - **Transformer**: a network that lets every token look at every other token at once
#   (attention) instead of reading left to right; the basis of BERT and GPT.
#
# One sentence through the first four:

# %%
from dlcourse.text import Vocab, get_tokenizer

tokenizer = get_tokenizer("basic_english")
sentence = "A smart, funny film. Funny!"
tokens = tokenizer(sentence)                                  # tokenization
toy_vocab = Vocab.build([tokens])                             # vocabulary
ids = torch.tensor(toy_vocab.lookup(tokens))                  # vectorization
vectors = nn.Embedding(len(toy_vocab), 4)(ids)                # embedding, (tokens, 4)
print(tokens, "\n", toy_vocab.itos, "\n", ids.tolist(), "\n", tuple(vectors.shape))

# %% [markdown]
# ## PyTorch as a library
#
# PyTorch gives three things this lesson relies on: **tensors** (arrays with a device and a
# dtype), a **dynamic graph** (the graph of operations is recorded as the Python code runs,
# so loops and ifs that depend on the data, such as reading sentences of different lengths,
# just work with `backward`), and the same code on a **GPU** by moving tensors and models with
# `.to(device)`.

# %%
from dlcourse.engine import resolve_device

weight = torch.tensor(0.9, requires_grad=True)
state = torch.tensor(1.0)
for _ in range(len(tokens)):          # as many steps as the sentence has tokens
    state = torch.tanh(weight * state + 0.1)
state.backward()
print(f"after {len(tokens)} steps: state {state.item():.3f}, d state / d weight "
      f"{weight.grad.item():.3f}")
print("device 'auto' here:", resolve_device("auto"))

# %% [markdown]
# ## The process on movie reviews
#
# ### 1. A labelled CSV file
#
# Real projects start from files. We write the Rotten Tomatoes review sentences (10,605,
# rated by people; offline) as two CSV files with a `review` and a `label` column: a training
# file and a validation file, split 90/10 with a fixed seed, keeping both classes in
# proportion. Sentences rated exactly 0 have no polarity and are left out.

# %%
import csv

from dlcourse.data.readers import read_rt_sentences, split_indices

rows = [(text, "pos" if rating > 0 else "neg") for text, rating in read_rt_sentences()
        if rating != 0]
if QUICK:
    rows = rows[::5]                  # every fifth sentence
train_idx, valid_idx = split_indices(len(rows), (0.9, 0.1), seed=0,
                                     stratify=[label for _, label in rows])
for name, idx in (("train", train_idx), ("valid", valid_idx)):
    with open(OUT / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "label"])
        writer.writerows(rows[i] for i in idx)
print((OUT / "train.csv").read_text(encoding="utf-8")[:300])

# %% [markdown]
# ### 2. Reading the table
#
# With the standard library, then with `dlcourse.text.load_table`, which also reads TSV,
# JSON lines and Parquet, checks the columns and reports bad rows by line number:

# %%
with open(OUT / "train.csv", newline="", encoding="utf-8") as f:
    records = list(csv.DictReader(f))
print(len(records), records[0])

from dlcourse.text import load_table

train = load_table(OUT / "train.csv", text_col="review", label_col="label")
valid = load_table(OUT / "valid.csv", text_col="review", label_col="label")
print(train, train.label_counts())

# %% [markdown]
# ### 3. Tokens: basic_english
#
# torchtext's `basic_english` tokenizer lower-cases the text, puts spaces around a few
# punctuation marks, drops some others and splits on white space. Its rules in plain Python:

# %%
import re

RULES = [(r"\'", " '  "), (r"\"", ""), (r"\.", " . "), (r"<br \/>", " "), (r",", " , "),
         (r"\(", " ( "), (r"\)", " ) "), (r"\!", " ! "), (r"\?", " ? "), (r"\;", " "),
         (r"\:", " "), (r"\s+", " ")]


def basic_english(line: str) -> list[str]:
    line = line.lower()
    for pattern, replacement in RULES:
        line = re.sub(pattern, replacement, line)
    return line.split()


print(basic_english(train.texts[0]))
print(tokenizer(train.texts[0]))
same = sum(basic_english(t) == tokenizer(t) for t in train.texts)
print(f"the same tokens for {same} of {len(train)} reviews")

# %% [markdown]
# ### 4. A vocabulary of at most 10,000 words
#
# Built from the training file only (the validation file must stay unseen); the 10,000 most
# frequent tokens, after `<pad>` and `<unk>`. The share of validation tokens it covers shows
# how often the model will meet `<unk>`.

# %%
train_tokens = tokenizer.batch(train.texts)
vocab = Vocab.build(train_tokens, max_size=10000)
print(f"{len(vocab):,} entries; covers {vocab.coverage(tokenizer.batch(valid.texts)):.1%} of "
      "the validation tokens")

# %% [markdown]
# ### 5. Vectorization
#
# Each review becomes its list of ids, each label a float: 1.0 for `pos`, 0.0 for `neg`, the
# target of a binary loss.

# %%
def vectorize(table):
    ids = [vocab.lookup(t) for t in tokenizer.batch(table.texts)]
    targets = torch.tensor([1.0 if label == "pos" else 0.0 for label in table.labels])
    return ids, targets


train_ids, y_train = vectorize(train)
valid_ids, y_valid = vectorize(valid)
print(train_ids[0][:12], y_train[:5].tolist())

# %% [markdown]
# ### 6. Bucketed batches of 32
#
# Random batches mix short and long reviews, so most of each padded batch is padding: wasted
# computation. **Bucketing** (torchtext's `BucketIterator`) takes a large random pool,
# sorts it by length, cuts it into batches and shuffles the batches: each batch holds reviews
# of similar length, yet the order still changes every epoch. In plain Python:

# %%
import random


def bucket_batches(lengths, batch_size=32, pool=3200, seed=0):
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: lengths[i])
        batches += [chunk[b:b + batch_size] for b in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def padding_share(batches, lengths):
    """Share of the padded cells that are padding."""
    cells = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return 1 - sum(lengths) / cells


lengths = [len(x) for x in train_ids]
shuffled = list(range(len(lengths)))
random.Random(0).shuffle(shuffled)
random_batches = [shuffled[i:i + 32] for i in range(0, len(shuffled), 32)]
print(f"padding: random batches {padding_share(random_batches, lengths):.1%}, "
      f"bucketed {padding_share(bucket_batches(lengths), lengths):.1%}")

# %% [markdown]
# `dlcourse.text.BucketBatchSampler` is this sampler for a `DataLoader` (with `set_epoch` for
# a new order each epoch, as PyTorch's distributed sampler has), `PadCollate` pads each batch
# and `padding_fraction` measures it:

# %%
from torch.utils.data import DataLoader

from dlcourse.text import BucketBatchSampler, PadCollate, padding_fraction

sampler = BucketBatchSampler(lengths, batch_size=32, seed=0)
print(f"padding with BucketBatchSampler: {padding_fraction(list(sampler), lengths):.1%}")
loader = DataLoader(list(zip(train_ids, y_train)), batch_sampler=sampler,
                    collate_fn=PadCollate(pad_id=vocab.pad_id))
padded, batch_lengths, targets = next(iter(loader))
print(tuple(padded.shape), batch_lengths[:6].tolist(), targets[:6].tolist())

# %% [markdown]
# ### 7. The model: an RNN with one output
#
# Embedding (100) -> RNN (256) -> linear (1). Packing the padded batch
# (`pack_padded_sequence`) makes the RNN stop at each review's own last token, so its final
# hidden state summarises the review and not the padding. One output is a score (a logit) for
# "positive"; **`BCEWithLogitsLoss`** applies the sigmoid and the binary cross-entropy in one
# numerically stable step.

# %%
from torch.nn.utils.rnn import pack_padded_sequence


class ReviewRNN(nn.Module):
    def __init__(self, vocab_size: int, embed_dim: int = 100, hidden_size: int = 256,
                 pad_id: int = 0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.rnn = nn.RNN(embed_dim, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, ids, lengths):                            # (B, T), (B,)
        packed = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True,
                                      enforce_sorted=False)
        _, hidden = self.rnn(packed)                            # (1, B, hidden)
        return self.fc(hidden[-1]).squeeze(-1)                  # (B,) logits


model = ReviewRNN(len(vocab), pad_id=vocab.pad_id)
loss_fn = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
print(model)

# %% [markdown]
# ### 8. Training, and evaluation on the validation file
#
# Ten epochs (two in quick mode), the loss printed per epoch, then the accuracy on the
# validation file: a logit above 0 means "positive".

# %%
from dlcourse.text import pad_sequences


def accuracy(model, ids, targets) -> float:
    model.eval()
    with torch.no_grad():
        padded, lens = pad_sequences(ids, pad_id=vocab.pad_id)
        return ((model(padded, lens) > 0).float() == targets).float().mean().item()


history = []
began = time.perf_counter()
for epoch in range(1, (2 if QUICK else 10) + 1):
    sampler.set_epoch(epoch)
    model.train()
    total, seen = 0.0, 0
    for padded, batch_lengths, targets in loader:
        loss = loss_fn(model(padded, batch_lengths), targets)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)   # plain RNNs explode without it
        optimizer.step()
        total, seen = total + loss.item() * len(targets), seen + len(targets)
    history.append({"epoch": epoch, "train_loss": total / seen,
                    "valid_acc": accuracy(model, valid_ids, y_valid)})
    print(f"epoch {epoch:2d}: loss {total / seen:.4f}, "
          f"validation accuracy {history[-1]['valid_acc']:.3f}")
print(f"{time.perf_counter() - began:.0f} s")

# %%
from dlcourse.plots.common import plot_curves

display(Image(filename=plot_curves(history, ["train_loss", "valid_acc"], OUT / "curves.png",
                                   title="Embedding -> RNN -> linear, BCEWithLogits",
                                   ylabel="loss / accuracy")))

# %% [markdown]
# The training loss falls much faster than the validation accuracy rises: the model fits the
# training reviews more than it learns what makes a review positive, and a plain RNN reads
# the start of a review through many multiplications by the same matrix, so it learns from it
# slowly. The GRU below, whose gates decide what to keep, does better on the same sentences
# (with the full settings; in the quick mode's two epochs on a fifth of the sentences every
# model stays near chance, 50%, and the curves tell nothing).
#
# ## The same process with `dlcourse.classify`
#
# `read_labelled` reads a review/label file into texts and labels; `TextClassifier` with the
# lesson's settings (and, like the plain model above, no dropout) runs steps 3-8. It scores
# the two classes with cross-entropy, which for two classes is the same loss as
# BCEWithLogits on one score. Early stopping (`patience`) keeps the epoch with the best
# validation accuracy.

# %%
from dlcourse.classify import TextClassifier, read_labelled

train_texts, train_labels = read_labelled(OUT / "train.csv", text_col="review",
                                          label_col="label")
valid_texts, valid_labels = read_labelled(OUT / "valid.csv", text_col="review",
                                          label_col="label")
LESSON = dict(num_layers=1, bidirectional=False, pooling="last", tokenizer="basic_english",
              max_vocab=10000, embed_dim=100, hidden_size=256, dropout=0.0, batch_size=32,
              lr=1e-3, seed=0,
              # the defaults add pretrained word vectors, word dropout, adversarial training
              # and a moving average of the weights (a stronger recipe); the lesson's model
              # has none of them
              pretrained=None, word_dropout=0.0, adversarial=0.0, ema_span=0.0)
clf = TextClassifier(model="rnn", epochs=2 if QUICK else 10, patience=3, **LESSON)
began = time.perf_counter()
clf.fit(train_texts, train_labels, valid=(valid_texts, valid_labels))
result = clf.evaluate(valid_texts, valid_labels)
print(f"{time.perf_counter() - began:.0f} s, best epoch {clf.best_epoch_} of "
      f"{len(clf.history_)}: validation accuracy {result['accuracy']:.3f}, "
      f"macro F1 {result['macro_f1']:.3f}")
for h in clf.history_:
    print(f"epoch {h['epoch']:2d}: loss {h['train_loss']:.4f}, valid accuracy "
          f"{h['valid_acc']:.3f}")

# %% [markdown]
# A plain RNN multiplies its state by the same matrix at every step, so the gradient from the
# last token to the first shrinks (or blows up) geometrically: it learns slowly and unevenly.
# A GRU adds gates that decide what to keep; in the library that is one argument:

# %%
began = time.perf_counter()
gru = TextClassifier(model="gru", epochs=2 if QUICK else 3, **LESSON)
gru.fit(train_texts, train_labels, valid=(valid_texts, valid_labels))
print(f"GRU: {time.perf_counter() - began:.0f} s, validation accuracy "
      f"{gru.evaluate(valid_texts, valid_labels)['accuracy']:.3f}")

# %%
from dlcourse.plots.common import plot_histories

path = plot_histories({"plain RNN": history, "TextClassifier rnn": clf.history_,
                       "TextClassifier gru": gru.history_}, ["valid_acc"],
                      OUT / "valid_acc.png", title="Validation accuracy per epoch",
                      ylabel="accuracy")
display(Image(filename=path))

# %% [markdown]
# ## The same from the command line
#
# The CSV files above work directly, from the folder the first cell printed (`cd` there):
#
# ```
# dlcourse text inspect train.csv --text-col review --label-col label
# dlcourse classify train train.csv --valid valid.csv --text-col review --label-col label \
#     --model rnn --layers 1 --unidirectional --pooling last --hidden-size 256 --dropout 0 \
#     --pretrained none --word-dropout 0 --adversarial 0 --ema-span 0 --max-vocab 10000 \
#     --batch-size 32 --epochs 10 --patience 3 --out runs/reviews-rnn
# dlcourse classify evaluate runs/reviews-rnn valid.csv
# ```
