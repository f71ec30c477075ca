"""Compiled CPU kernels (numba, nogil: several Python threads update the shared weights Hogwild).

Each word2vec call trains one thread's share of a block of sentences and returns its loss sum
and counts. The random generator is xorshift64* seeded per call; negatives come from an alias
table; the sigmoid and the loss come from tables. Skip-gram draws one set of noise words per
centre word and trains every context of its window against it (Ji et al. 2016, "Parallelizing
word2vec in shared and distributed memory"): the output rows are fetched from memory once per
window instead of once per pair: a quarter less CPU time at equal quality. The word2vec
kernels are compiled once per vector size (:func:`word2vec_kernel`): with the row length a
constant, LLVM lays the dot products and updates out as whole SIMD registers with no remainder
loops (about a quarter faster than a row length read at run time). Everything is cached on
disk (``cache=True``).
"""

from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from dlcourse.embeddings.corpus import MAX_SENTENCE  # the kernels' sentence buffer

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


@intrinsic
def _prefetch_row(typingctx, matrix, row):
    """Ask the CPU to start loading ``matrix[row]`` (C-contiguous, up to 512 bytes) into cache.

    The negatives' output rows are random rows of a table larger than L2: issuing all their
    loads before the first dot product overlaps the cache misses instead of paying them in turn.
    """
    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        i32, i64, i8p = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1], i64(0)])
        base = builder.bitcast(ptr, i8p)
        nbytes = builder.mul(builder.extract_value(ary.shape, 1), i64(aryty.dtype.bitwidth // 8))
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch.p0i8")
        # one hint per 64-byte cache line, and the last byte's line (rows need not be aligned);
        # arguments: read access, high temporal locality, data cache
        for offset in range(0, 512, 64):
            with builder.if_then(builder.icmp_signed("<", i64(offset), nbytes)):
                builder.call(fn, [builder.gep(base, [i64(offset)]), i32(0), i32(3), i32(1)])
        last = builder.gep(base, [builder.sub(nbytes, i64(1))])
        builder.call(fn, [last, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(matrix, row), codegen


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
def _subsample(tokens, begin, end, keep, sen, state):
    """Copy the kept words of ``tokens[begin:end]`` into ``sen``; returns (count, state)."""
    n = 0
    for p in range(begin, end):
        w = tokens[p]
        state, bits = _next(state)
        if _uniform(bits) < keep[w]:
            sen[n] = w
            n += 1
    return n, state


@njit(inline="always")
def _alpha(alpha0, min_alpha, done, total):
    # linear decay by the position in the whole run, as word2vec.c and gensim
    return np.float32(max(alpha0 - (alpha0 - min_alpha) * done / total, min_alpha))


@njit(inline="always")
def _draw(w_out, center, negative, prob, alias, targets, state):
    """Fill ``targets`` with the true word and ``negative`` noise words; returns the state.

    All are drawn before any is used, so that their rows load together (prefetched).
    """
    targets[0] = center
    _prefetch_row(w_out, np.int64(center))
    for d in range(1, negative + 1):
        state, bits = _next(state)
        i = _below(bits, prob.shape[0])
        t = i if _uniform(bits) < prob[i] else np.int64(alias[i])
        targets[d] = t
        _prefetch_row(w_out, t)
    return state


@njit(inline="always")
def _outputs(l1, w_out, negative, alpha, neu1e, targets, dim):
    """Train input ``l1`` (dim,) against the outputs ``targets`` (the true word, then noise).

    Accumulates neu1e += g * w_out[t] and applies w_out[t] += g * l1 for each output t with
    g = (label - sigmoid(l1 . w_out[t])) * alpha. As gensim does, a score beyond +-6 (sigmoid
    saturated) makes no update; its loss is then approximated by 0 or |f|. Returns the loss.
    """
    center = targets[0]
    loss = 0.0
    for d in range(negative + 1):
        t = targets[d]
        if d > 0 and t == center:
            continue
        row = w_out[t]
        f = np.float32(0.0)
        for k in range(dim):
            f += l1[k] * row[k]
        if f >= _MAX_EXP or f <= -_MAX_EXP:
            # -log sigmoid(f) ~ max(0, -f) for the true word, -log(1 - sigmoid(f)) ~ max(0, f)
            loss += max(np.float32(0.0), f if d > 0 else -f)
            continue
        j = int((f + _MAX_EXP) * _TABLE_SCALE)
        g = ((np.float32(1.0) if d == 0 else np.float32(0.0)) - _SIGMOID[j]) * alpha
        for k in range(dim):
            neu1e[k] += g * row[k]
        for k in range(dim):
            row[k] += g * l1[k]
        loss += _LOSS_POS[j] if d == 0 else _LOSS_NEG[j]
    return loss


@functools.cache
def word2vec_kernel(method: str, dim: int):
    """The compiled kernel of ``method`` ("skipgram" or "cbow") for vectors of size ``dim``.

    ``kernel(tokens, starts, s_begin, s_end, w_in, w_out, keep, prob, alias, window, negative,
    cbow_mean, alpha0, min_alpha, done_before, total, seed)`` trains sentences
    ``s_begin:s_end`` of a block and returns (loss, outputs, kept words, words). tokens (N,)
    int32, starts (S+1,) int64 (at most MAX_SENTENCE words a sentence), w_in/w_out (V, dim)
    float32 updated in place, keep (V,) float32 subsampling keep probabilities, prob/alias (V,)
    the negative-sampling alias table. The learning rate falls linearly from alpha0 to
    min_alpha over ``total`` words, by the position ``done_before + words done here``.
    """
    return (_skipgram_kernel if method == "skipgram" else _cbow_kernel)(dim)


def _skipgram_kernel(dim):
    @njit(nogil=True, fastmath=True, cache=True)
    def skipgram(tokens, starts, s_begin, s_end, w_in, w_out, keep, prob, alias, window,
                 negative, cbow_mean, alpha0, min_alpha, done_before, total, seed):
        state = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)
        sen = np.empty(MAX_SENTENCE, dtype=np.int32)
        neu1e = np.empty(dim, dtype=np.float32)
        targets = np.empty(negative + 1, dtype=np.int64)
        loss, n_out, kept, raw = 0.0, 0, 0, 0
        for s in range(s_begin, s_end):
            alpha = _alpha(alpha0, min_alpha, done_before + raw, total)
            n, state = _subsample(tokens, starts[s], starts[s + 1], keep, sen, state)
            raw += starts[s + 1] - starts[s]
            kept += n
            for i in range(n):
                state, bits = _next(state)
                b = _below(bits, window)  # reduced window: 1..window words each side
                lo, hi = max(0, i - window + b), min(n, i + window + 1 - b)
                if hi - lo <= 1:
                    continue
                # one draw of noise words for the whole window: their rows stay in L1 across
                # the window's contexts instead of a fresh set of cache misses per pair
                state = _draw(w_out, sen[i], negative, prob, alias, targets, state)
                for j in range(lo, hi):
                    if j == i:
                        continue
                    # gensim's convention: the context's input vector predicts the centre word
                    l1 = w_in[sen[j]]
                    for k in range(dim):
                        neu1e[k] = 0.0
                    loss += _outputs(l1, w_out, negative, alpha, neu1e, targets, dim)
                    n_out += 1
                    for k in range(dim):
                        l1[k] += neu1e[k]
        return loss, n_out, kept, raw

    return skipgram


def _cbow_kernel(dim):
    @njit(nogil=True, fastmath=True, cache=True)
    def cbow(tokens, starts, s_begin, s_end, w_in, w_out, keep, prob, alias, window, negative,
             cbow_mean, alpha0, min_alpha, done_before, total, seed):
        state = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)
        sen = np.empty(MAX_SENTENCE, dtype=np.int32)
        neu1 = np.empty(dim, dtype=np.float32)
        neu1e = np.empty(dim, dtype=np.float32)
        targets = np.empty(negative + 1, dtype=np.int64)
        loss, n_out, kept, raw = 0.0, 0, 0, 0
        for s in range(s_begin, s_end):
            alpha = _alpha(alpha0, min_alpha, done_before + raw, total)
            n, state = _subsample(tokens, starts[s], starts[s + 1], keep, sen, state)
            raw += starts[s + 1] - starts[s]
            kept += n
            for i in range(n):
                state, bits = _next(state)
                b = _below(bits, window)  # reduced window: 1..window words each side
                lo, hi = max(0, i - window + b), min(n, i + window + 1 - b)
                count = hi - lo - 1
                if count <= 0:
                    continue
                for k in range(dim):
                    neu1[k] = 0.0
                    neu1e[k] = 0.0
                for j in range(lo, hi):
                    if j != i:
                        row = w_in[sen[j]]
                        for k in range(dim):
                            neu1[k] += row[k]
                inv = np.float32(1.0) / np.float32(count)
                if cbow_mean:
                    for k in range(dim):
                        neu1[k] *= inv
                state = _draw(w_out, sen[i], negative, prob, alias, targets, state)
                loss += _outputs(neu1, w_out, negative, alpha, neu1e, targets, dim)
                n_out += 1
                if not cbow_mean:  # the summed input spreads its error over the window
                    for k in range(dim):
                        neu1e[k] *= inv
                for j in range(lo, hi):
                    if j != i:
                        row = w_in[sen[j]]
                        for k in range(dim):
                            row[k] += neu1e[k]
        return loss, n_out, kept, raw

    return cbow


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


@functools.cache
def glove_kernel(dim: int):
    """GloVe's AdaGrad step compiled for vectors of size ``dim``.

    ``kernel(rows, cols, logx, weight, begin, end, w, c, bw, bc, gw, gc, gbw, gbc, eta)`` runs
    over co-occurrence entries ``begin:end``, minimising f(X)(w_i.c_j + b_i + b_j - log X)^2:
    rows/cols (M,) int32, logx/weight (M,) float32 precomputed log X_ij and f(X_ij); w/c
    (V, dim) vectors, bw/bc (V,) biases, g* their squared-gradient sums, all updated in place.
    Returns the sum of 0.5 f(X) diff^2 over the entries. The entries come shuffled, so each
    touches four random rows (w_i, c_j and their sums): the rows of the entry two ahead are
    requested while this one is computed (1.6x faster on the glosses' 4M entries).
    """
    # error_model numpy: a diverging step gives inf or nan (the caller checks each epoch's
    # loss) instead of a ZeroDivisionError from inside the kernel
    @njit(nogil=True, fastmath=True, cache=True, error_model="numpy")
    def glove(rows, cols, logx, weight, begin, end, w, c, bw, bc, gw, gc, gbw, gbc, eta):
        loss = 0.0
        for e in range(begin, end):
            if e + 2 < end:
                i2, j2 = np.int64(rows[e + 2]), np.int64(cols[e + 2])
                _prefetch_row(w, i2)
                _prefetch_row(gw, i2)
                _prefetch_row(c, j2)
                _prefetch_row(gc, j2)
            i, j = rows[e], cols[e]
            wi, cj, gwi, gcj = w[i], c[j], gw[i], gc[j]
            diff = bw[i] + bc[j] - logx[e]
            for k in range(dim):
                diff += wi[k] * cj[k]
            fdiff = weight[e] * diff
            loss += 0.5 * fdiff * diff
            fdiff *= eta
            for k in range(dim):
                g1 = fdiff * cj[k]
                g2 = fdiff * wi[k]
                wi[k] -= g1 / np.sqrt(gwi[k])
                cj[k] -= g2 / np.sqrt(gcj[k])
                gwi[k] += g1 * g1
                gcj[k] += g2 * g2
            bw[i] -= fdiff / np.sqrt(gbw[i])
            bc[j] -= fdiff / np.sqrt(gbc[j])
            gbw[i] += fdiff * fdiff
            gbc[j] += fdiff * fdiff
        return loss

    return glove
