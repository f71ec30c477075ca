"""Compiled CPU kernels (numba, nogil: several Python threads update the shared weights Hogwild).

Each call trains one thread's share of a block of sentences and returns its loss sum and counts.
The random generator is xorshift64* seeded per call; negatives come from an alias table; the
sigmoid and the loss come from tables. Compiled once and cached on disk (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_U8 = np.uint64(8)
_U12 = np.uint64(12)
_U25 = np.uint64(25)
_U27 = np.uint64(27)
_U32 = np.uint64(32)
_MULT = np.uint64(0x2545F4914F6CDD1D)
_LOW24 = np.uint64(0xFFFFFF)
_INV24 = np.float32(1.0 / (1 << 24))
# sigmoid and loss tables over [-6, 6) (word2vec's EXP_TABLE): cheaper than exp/log per output
_MAX_EXP = np.float32(6.0)
_TABLE_SIZE = 1000
_TABLE_SCALE = np.float32(_TABLE_SIZE / (2 * 6.0))
_F = (np.arange(_TABLE_SIZE, dtype=np.float64) + 0.5) / _TABLE_SIZE * 12.0 - 6.0
_SIGMOID = (1 / (1 + np.exp(-_F))).astype(np.float32)
_LOSS_POS = np.log1p(np.exp(-_F)).astype(np.float32)  # -log sigmoid(f)
_LOSS_NEG = np.log1p(np.exp(_F)).astype(np.float32)  # -log(1 - sigmoid(f))


@njit(inline="always")
def _next(state):
    """xorshift64* step: returns (new state, 64 well-mixed random bits)."""
    state ^= state >> _U12
    state ^= state << _U25
    state ^= state >> _U27
    return state, state * _MULT


@njit(inline="always")
def _below(bits, n):
    # multiply-shift instead of a modulo: uniform int in [0, n) from the high 32 bits
    return np.int64(((bits >> _U32) * np.uint64(n)) >> _U32)


@njit(inline="always")
def _uniform(bits):
    # a float32 in [0, 1) from bits 8..31 (the high 32 bits serve _below)
    return np.float32((bits >> _U8) & _LOW24) * _INV24


@njit(inline="always")
def _negative(bits, prob, alias):
    i = _below(bits, prob.shape[0])
    return i if _uniform(bits) < prob[i] else alias[i]


@njit(inline="always")
def _update(l1, out, target, label, alpha, neu1e, dim):
    """One logistic output: neu1e += g * out[target]; out[target] += g * l1. Returns the loss.

    As gensim does, a score beyond +-6 (sigmoid saturated) makes no update; its loss is then
    approximated by 0 or |f|.
    """
    f = np.float32(0.0)
    for k in range(dim):
        f += l1[k] * out[target, k]
    if f >= _MAX_EXP or f <= -_MAX_EXP:
        # -log sigmoid(f) ~ max(0, -f) for the true word, -log(1 - sigmoid(f)) ~ max(0, f)
        return max(np.float32(0.0), f if label == 0 else -f)
    t = int((f + _MAX_EXP) * _TABLE_SCALE)
    g = (label - _SIGMOID[t]) * alpha
    for k in range(dim):
        neu1e[k] += g * out[target, k]
        out[target, k] += g * l1[k]
    return _LOSS_POS[t] if label > 0 else _LOSS_NEG[t]


@njit(nogil=True, fastmath=True, cache=True)
def train_word2vec_part(tokens, starts, s_begin, s_end, w_in, w_out, keep, prob, alias,
                        window, negative, cbow, cbow_mean, alpha0, min_alpha, done_before,
                        total, seed):
    """Train sentences ``s_begin:s_end`` of a block; returns (loss, outputs, kept words, raw words).

    tokens (N,) int32, starts (S+1,) int64, w_in/w_out (V, D) float32 updated in place,
    keep (V,) float32 subsampling keep probabilities, prob/alias (V,) the negative-sampling alias
    table. The learning rate falls linearly from alpha0 to min_alpha over ``total`` words, by the
    position ``done_before + words done here`` in the whole run.
    """
    dim = w_in.shape[1]
    state = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)
    sen = np.empty(10000, dtype=np.int32)
    neu1 = np.empty(dim, dtype=np.float32)
    neu1e = np.empty(dim, dtype=np.float32)
    loss = 0.0
    n_out = 0
    kept = 0
    raw = 0
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for s in range(s_begin, s_end):
        progress = (done_before + raw) / total
        alpha = np.float32(max(alpha0 - (alpha0 - min_alpha) * progress, min_alpha))
        n = 0
        for p in range(starts[s], starts[s + 1]):
            w = tokens[p]
            state, bits = _next(state)
            if _uniform(bits) < keep[w]:
                sen[n] = w
                n += 1
        raw += starts[s + 1] - starts[s]
        kept += n
        for i in range(n):
            state, bits = _next(state)
            b = _below(bits, window)  # dynamic window: 1..window
            lo = max(0, i - window + b)
            hi = min(n, i + window + 1 - b)
            center = sen[i]
            if not cbow:
                for j in range(lo, hi):
                    if j == i:
                        continue
                    ctx = sen[j]
                    # gensim's convention: the context's input vector predicts the centre word
                    for k in range(dim):
                        neu1e[k] = zero
                    loss += _update(w_in[ctx], w_out, center, one, alpha, neu1e, dim)
                    for _ in range(negative):
                        state, bits = _next(state)
                        t = _negative(bits, prob, alias)
                        if t != center:
                            loss += _update(w_in[ctx], w_out, t, zero, alpha, neu1e, dim)
                    n_out += 1
                    for k in range(dim):
                        w_in[ctx, k] += neu1e[k]
            else:
                count = hi - lo - 1
                if count <= 0:
                    continue
                for k in range(dim):
                    neu1[k] = zero
                    neu1e[k] = zero
                for j in range(lo, hi):
                    if j != i:
                        for k in range(dim):
                            neu1[k] += w_in[sen[j], k]
                inv = one / np.float32(count)
                if cbow_mean:
                    for k in range(dim):
                        neu1[k] *= inv
                loss += _update(neu1, w_out, center, one, alpha, neu1e, dim)
                for _ in range(negative):
                    state, bits = _next(state)
                    t = _negative(bits, prob, alias)
                    if t != center:
                        loss += _update(neu1, w_out, t, zero, alpha, neu1e, dim)
                n_out += 1
                if not cbow_mean:  # the summed input spreads its error over the window
                    for k in range(dim):
                        neu1e[k] *= inv
                for j in range(lo, hi):
                    if j != i:
                        for k in range(dim):
                            w_in[sen[j], k] += neu1e[k]
    return loss, n_out, kept, raw


# co-occurrence weights 1/d are counted in fixed point, units of 2**-30: integer sums are exact
# whatever the order of addition (flushes, ranks), and round(2**30/d) is within 2**-31 of 1/d
WEIGHT_UNITS = 1 << 30


@njit(nogil=True, fastmath=True, cache=True)
def cooccurrence_pairs(tokens, starts, window, keys, vals):
    """Emit co-occurrence entries of a block: key ``min(i,j) << 32 | max(i,j)``, weight 1/distance.

    The weight is written as the int32 ``round(WEIGHT_UNITS / distance)``. The caller sizes
    ``keys`` (int64) / ``vals`` (int32) to hold ``len(tokens) * window`` entries. Returns the
    number written.
    """
    n = 0
    for s in range(starts.shape[0] - 1):
        a, b = starts[s], starts[s + 1]
        for p in range(a, b):
            w = np.int64(tokens[p])
            for q in range(max(a, p - window), p):
                c = np.int64(tokens[q])
                lo, hi = (w, c) if w < c else (c, w)
                keys[n] = (lo << 32) | hi
                d = p - q
                vals[n] = np.int32((WEIGHT_UNITS + d // 2) // d)  # rounded to nearest
                n += 1
    return n


@njit(nogil=True, cache=True)
def sort_reduce(keys, vals, vocab_size):
    """Sort (key, value) entries by key and sum duplicates into int64; returns new compact arrays.

    Keys are ``row << 32 | col``; values are integers (int32 or int64), summed exactly. A
    counting sort by row (O(n + V)), then a dense accumulator per row (only the distinct columns
    get sorted): much faster than a global argsort.
    """
    n = keys.shape[0]
    starts = np.zeros(vocab_size + 1, dtype=np.int64)  # (V+1,) row offsets
    for e in range(n):
        starts[(keys[e] >> 32) + 1] += 1
    for r in range(vocab_size):
        starts[r + 1] += starts[r]
    fill = starts[:-1].copy()
    cols = np.empty(n, dtype=np.int32)
    cvals = np.empty(n, dtype=np.int64)
    for e in range(n):
        r = keys[e] >> 32
        cols[fill[r]] = np.int32(keys[e] & 0xFFFFFFFF)
        cvals[fill[r]] = vals[e]
        fill[r] += 1
    out_keys = np.empty(n, dtype=np.int64)
    out_vals = np.empty(n, dtype=np.int64)
    acc = np.zeros(vocab_size, dtype=np.int64)  # dense accumulator for one row
    mark = np.full(vocab_size, -1, dtype=np.int64)  # the row that last touched each column
    touched = np.empty(vocab_size, dtype=np.int32)
    m = 0
    for r in range(vocab_size):
        t = 0
        for e in range(starts[r], starts[r + 1]):
            c = cols[e]
            if mark[c] != r:
                mark[c] = r
                acc[c] = 0
                touched[t] = c
                t += 1
            acc[c] += cvals[e]
        for c in np.sort(touched[:t]):
            out_keys[m] = (np.int64(r) << 32) | np.int64(c)
            out_vals[m] = acc[c]
            m += 1
    return out_keys[:m].copy(), out_vals[:m].copy()


@njit(nogil=True, fastmath=True, cache=True)
def train_glove_part(rows, cols, logx, weight, begin, end, w, c, bw, bc, gw, gc, gbw, gbc, eta):
    """AdaGrad over co-occurrence entries ``begin:end``: f(X)(w_i.c_j + b_i + b_j - log X)^2.

    rows/cols (M,) int32, logx/weight (M,) float32 precomputed log X_ij and f(X_ij).
    w/c (V, D) vectors, bw/bc (V,) biases, g* their squared-gradient sums; all updated in place.
    Returns the sum of 0.5 f(X) diff^2 over the entries.
    """
    dim = w.shape[1]
    loss = 0.0
    for e in range(begin, end):
        i, j = rows[e], cols[e]
        diff = bw[i] + bc[j] - logx[e]
        for k in range(dim):
            diff += w[i, k] * c[j, k]
        fdiff = weight[e] * diff
        loss += 0.5 * fdiff * diff
        fdiff *= eta
        for k in range(dim):
            g1 = fdiff * c[j, k]
            g2 = fdiff * w[i, k]
            w[i, k] -= g1 / np.sqrt(gw[i, k])
            c[j, k] -= g2 / np.sqrt(gc[j, k])
            gw[i, k] += g1 * g1
            gc[j, k] += g2 * g2
        bw[i] -= fdiff / np.sqrt(gbw[i])
        bc[j] -= fdiff / np.sqrt(gbc[j])
        gbw[i] += fdiff * fdiff
        gbc[j] += fdiff * fdiff
    return loss
