# %% [markdown]
# # Lesson 1: Embeddings for NLP
#
# A network cannot read words; it reads numbers. An **embedding** maps each word of a large,
# sparse vocabulary to a short dense vector, learned so that the geometry of the vectors
# reflects meaning: words used alike end up close together. This notebook builds four kinds
# of word vectors and compares them:
#
# 1. **one-hot** vectors, which need no training and know nothing;
# 2. **word2vec** (skip-gram and CBOW), learned by predicting the words around a word;
# 3. **GloVe**, learned by fitting global co-occurrence counts;
# 4. an **embedding layer** learned inside a network that predicts the next word.
#
# Each is first written in a few lines of plain PyTorch on a small corpus (word2vec as
# skip-gram; CBOW is its mirror image), then trained at scale with the `dlcourse` call that does
# the same job. At the end we look at the vectors:
# the nearest words of a probe word and a 2-D map.
#
# With its full settings the notebook takes about 3 minutes on a 2-core laptop (the longest: the
# language model's training, about a minute); the long cells print their time. Set
# `DLCOURSE_QUICK=1` before starting the kernel for a run of seconds on less data.

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
# figures go here: the run folder under `make lessons`, else one under the temporary folder
OUT = Path(os.environ.get("DLCOURSE_LESSON_OUT")
           or Path(tempfile.gettempdir(), "dlcourse-lessons", "lesson1"))
OUT.mkdir(parents=True, exist_ok=True)  # one folder per lesson, reused by every run
torch.manual_seed(0)
# tqdm's notebook bars want ipywidgets; without it they are text lines, after a warning
warnings.filterwarnings("ignore", message="IProgress not found")
print(f"{'quick' if QUICK else 'full'} settings; figures in {OUT}")

# %% [markdown]
# ## What an embedding is: three fruit words
#
# ### One-hot vectors
#
# The simplest way to turn words into vectors gives every word of the vocabulary its own axis:
# word number `i` is the vector with a 1 in position `i` and 0 elsewhere. For a vocabulary of
# three fruits:

# %%
fruits = ["apple", "banana", "orange"]
ids = torch.tensor([0, 1, 2])
one_hot = F.one_hot(ids, num_classes=len(fruits)).float()  # (3, 3)
for word, vector in zip(fruits, one_hot):
    print(f"{word:>7} -> {vector.tolist()}")

# %% [markdown]
# With `dlcourse.text` the ids come from a vocabulary built from tokens, as in any real
# pipeline (`specials=()` leaves out the `<pad>` and `<unk>` entries a real vocabulary has):

# %%
from dlcourse.text import Vocab
from dlcourse.text import one_hot as text_one_hot

vocab = Vocab.build([fruits], specials=())
print(vocab.itos, text_one_hot(vocab.lookup(fruits), len(vocab)).tolist())

# %% [markdown]
# The cosine similarity of any two different one-hot vectors is 0: "apple" is as far from
# "banana" as from "democracy". One-hot vectors are also as long as the vocabulary (tens of
# thousands of entries). Learned embeddings fix both problems: a few hundred dimensions, and
# similarity that means something.

# %%
cosine = F.normalize(one_hot, dim=1) @ F.normalize(one_hot, dim=1).T  # (3, 3)
print(cosine)

# %% [markdown]
# ## The corpus: WordNet glosses
#
# Embeddings are learned from running text. WordNet's 117,659 dictionary definitions
# ("glosses", 1.46 million words) ship with a Debian package and work offline. We lower-case
# them and split them into words.

# %%
from dlcourse.data.readers import read_wordnet_glosses
from dlcourse.embeddings import tokenize

glosses = read_wordnet_glosses()
if QUICK:
    glosses = glosses[:4000]
sentences = [tokenize(g) for g in glosses]
print(f"{len(sentences):,} glosses, {sum(map(len, sentences)):,} words")
print(glosses[0], "->", sentences[0])

# %% [markdown]
# ## word2vec: learning from neighbouring words
#
# word2vec (Mikolov et al., 2013) learns two tables of vectors. **Skip-gram** takes a word and
# predicts each word within a small window around it; **CBOW** (continuous bag of words) takes
# the mean of the window's words and predicts the word in the middle. Predicting over the whole
# vocabulary is expensive, so both use **negative sampling**: push up the score of a true
# (word, neighbour) pair, and push down the scores of a few random "noise" words.
#
# ### Skip-gram in plain PyTorch
#
# First a vocabulary of the frequent words and the (centre, context) pairs of a window of two:

