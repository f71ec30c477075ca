# %% [markdown]
# # Lesson 3: NLP with PyTorch
#
# **Natural language processing** (NLP) gets computers to work with human language. Its main
# tasks include *classification* (is this review positive? is this mail spam?), *translation*
# from one language to another, *summarisation* of a long text, and *question answering* over
# a document. Behind all of them is the same pipeline: split text into tokens, map tokens to
# numbers, batch the numbers into tensors, and train a network on them.
#
# This notebook walks that pipeline in PyTorch: tensors, tokenization with BERT's WordPiece,
# a vocabulary, padding, an LSTM classifier, its training, accuracy and F1, and prediction on
# a new sentence. The running task is the sentiment of movie-review sentences. Each step is
# written in plain PyTorch first, then done with the `dlcourse` call that does it at scale.
#
# With its full settings the notebook takes about 2 minutes on a 2-core laptop (the longest: the
# library's classifier, about a minute); the long cells print their time. Set `DLCOURSE_QUICK=1`
# before starting the kernel for a run of seconds on less data.

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
from IPython.display import Image, display
from torch import nn

QUICK = os.environ.get("DLCOURSE_QUICK", "0") not in ("", "0")
# figures go here: the run folder under `make lessons`, else one under the temporary folder
OUT = Path(os.environ.get("DLCOURSE_LESSON_OUT")
           or Path(tempfile.gettempdir(), "dlcourse-lessons", "lesson3"))
OUT.mkdir(parents=True, exist_ok=True)  # one folder per lesson, reused by every run
# tqdm's notebook bars want ipywidgets; without it they are text lines, after a warning
warnings.filterwarnings("ignore", message="IProgress not found")
torch.manual_seed(0)
print(f"{'quick' if QUICK else 'full'} settings; figures in {OUT}")

# %% [markdown]
# ## PyTorch basics
#
# PyTorch installs with `pip install torch` (this project's `make` set-up has done it; see
# pytorch.org for the build that matches a GPU). Its central object is the **tensor**: an
# n-dimensional array that can live on a GPU and remember how it was computed.
#
# ### Tensors of one and two dimensions

# %%
v = torch.tensor([1.0, 2.0, 3.0])            # one dimension: a vector
m = torch.tensor([[1, 2, 3], [4, 5, 6]])     # two dimensions: a 2 x 3 matrix of integers
print(v, v.shape, v.dtype)
print(m, m.shape, m.dtype)
print("row 1:", m[1], "column 0:", m[:, 0], "sum of each row:", m.sum(dim=1))
print("matrix times vector:", m.float() @ v)
print("reshaped to 3 x 2:\n", m.reshape(3, 2))

# %% [markdown]
# Tensors that require gradients record the operations applied to them, so that
# `backward()` can compute derivatives: the basis of training.

# %%
w = torch.tensor([0.5, -1.0], requires_grad=True)
x = torch.tensor([2.0, 3.0])
y = (w * x).sum() ** 2          # y = (w . x)^2
y.backward()
print(f"y = {y.item():.2f}, dy/dw = {w.grad.tolist()} (= 2 (w . x) x)")
device = "cuda" if torch.cuda.is_available() else "cpu"
print("tensors can move to a GPU with .to('cuda'); here:", device)

# %% [markdown]
# ## The data: movie-review sentences
#
# 10,605 Rotten Tomatoes sentences rated by people (Hutto & Gilbert, 2014) ship with a PyPI
# package and work offline. `dlcourse.classify.rt_split` labels each one by the sign of its
# mean rating (`pos`/`neg`; the 37 rated exactly 0 have no polarity and are dropped, leaving
# 10,568) and splits them 80/10/10 with a fixed seed.

# %%
from dlcourse.classify import rt_split

split = rt_split()
train_texts, train_labels = split["train"]
valid_texts, valid_labels = split["valid"]
test_texts, test_labels = split["test"]
if QUICK:
    train_texts, train_labels = train_texts[:1000], train_labels[:1000]
    valid_texts, valid_labels = valid_texts[:300], valid_labels[:300]
    test_texts, test_labels = test_texts[:300], test_labels[:300]
print(f"{len(train_texts):,} train, {len(valid_texts):,} valid, {len(test_texts):,} test")
for text, label in list(zip(train_texts, train_labels))[:3]:
    print(f"  {label}: {text}")

# %% [markdown]
# ## Preprocessing
#
# ### Tokenization with BERT's WordPiece
#
# Splitting on spaces gives a vocabulary that never ends (every typo, name and inflection is a
# new word). BERT's **WordPiece** tokenizer keeps a fixed vocabulary of 30,522 pieces: common
# words whole, rare words cut into known pieces, a continuation piece marked `##`. Each word is
# split greedily: take the longest piece of the vocabulary that starts the word, then the
# longest `##` piece that continues it, and so on. In plain Python:

