"""Compiled CPU kernels (numba, nogil: several Python threads update the shared weights Hogwild).

Each call trains one thread's share of a block of sentences and returns its loss sum and counts.
The random generator is xorshift64 seeded per call; negatives come from an alias table; the
sigmoid is computed directly in float32. Compiled once and cached on disk (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_U13 = np.uint64(13)
_U7 = np.uint64(7)
_U17 = np.uint64(17)
_U32 = np.uint64(32)
_U40 = np.uint64(40)
_LOW24 = np.uint64(0xFFFFFF)
_INV24 = np.float32(1.0 / (1 << 24))
_MAX_F = np.float32(20.0)


@njit(inline="always")
def _next(state):
    state ^= state << _U13
    state ^= state >> _U7
    state ^= state << _U17
    return state


@njit(inline="always")
def _below(state, n):
    # multiply-shift instead of a modulo: uniform int in [0, n) from the high 32 bits
    return np.int64(((state >> _U32) * np.uint64(n)) >> _U32)


@njit(inline="always")
def _negative(state, prob, alias):
    i = _below(state, prob.shape[0])
    u = np.float32(state & _LOW24) * _INV24
    return i if u < prob[i] else alias[i]


@njit(inline="always")
def _update(l1, out, target, label, alpha, neu1e, dim):
    """One logistic output: neu1e += g * out[target]; out[target] += g * l1. Returns the loss."""
    f = np.float32(0.0)
    for k in range(dim):
        f += l1[k] * out[target, k]
    f = min(max(f, -_MAX_F), _MAX_F)
    e = np.exp(-f)
    sig = np.float32(1.0) / (np.float32(1.0) + e)
    g = (label - sig) * alpha
    for k in range(dim):
        neu1e[k] += g * out[target, k]
        out[target, k] += g * l1[k]
    # -log sigmoid(f) for the true word, -log(1 - sigmoid(f)) for a negative
    return np.log1p(e) if label > 0 else f + np.log1p(e)


@njit(nogil=True, fastmath=True, cache=True)
def train_word2vec_part(tokens, starts, s_begin, s_end, w_in, w_out, keep, prob, alias,
                        window, negative, cbow, cbow_mean, alpha0, min_alpha, done_before,
                        scale, total, seed):
    """Train sentences ``s_begin:s_end`` of a block; returns (loss, outputs, kept words, raw words).

    tokens (N,) int32, starts (S+1,) int64, w_in/w_out (V, D) float32 updated in place,
    keep (V,) float32 subsampling keep probabilities, prob/alias (V,) the negative-sampling alias
    table. The learning rate falls linearly from alpha0 to min_alpha over ``total`` words; this
    part's progress is ``done_before + scale * words done here`` (scale = number of threads).
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
        progress = (done_before + scale * raw) / total
        alpha = np.float32(max(alpha0 - (alpha0 - min_alpha) * progress, min_alpha))
        n = 0
        for p in range(starts[s], starts[s + 1]):
            w = tokens[p]
            state = _next(state)
            if np.float32(state & _LOW24) * _INV24 < keep[w]:
                sen[n] = w
                n += 1
        raw += starts[s + 1] - starts[s]
        kept += n
        for i in range(n):
            state = _next(state)
            b = _below(state, window)  # dynamic window: 1..window
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
                        state = _next(state)
                        t = _negative(state, prob, alias)
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
                    state = _next(state)
                    t = _negative(state, prob, alias)
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


@njit(nogil=True, fastmath=True, cache=True)
def cooccurrence_pairs(tokens, starts, window, keys, vals):
    """Emit co-occurrence entries of a block: key = min(i,j) * V' + max(i,j), weight 1/distance.

    The caller sizes ``keys`` (int64) / ``vals`` (float32) to hold ``len(tokens) * window``
    entries; ``keys`` receives ``lo << 32 | hi``. Returns the number written.
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
                vals[n] = np.float32(1.0) / np.float32(p - q)
                n += 1
    return n


@njit(nogil=True, cache=True)
def reduce_sorted(keys, vals):
    """Sum ``vals`` over runs of equal sorted ``keys`` in place; returns the number of runs."""
    if keys.shape[0] == 0:
        return 0
    m = 0
    for i in range(1, keys.shape[0]):
        if keys[i] == keys[m]:
            vals[m] += vals[i]
        else:
            m += 1
            keys[m] = keys[i]
            vals[m] = vals[i]
    return m + 1


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