# %%
small = sentences[:2000] if QUICK else sentences[:20000]
sg_vocab = Vocab.build(small, min_freq=5, specials=())
encoded = [[sg_vocab.stoi[w] for w in s if w in sg_vocab.stoi] for s in small]
window = 2
pairs = torch.tensor([(s[i], s[j]) for s in encoded for i in range(len(s))
                      for j in range(max(0, i - window), min(len(s), i + window + 1)) if j != i])
counts = torch.tensor(sg_vocab.freqs, dtype=torch.float)
noise = counts ** 0.75 / (counts ** 0.75).sum()  # word2vec's noise distribution
print(f"vocabulary {len(sg_vocab):,} words, {len(pairs):,} (centre, context) pairs")

# %% [markdown]
# The model is two embedding tables. The score of a pair is the dot product of the centre
# word's input vector and the context word's output vector; the loss is the logistic loss of
# the true pair plus that of `k` noise words.

# %%
class SkipGram(nn.Module):
    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        self.inputs = nn.Embedding(vocab_size, dim)   # the word vectors we keep
        self.outputs = nn.Embedding(vocab_size, dim)  # context vectors, used only in training
        nn.init.uniform_(self.inputs.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.outputs.weight)

    def forward(self, centre, context, negatives):
        v = self.inputs(centre)                                      # (B, D)
        true_score = (v * self.outputs(context)).sum(-1)             # (B,)
        noise_score = torch.bmm(self.outputs(negatives), v[:, :, None]).squeeze(-1)  # (B, k)
        return -(F.logsigmoid(true_score) + F.logsigmoid(-noise_score).sum(-1)).mean()


skipgram = SkipGram(len(sg_vocab), dim=50)
optimizer = torch.optim.Adam(skipgram.parameters(), lr=0.01)
batch, k = 1024, 5
began = time.perf_counter()
for epoch in range(1 if QUICK else 2):
    total = 0.0
    for chunk in pairs[torch.randperm(len(pairs))].split(batch):
        negatives = torch.multinomial(noise, len(chunk) * k, replacement=True).view(-1, k)
        loss = skipgram(chunk[:, 0], chunk[:, 1], negatives)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(chunk)
    print(f"epoch {epoch + 1}: loss {total / len(pairs):.3f}")
print(f"{time.perf_counter() - began:.1f} s")

# %% [markdown]
# The nearest words by cosine similarity of the input vectors, for a few probe words. With the
# full settings this small model on a slice of the corpus already groups some related words
# (the quick mode's few steps do not get that far):

# %%
def nearest(table: torch.Tensor, itos: list[str], word: str, topn: int = 6) -> list[str]:
    """The ``topn`` words whose rows of ``table`` have the highest cosine with ``word``'s."""
    unit = F.normalize(table, dim=1)                 # (V, D)
    scores = unit @ unit[itos.index(word)]           # (V,)
    best = scores.topk(topn + 1).indices.tolist()
    return [itos[i] for i in best if itos[i] != word][:topn]


PROBES = ["water", "music", "king", "red", "doctor"]
sg_table = skipgram.inputs.weight.detach()  # (V, D)
for probe in PROBES:
    if probe in sg_vocab.stoi:
        print(f"{probe:>7}: {', '.join(nearest(sg_table, sg_vocab.itos, probe))}")

# %% [markdown]
# ### At scale: `dlcourse.embeddings.Word2Vec`
#
# The same algorithm with the tricks that make it work on a real corpus (a learning rate that
# decays to zero, subsampling of frequent words, random window sizes) runs as a compiled,
# multi-threaded kernel, fast enough to take several passes over all 1.46 million words (the
# cell prints its time). `method="cbow"` selects CBOW. The result, `model.wv`, is a table of
# word vectors with `most_similar` (gensim's interface). Its threads update the shared vectors
# without locks, in an order no seed fixes, so a rerun finds slightly different neighbours;
# `workers=1` makes the run repeatable, bit for bit, at the cost of the second core.

# %%
from dlcourse.embeddings import Word2Vec

w2v_settings = dict(vector_size=32 if QUICK else 100, window=5, min_count=3 if QUICK else 5,
                    epochs=1 if QUICK else 3, seed=0)