# %%
import re

from dlcourse.text.wordpiece import default_vocab_file

bert_vocab = set(default_vocab_file().read_text(encoding="utf-8").splitlines())


def wordpiece(text: str) -> list[str]:
    """bert-base-uncased tokens: lower-case, split off punctuation, greedy longest match."""
    tokens = []
    for word in re.findall(r"\w+|[^\w\s]", text.lower()):
        start, pieces = 0, []
        while start < len(word):
            end = len(word)
            while end > start:                       # the longest piece that is known
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in bert_vocab:
                    break
                end -= 1
            if end == start:                         # no piece fits: the word is unknown
                pieces = ["[UNK]"]
                break
            pieces.append(piece)
            start = end
        tokens += pieces
    return tokens


sentence = "The screenplay's unpredictability is mesmerizing."
print(wordpiece(sentence))

# %% [markdown]
# `dlcourse.text.WordPieceTokenizer` is the same tokenizer through Hugging Face's compiled
# `tokenizers` library, fast enough for millions of sentences; `get_tokenizer("wordpiece")`
# gives the same object by name. It also does BERT's full text cleaning, which the plain
# version leaves out: it strips accents, so "résumé" becomes `resume` where the plain version
# gives `[UNK]`. That is where the two differ on the review sentences below.

# %%
from dlcourse.text import WordPieceTokenizer

bert = WordPieceTokenizer()
print(bert(sentence))
agree = sum(wordpiece(t) == bert(t) for t in train_texts[:300])
print(f"the plain version agrees on {agree} of 300 review sentences")
train_tokens = bert.batch(train_texts)
print(f"{sum(map(len, train_tokens)):,} tokens in the training sentences")

# %% [markdown]
# ### A vocabulary
#
# A network needs ids. We build our own vocabulary from the training tokens (BERT's 30,522
# pieces would mostly be unused here): the tokens seen at least twice, most frequent first,
# after two special tokens, `<pad>` (id 0, filling short sentences) and `<unk>` (id 1, any
# token not in the vocabulary).

# %%
from collections import Counter

counts = Counter(t for tokens in train_tokens for t in tokens)
itos = ["<pad>", "<unk>"] + [t for t, c in counts.most_common() if c >= 2]
stoi = {t: i for i, t in enumerate(itos)}
print(f"{len(counts):,} distinct tokens, {len(itos):,} in the vocabulary")
print([stoi.get(t, 1) for t in bert(sentence)])

# %% [markdown]
# `dlcourse.text.Vocab.build` does the same (counting in C, limits on size and frequency,
# save and load), with the same order:

# %%
from dlcourse.text import Vocab

vocab = Vocab.build(train_tokens, min_freq=2)
print(len(vocab), vocab.itos[:8], vocab.itos == itos)
encode = lambda texts: [vocab.lookup(tokens) for tokens in bert.batch(texts)]  # noqa: E731
train_ids, valid_ids, test_ids = encode(train_texts), encode(valid_texts), encode(test_texts)

# %% [markdown]
# ### Padding
#
# Sentences have different lengths, but a batch is one rectangular tensor. Short sequences are
# padded with the `<pad>` id up to the longest one of the batch; the true lengths are kept so
# the model can ignore the padding.

# %%
from torch.nn.utils.rnn import pad_sequence

few = [torch.tensor(ids) for ids in train_ids[:4]]
padded = pad_sequence(few, batch_first=True, padding_value=vocab.pad_id)  # (4, longest)
lengths = torch.tensor([len(ids) for ids in few])
print(padded, lengths)

# %%
from dlcourse.text import pad_sequences

lib_padded, lib_lengths = pad_sequences(train_ids[:4], pad_id=vocab.pad_id)
print(torch.equal(lib_padded, padded), torch.equal(lib_lengths, lengths))
# BERT-style model inputs in one call: [CLS] ... [SEP], the long text cut at 16 pieces, the
# short one padded with [PAD] (id 0), and an attention mask with 0 on the padding
print(bert.encode(["A fine film.", train_texts[0]], max_length=16))

# %% [markdown]
# ## A model: an LSTM classifier
#
# The lesson's model is a two-layer LSTM that reads a sequence of vectors; the output at the
# last time step goes through a linear layer to one score per class. First as in the lesson, on
# random tensors (32 sequences of 5 steps of 10 features, 5 classes) for 100 steps of Adam:
# the loss falls as the model memorises the random labels.

