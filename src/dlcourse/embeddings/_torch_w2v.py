"""Batched torch word2vec (the GPU path): pairs built with numpy, explicit SGD updates on device.

The gradients of the negative-sampling loss are written out by hand and applied with
``index_add_`` (duplicate words in a batch add up), so no autograd graph or optimizer state is
kept: the same plain SGD with linear learning-rate decay as the CPU kernel.

Under torchrun every rank holds the whole tables and builds the same pairs, order and negatives
(same seeds); of each global batch of ``batch_size`` pairs a rank computes the gradients of its
1/N slice, the ranks all-gather those gradient factors (dL/dh and the output coefficients:
D + 1 + K floats a pair, not the (2 + K) D of the update rows; the input vectors h every rank
recomputes from its tables), and every rank applies the whole batch's update. So N ranks run
the SGD of one process with the same batch (to float rounding) and hold identical tables. Not
DDP: its dense all-reduce of the V x D gradients every step would move far more than these
sparse updates; not periodic parameter averaging, which would change the effective learning
rate and make results depend on N. The price: every rank builds all pairs and applies every
update, so on a CPU more ranks barely pay (see benchmarks/bench_word2vec.py --distributed).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from dlcourse.engine import resolve_device


class TorchTrainer:
    """Trains ``w_in``/``w_out`` (copied to the device) block by block; see Word2Vec.fit."""

    def __init__(self, cfg, w_in: np.ndarray, w_out: np.ndarray, keep: np.ndarray,
                 noise: np.ndarray, rank: int = 0, world: int = 1):
        self.cfg = cfg
        self.rank, self.world = rank, world
        self.comm_seconds = 0.0  # in collectives (synchronous on gloo; queued on nccl)
        self.device = resolve_device(cfg.device)
        self.w_in = torch.from_numpy(w_in).to(self.device)  # (V, D)
        self.w_out = torch.from_numpy(w_out).to(self.device)  # (V, D)
        self.keep = keep
        self.noise = torch.as_tensor(noise / noise.sum(), dtype=torch.float32,
                                     device=self.device)  # (V,)
        self.rng = np.random.default_rng(cfg.seed)
        self.gen = torch.Generator(device=self.device).manual_seed(cfg.seed)

    def _windows(self, tokens: np.ndarray, starts: np.ndarray):
        """Subsample, then for every kept token its context ids (N, 2W) and a validity mask."""
        cfg = self.cfg
        kept = self.rng.random(len(tokens), dtype=np.float32) < self.keep[tokens]  # (N,)
        sent = np.repeat(np.arange(len(starts) - 1), np.diff(starts))[kept]  # (N',)
        ids = tokens[kept]  # (N',)
        n = len(ids)
        reach = cfg.window - self.rng.integers(0, cfg.window, n)  # (N',) dynamic window 1..W
        ctx = np.zeros((n, 2 * cfg.window), dtype=np.int64)  # (N', 2W)
        mask = np.zeros((n, 2 * cfg.window), dtype=bool)
        for o in range(1, cfg.window + 1):
            # right neighbour at distance o
            ok = np.zeros(n, dtype=bool)
            ok[:n - o] = (sent[:n - o] == sent[o:]) & (o <= reach[:n - o])
            ctx[:n - o, 2 * o - 2] = ids[o:]
            mask[:, 2 * o - 2] = ok
            # left neighbour at distance o
            ok = np.zeros(n, dtype=bool)
            ok[o:] = (sent[o:] == sent[:n - o]) & (o <= reach[o:])
            ctx[o:, 2 * o - 1] = ids[:n - o]
            mask[:, 2 * o - 1] = ok
        return ids, ctx, mask

    def train_block(self, tokens, starts, done_before, total, seed):
        cfg = self.cfg
        centers, ctx, mask = self._windows(tokens, starts)
        if cfg.method == "skipgram":
            rows, cols = np.nonzero(mask)
            # gensim's convention: the context word's input vector predicts the centre word
            inputs = ctx[rows, cols][:, None]  # (P, 1)
            targets = centers[rows]  # (P,)
            in_mask = np.ones_like(inputs, dtype=bool)
        else:
            has = mask.any(axis=1)
            inputs, in_mask, targets = ctx[has], mask[has], centers[has]  # (P, 2W) (P, 2W) (P,)
        # one transfer per block, shuffled on the host; batches are slices on the device
        order = self.rng.permutation(len(targets))
        dev = self.device
        inputs = torch.from_numpy(inputs[order]).to(dev)
        in_mask = torch.from_numpy(in_mask[order]).to(dev)
        targets = torch.from_numpy(targets[order].astype(np.int64)).to(dev)
        loss_sum = torch.zeros((), dtype=torch.float64, device=dev)  # no host sync per step
        bs = cfg.batch_size
        for b in range(0, len(order), bs):
            progress = (done_before + len(tokens) * b / max(len(order), 1)) / total
            alpha = max(cfg.alpha - (cfg.alpha - cfg.min_alpha) * progress, cfg.min_alpha)
            loss_sum += self._step(inputs[b:b + bs], in_mask[b:b + bs], targets[b:b + bs], alpha)
        if self.world > 1:
            from dlcourse.engine.distributed import all_reduce_sum

            loss_sum = all_reduce_sum(loss_sum)  # each rank summed its slices' losses
            if dev.type != "cpu":
                # GPU index_add_ adds duplicates in any order: keep the ranks' bits identical
                torch.distributed.broadcast(self.w_in, 0)
                torch.distributed.broadcast(self.w_out, 0)
        return float(loss_sum), len(order)

    @torch.no_grad()
    def _step(self, inputs, in_mask, targets, alpha: float) -> torch.Tensor:
        """One SGD step on a batch; inputs (B, C) ids with mask (B, C), targets (B,).

        Returns the summed loss of this rank's slice of the batch as a 0-d tensor on the device.
        """
        cfg = self.cfg
        bsz = targets.shape[0]
        # the whole batch's negatives on every rank (same generator state), sliced below
        negs = torch.multinomial(self.noise, bsz * cfg.negative, replacement=True,
                                 generator=self.gen).view(bsz, cfg.negative)  # (B, K)
        m = in_mask.to(torch.float32)  # (B, C)
        count = m.sum(1, keepdim=True).clamp_min(1)  # (B, 1)
        # h on every rank for the whole batch (a cheap gather from identical tables), so only
        # the gradient factors travel between ranks
        h = (self.w_in[inputs] * m[..., None]).sum(1)  # (B, D)
        if cfg.method == "cbow" and cfg.cbow_mean:
            h = h / count
        cuts = [bsz * r // self.world for r in range(self.world + 1)]  # rank r: cuts[r]:cuts[r+1]
        lo, hi = cuts[self.rank], cuts[self.rank + 1]
        factors, loss = self._gradients(h[lo:hi], targets[lo:hi], negs[lo:hi], alpha)
        if self.world > 1:
            start = time.perf_counter()
            factors = _all_gather_rows(factors, np.diff(cuts))
            self.comm_seconds += time.perf_counter() - start
        dim = self.w_in.shape[1]
        grad_h, g_pos, g_neg = factors[:, :dim], factors[:, dim], factors[:, dim + 1:]
        if cfg.method == "cbow" and not cfg.cbow_mean:
            grad_h = grad_h / count  # (B, D) the summed input spreads its error over the window
        self.w_out.index_add_(0, targets, g_pos[:, None] * h)
        self.w_out.index_add_(0, negs.reshape(-1),
                              (g_neg[..., None] * h[:, None, :]).reshape(-1, dim))
        upd = grad_h[:, None, :] * m[..., None]  # (B, C, D)
        self.w_in.index_add_(0, inputs.reshape(-1), upd.reshape(-1, dim))
        return loss

    def _gradients(self, h, targets, negs, alpha: float):
        """The update factors of a (slice of a) batch: (b, D + 1 + K) rows [dh, g+, g-].

        h (b, D) input vectors, targets (b,), negs (b, K). The updates are w_out[t] += g+ h,
        w_out[n] += g- h and w_in[input] += dh. Returns (factors, loss sum).
        """
        negs_ok = (negs != targets[:, None]).to(torch.float32)  # (b, K)
        u_pos = self.w_out[targets]  # (b, D)
        u_neg = self.w_out[negs]  # (b, K, D)
        s_pos = (h * u_pos).sum(-1)  # (b,)
        s_neg = torch.bmm(u_neg, h[:, :, None]).squeeze(-1)  # (b, K)
        loss = F.softplus(-s_pos).sum() + (F.softplus(s_neg) * negs_ok).sum()
        g_pos = (1 - torch.sigmoid(s_pos)) * alpha  # (b,)
        g_neg = -torch.sigmoid(s_neg) * negs_ok * alpha  # (b, K)
        grad_h = g_pos[:, None] * u_pos + (g_neg[..., None] * u_neg).sum(1)  # (b, D)
        return torch.cat([grad_h, g_pos[:, None], g_neg], dim=1), loss

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        return self.w_in.cpu().numpy(), self.w_out.cpu().numpy()


def _all_gather_rows(rows: torch.Tensor, sizes) -> torch.Tensor:
    """Concatenate every rank's ``rows`` (rank r has ``sizes[r]`` of them) in rank order."""
    import torch.distributed as dist

    n = int(max(sizes))
    padded = rows.new_zeros((n, rows.shape[1]))  # all_gather needs equal shapes
    padded[:len(rows)] = rows
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([part[:int(k)] for part, k in zip(parts, sizes)])