vectors = {}
for method in ("skipgram", "cbow"):
    began = time.perf_counter()
    model = Word2Vec(method=method, **w2v_settings).fit(sentences)
    vectors[method] = model.wv
    print(f"{method}: {len(model.wv):,} words x {model.wv.vector_size} dims in "
          f"{time.perf_counter() - began:.1f} s")
print(vectors["skipgram"].most_similar("water", topn=6))

# %% [markdown]
# ## GloVe: fitting global co-occurrence counts
#
# GloVe (Pennington et al., 2014) first counts, over the whole corpus, how often word `j`
# appears near word `i` (`X_ij`, nearer words counting more). It then fits vectors so that
# `w_i . w~_j + b_i + b~_j` approximates `log X_ij`, with a weight `f(X_ij)` that caps the
# influence of very frequent pairs and ignores pairs never seen.
#
# ### In plain PyTorch
#
# The counts for the 1,000 most frequent words (300 in quick mode; each pair at distance `d`
# adds `1/d`), then a
# weighted least-squares fit of all non-zero cells at once:

# %%
top = 300 if QUICK else 1000
glove_vocab = Vocab.build(small, max_size=top, specials=())
index = glove_vocab.stoi
# all glosses in one id stream, -1 for rare words and five -1 between glosses, so that no
# window of five crosses from one gloss into the next
stream = np.concatenate([[index.get(w, -1) for w in s] + [-1] * 5 for s in small])
pair_counts = np.zeros((len(glove_vocab), len(glove_vocab)))
for d in range(1, 6):                               # word pairs d positions apart
    a, b = stream[:-d], stream[d:]
    keep = (a >= 0) & (b >= 0)
    np.add.at(pair_counts, (a[keep], b[keep]), 1.0 / d)
cooc = torch.tensor(pair_counts + pair_counts.T, dtype=torch.float)  # symmetric window, (V, V)
rows, cols = cooc.nonzero(as_tuple=True)
x = cooc[rows, cols]
weight = (x / 10.0).clamp(max=1.0) ** 0.75         # f(X) with x_max = 10 for a small corpus
print(f"{len(x):,} non-zero co-occurrence cells of {len(glove_vocab) ** 2:,}")