# %%
class LSTMClassifier(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, num_classes: int, num_layers: int = 2):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):              # (B, T, input_size)
        out, _ = self.lstm(x)          # (B, T, hidden_size)
        return self.fc(out[:, -1])     # the last time step -> (B, num_classes)


toy = LSTMClassifier(input_size=10, hidden_size=20, num_classes=5)
inputs, targets = torch.randn(32, 5, 10), torch.randint(0, 5, (32,))
optimizer = torch.optim.Adam(toy.parameters(), lr=0.001)
loss_fn = nn.CrossEntropyLoss()
for step in range(100):
    loss = loss_fn(toy(inputs), targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 25 == 0 or step == 99:
        print(f"step {step:3d}: loss {loss.item():.3f}")

# %% [markdown]
# For text, an embedding layer turns the ids into vectors first. With padding, "the last time
# step" must be each sentence's own last token, not the padding after it: we pick it with the
# lengths.

# %%
class TextLSTM(nn.Module):
    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 100,
                 hidden_size: int = 128, num_layers: int = 2, pad_id: int = 0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        # dropout acts between stacked layers: none with one (torch warns)
        self.lstm = nn.LSTM(embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=0.3 if num_layers > 1 else 0.0)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, ids, lengths):                     # (B, T), (B,)
        out, _ = self.lstm(self.embedding(ids))          # (B, T, hidden)
        last = out[torch.arange(len(ids)), lengths - 1]  # each sentence's last token, (B, hidden)
        return self.fc(last)                             # (B, num_classes)


classes = ["neg", "pos"]
y_train = torch.tensor([classes.index(y) for y in train_labels])
y_valid = torch.tensor([classes.index(y) for y in valid_labels])
y_test = torch.tensor([classes.index(y) for y in test_labels])
model = TextLSTM(len(vocab), len(classes), pad_id=vocab.pad_id)
print(model)

# %% [markdown]
# ## Training
#
# Batches of 64 sentences of similar length (`BucketBatchSampler`, so little of each batch is
# padding), Adam with learning rate 0.001, cross-entropy; after each epoch the accuracy on the
# validation sentences tells whether the model generalises.

# %%
from torch.utils.data import DataLoader

from dlcourse.text import BucketBatchSampler, PadCollate

collate = PadCollate(pad_id=vocab.pad_id)


def batches(ids, labels, shuffle, seed=0):
    sampler = BucketBatchSampler([len(x) for x in ids], batch_size=64, shuffle=shuffle,
                                 seed=seed)
    return DataLoader(list(zip(ids, labels.tolist())), batch_sampler=sampler,
                      collate_fn=collate)


def predict_proba(model, ids) -> torch.Tensor:
    """Class probabilities (N, classes), in the order of ``ids``."""
    model.eval()
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths together
    probs = torch.empty(len(ids), len(classes))
    with torch.no_grad():
        for start in range(0, len(ids), 256):
            chunk = order[start:start + 256]
            padded, lengths = pad_sequences([ids[i] for i in chunk], pad_id=vocab.pad_id)
            probs[chunk] = model(padded, lengths).softmax(dim=1)
    return probs


optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
history = []
began = time.perf_counter()
for epoch in range(1, (2 if QUICK else 4) + 1):
    model.train()
    total, seen = 0.0, 0
    for padded, lengths, labels in batches(train_ids, y_train, shuffle=True, seed=epoch):
        loss = loss_fn(model(padded, lengths), labels)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)   # keeps LSTM gradients in check
        optimizer.step()
        total, seen = total + loss.item() * len(labels), seen + len(labels)
    valid_acc = (predict_proba(model, valid_ids).argmax(1) == y_valid).float().mean().item()
    history.append({"epoch": epoch, "train_loss": total / seen, "valid_acc": valid_acc})
    print(f"epoch {epoch}: train loss {total / seen:.3f}, valid accuracy {valid_acc:.3f}")
print(f"{time.perf_counter() - began:.0f} s")

# %% [markdown]
# ## Evaluation: accuracy and F1
#
# **Accuracy** is the share of right answers. Per class, **precision** is the share of the
# sentences predicted as that class that really are, **recall** the share of that class's
# sentences that were found, and **F1** their harmonic mean; the macro F1 averages the classes,
# so a model that ignores a small class cannot hide behind the big one.

# %%
predicted = predict_proba(model, test_ids).argmax(dim=1)
accuracy = (predicted == y_test).float().mean().item()
f1s = []
for c, name in enumerate(classes):
    tp = ((predicted == c) & (y_test == c)).sum().item()
    precision = tp / max((predicted == c).sum().item(), 1)
    recall = tp / max((y_test == c).sum().item(), 1)
    f1s.append(2 * precision * recall / max(precision + recall, 1e-12))
    print(f"{name}: precision {precision:.3f}, recall {recall:.3f}, F1 {f1s[-1]:.3f}")
print(f"test accuracy {accuracy:.3f}, macro F1 {np.mean(f1s):.3f}")

# %% [markdown]
# `dlcourse.classify.classification_metrics` computes all of them (and ROC-AUC from the
# scores) as one plain dict:

# %%
from dlcourse.classify import classification_metrics
from dlcourse.plots.common import plot_confusion_matrix

scores = predict_proba(model, test_ids)[:, 1]
metrics = classification_metrics(y_test.tolist(), predicted.tolist(), classes,
                                 scores=scores.tolist())
print({k: round(metrics[k], 3) for k in ("accuracy", "macro_f1", "roc_auc")})
display(Image(filename=plot_confusion_matrix(metrics["confusion_matrix"], classes,
                                             OUT / "confusion.png",
                                             title="2-layer LSTM (test)")))

# %% [markdown]
# ## Prediction on a new sentence
#
# A new sentence goes through the same steps: WordPiece tokens, vocabulary ids, the model,
# a softmax. With the full settings (about 75% test accuracy) the model gets both sentences
# below right, with probabilities above 0.9; after the quick mode's two epochs on 1,000
# sentences it is barely better than chance and its answers are close to 0.5.

# %%
def predict(sentence: str) -> tuple[str, float]:
    probs = predict_proba(model, [vocab.lookup(bert(sentence))])[0]
    return classes[int(probs.argmax())], round(float(probs.max()), 3)


for s in ["A gorgeous, witty and moving film.", "Tedious, flat and far too long."]:
    print(s, "->", predict(s))

# %% [markdown]
# ## The library: `dlcourse.classify.TextClassifier`
#
# `TextClassifier` is this whole section behind `fit`, `evaluate` and `predict`: tokenizer,
# vocabulary, bucketed batches, the recurrent network (RNN, GRU or LSTM; one or both
# directions; the last state or pooling over time), Adam with gradient clipping, early
# stopping on validation accuracy with the best epoch kept, checkpoints, and save/load. With
# the lesson's choices:

# %%
from dlcourse.classify import TextClassifier

clf = TextClassifier(model="lstm", num_layers=2, bidirectional=False, pooling="last",
                     tokenizer="wordpiece", embed_dim=100, hidden_size=128, dropout=0.3,
                     min_freq=2, lr=1e-3, batch_size=64, epochs=2 if QUICK else 4, seed=0,
                     # the defaults add pretrained word vectors, word dropout, adversarial
                     # training and a moving average of the weights (a stronger recipe); the
                     # lesson's model has none of them
                     pretrained=None, word_dropout=0.0, adversarial=0.0, ema_span=0.0)
began = time.perf_counter()
clf.fit(train_texts, train_labels, valid=(valid_texts, valid_labels))
lib = clf.evaluate(test_texts, test_labels)
print(f"{time.perf_counter() - began:.0f} s; test accuracy {lib['accuracy']:.3f}, "
      f"macro F1 {lib['macro_f1']:.3f}")
print(clf.predict(["A gorgeous, witty and moving film.", "Tedious, flat and far too long."]))

# %%
from dlcourse.plots.common import plot_histories

path = plot_histories({"plain loop": history, "TextClassifier": clf.history_}, ["valid_acc"],
                      OUT / "valid_acc.png", title="Validation accuracy per epoch",
                      ylabel="accuracy")
display(Image(filename=path))

# %% [markdown]
# `save(dir)` writes `dir/model.safetensors` with the tokenizer, vocabulary and classes, so the
# loaded model predicts from raw text:

# %%
clf.save(OUT / "review-lstm")
loaded = TextClassifier.load(OUT / "review-lstm")
print(loaded.predict(["Not bad at all."]), loaded.predict_proba(["Not bad at all."]))

# %% [markdown]
# ## The same from the command line
#
# ```
# dlcourse classify train rt-sentences --model lstm --layers 2 --unidirectional \
#     --pooling last --tokenizer wordpiece --hidden-size 128 --dropout 0.3 --batch-size 64 \
#     --min-freq 2 --pretrained none --word-dropout 0 --adversarial 0 --ema-span 0 \
#     --epochs 4 --out runs/reviews
# dlcourse classify evaluate runs/reviews rt-sentences
# dlcourse classify predict runs/reviews "A gorgeous, witty and moving film."
# ```