dim = 50
w, w_tilde = (nn.Parameter(torch.randn(len(glove_vocab), dim) * 0.1) for _ in range(2))
b, b_tilde = (nn.Parameter(torch.zeros(len(glove_vocab))) for _ in range(2))
optimizer = torch.optim.Adam([w, w_tilde, b, b_tilde], lr=0.05)
steps = 100 if QUICK else 150
for step in range(steps):
    pred = (w[rows] * w_tilde[cols]).sum(-1) + b[rows] + b_tilde[cols]  # (nnz,)
    loss = (weight * (pred - x.log()) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0 or step == steps - 1:
        print(f"step {step}: weighted squared error {loss.item():.4f}")
glove_table = (w + w_tilde).detach()   # GloVe keeps the sum of the two tables
for probe in PROBES:
    if probe in index:
        print(f"{probe:>7}: {', '.join(nearest(glove_table, glove_vocab.itos, probe))}")

# %% [markdown]
# ### At scale: `dlcourse.embeddings.GloVe`
#
# The library counts co-occurrences of the whole vocabulary in bounded memory and trains with
# AdaGrad over the shuffled cells, as Stanford's implementation does.

# %%
from dlcourse.embeddings import GloVe

began = time.perf_counter()
glove = GloVe(vector_size=w2v_settings["vector_size"], window=5, x_max=10.0,
              min_count=w2v_settings["min_count"], epochs=2 if QUICK else 10, seed=0)
vectors["glove"] = glove.fit(sentences).wv
print(f"GloVe: {len(vectors['glove']):,} words in {time.perf_counter() - began:.1f} s")
print(vectors["glove"].most_similar("water", topn=6))

# %% [markdown]
# ## An embedding layer learned inside a network
#
# The fourth way learns the vectors as the first layer of a network trained for some task,
# here the lesson's language model: read a word, predict the next one,
# `nn.Embedding(vocab, 100) -> nn.Linear(100, vocab)`, trained with Adam and cross-entropy.
# The recipe: spaCy tokens, lower-cased; a vocabulary of at most 10,000 words seen at least
# twice; batches of 64 glosses of similar length (bucketing), padded; 10 epochs.
#
# (The original lesson used the Penn Treebank, which needs the network; the WordNet glosses
# stand in offline. spaCy is an optional extra: without it, `basic_english` tokens are used.)

# %%
import importlib.util

from dlcourse.text import BucketBatchSampler, PadCollate, get_tokenizer

TOKENIZER = "spacy" if importlib.util.find_spec("spacy") else "basic_english"
tokenizer = get_tokenizer(TOKENIZER, **({"lowercase": True} if TOKENIZER == "spacy" else {}))
lm_glosses = glosses[:2000] if QUICK else glosses[:4000]
tokens = tokenizer.batch(lm_glosses)
lm_vocab = Vocab.build(tokens, max_size=10000, min_freq=2,
                       specials=("<pad>", "<unk>", "<eos>"))
data = [lm_vocab.lookup(t + ["<eos>"]) for t in tokens]   # one id list per gloss
print(f"{tokenizer!r}: {len(data):,} glosses, vocabulary {len(lm_vocab):,}")
print(tokens[1], "->", data[1])

# %% [markdown]
# `BucketBatchSampler` groups glosses of similar length so that little of each batch is
# padding (what torchtext's `BucketIterator` did); `PadCollate` pads a batch to its longest
# gloss. The input is every token but the last, the target every token but the first; padded
# positions are left out of the loss with `ignore_index`.

# %%
from torch.utils.data import DataLoader

sampler = BucketBatchSampler([len(d) for d in data], batch_size=64, seed=0)
loader = DataLoader(data, batch_sampler=sampler, collate_fn=PadCollate(pad_id=lm_vocab.pad_id))
padded, lengths = next(iter(loader))
print(f"one batch: ids {tuple(padded.shape)}, lengths {lengths[:8].tolist()}...")


class NextWordModel(nn.Module):
    """The lesson's model: embed the current word, score every word of the vocabulary."""

    def __init__(self, vocab_size: int, dim: int = 100):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.linear = nn.Linear(dim, vocab_size)

    def forward(self, ids):                        # (B, T)
        return self.linear(self.embedding(ids))    # (B, T, V)


lm = NextWordModel(len(lm_vocab))
optimizer = torch.optim.Adam(lm.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss(ignore_index=lm_vocab.pad_id)
history = []
began = time.perf_counter()
for epoch in range(1, (2 if QUICK else 10) + 1):
    sampler.set_epoch(epoch)                       # a new order of batches each epoch
    total, count = 0.0, 0
    for padded, _ in loader:
        logits = lm(padded[:, :-1])                # predict token t+1 from token t
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), padded[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n = int((padded[:, 1:] != lm_vocab.pad_id).sum())
        total, count = total + loss.item() * n, count + n
    history.append({"epoch": epoch, "train_loss": total / count})
    print(f"epoch {epoch}: loss {total / count:.3f} (perplexity {np.exp(total / count):.0f})")
print(f"{time.perf_counter() - began:.1f} s")

# %%
from dlcourse.plots.common import plot_curves

display(Image(filename=plot_curves(history, ["train_loss"], OUT / "lm_loss.png",
                                   title="Embedding-layer language model", ylabel="loss")))

# %% [markdown]
# The embedding table is `lm.embedding.weight`, one 100-d row per word. Nearest words:

# %%
table = lm.embedding.weight.detach()
print(f"table {tuple(table.shape)}; 'water' starts "
      f"{[round(x, 3) for x in table[lm_vocab['water'], :5].tolist()]}")
for probe in PROBES:
    if probe in lm_vocab:
        print(f"{probe:>7}: {', '.join(nearest(table, lm_vocab.itos, probe))}")

# %% [markdown]
# ### At scale: `dlcourse.lm.LanguageModel`
#
# The library trains the same model (the `embedding` preset: 100-d table, Adam, cross-entropy)
# on the text read as continuous streams, with validation perplexity after each epoch,
# checkpoints and resumable training, and gives the table back as word vectors.

# %%
from dlcourse.lm import LanguageModel, LMConfig, load_corpus

# the tokenizer as a config: spaCy's tokens lower-cased, as above
corpus = load_corpus("wordnet", tokenizer=tokenizer.config,
                     max_lines=2000 if QUICK else 6000, max_size=10000, seed=0)
config = LMConfig.preset("embedding", epochs=1 if QUICK else 2, lr=3e-3, batch_size=10,
                         device="cpu")
began = time.perf_counter()
language_model = LanguageModel(config=config).fit(corpus)
print(f"{corpus.summary()}: {time.perf_counter() - began:.1f} s")
print(f"test perplexity {language_model.perplexity(corpus.test):.0f} "
      f"(a uniform guess: {len(corpus.itos):,})")
vectors["language model"] = language_model.keyed_vectors()
print(language_model.most_similar("water", topn=6))

# %% [markdown]
# ## Looking at the vectors
#
# ### Nearest words
#
# The same probe words in each trained table. With the full settings, skip-gram, CBOW and GloVe
# find related words ("red": yellow, purple, white); the quick mode's little text gives mostly
# frequent words such as "for" and "the".

# %%
for probe in PROBES:
    print(probe)
    for name, kv in vectors.items():
        if probe in kv:
            print(f"   {name:>15}: {', '.join(w for w, _ in kv.most_similar(probe, topn=5))}")
        else:  # below min_count in this corpus (or a typo)
            print(f"   {name:>15}: not in its vocabulary")

# %% [markdown]
# ### How well do they agree with people?
#
# WordSim-353 asks people to rate how related 353 word pairs are; a good table gives related
# pairs a high cosine. The score is the rank correlation (Spearman's rho) between the two, over
# the pairs whose words the table knows. One-hot vectors give every pair of different words
# cosine 0, so they cannot rank anything.

# %%
from dlcourse.embeddings import evaluate_similarity
from dlcourse.embeddings import one_hot as one_hot_vectors

scores = {"one-hot": evaluate_similarity(one_hot_vectors(vectors["skipgram"].index_to_key[:5000]))}
scores.update({name: evaluate_similarity(kv) for name, kv in vectors.items()})
print(f"{'vectors':>15} {'rho':>6} {'pairs':>6}")
for name, s in scores.items():
    rho = "-" if np.isnan(s["spearman"]) else f"{s['spearman']:.3f}"  # one-hot: all ties
    print(f"{name:>15} {rho:>6} {s['pairs']:6d}")

# %% [markdown]
# With the full settings, skip-gram and GloVe give the best neighbours and scores: they see
# all 1.46 million words, and their objective is exactly "words in similar company get similar
# vectors". The language model's table saw about a fifteenth of the text for two epochs, and its
# task (guess the next word from the current one) rewards what a word predicts rather than what
# it means, so its neighbours are mostly noise at this size. Published vectors are trained on
# billions of words; the ranking, not the absolute scores, is the lesson here. (The quick mode's
# scores, on fewer than 100 pairs from little text, are noise: they rank nothing.)
#
# ### A 2-D map
#
# The vectors have 100 dimensions (32 in quick mode); t-SNE (PCA in quick mode) squeezes a few
# probe words and their nearest neighbours onto a plane, keeping near words near.

# %%
from dlcourse.embeddings import words_and_neighbors
from dlcourse.plots.embeddings import plot_word_map

kv = vectors["skipgram"]
shown, groups = words_and_neighbors(kv, [p for p in PROBES if p in kv], topn=6)
path = plot_word_map(shown, kv[shown], OUT / "word_map.png", groups=groups,
                     method="pca" if QUICK else "tsne",
                     title="skip-gram vectors of WordNet glosses")
display(Image(filename=path))

# %% [markdown]
# ## Summary and the command line
#
# One-hot vectors only tell words apart; word2vec and GloVe learn from which words occur
# together (locally or in global counts); an embedding layer learns whatever its network's task
# needs. The same steps from the shell:
#
# ```
# dlcourse embed train wordnet --method skipgram --dim 100 --epochs 3 --out runs/skipgram
# dlcourse embed similar runs/skipgram water music king
# dlcourse embed plot runs/skipgram water music king --projection tsne --out runs/map.png
# dlcourse lm train wordnet --model embedding --max-lines 6000 --max-vocab 10000 \
#     --lr 3e-3 --batch-size 10 --epochs 2 --out runs/lm-embedding
# dlcourse lm similar runs/lm-embedding water music
# ```
#
# `--max-lines 6000` reads the 6,000 training glosses the language model above used; without it
# `lm train` reads all 117,659 glosses, a training split about 16 times as large. The other
# options are the settings above; the tokenizer is the command line's default, basic_english,
# which splits some words otherwise than the lower-cased spaCy tokens above (about 89,000
# training tokens instead of 95,000), so the perplexity differs too: 177 on the test glosses,
# against about 150 above with the full settings.
