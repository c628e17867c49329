#!/usr/bin/env python3
"""PyTorch twin of `bench_train transformer`: times one training step of the reference Transformer.

The model is the one `bench_train` builds (tests/bench/bench_train.cpp, referenceTransformerSpec):
vocabulary 64, sequence 32, d_model 64, 2 pre-LN blocks of 4-head self-attention and an MoE
feed-forward (8 experts 64->128->64, GELU tanh, token-choice top-2, capacity factor 1.25, load
balancing loss 0.01), final layer norm, mean pool, linear head; batch 32 sequences; Adam 1e-3.

It is a benchmark, not a test: nothing in CTest runs it, and the project does not depend on
PyTorch (Debian 12: `apt-get install python3-torch`, 1.13). Two expert implementations are timed,
since PyTorch MoE code comes in both styles:
  loop    - a Python loop over experts, each gathering its tokens (the common textbook form);
  batched - tokens scattered into an [E, C, d] capacity buffer, experts as one bmm each layer.
Usage: /usr/bin/python3 tests/bench/bench_pytorch_transformer.py [steps] [--threads N]
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, SEQ, D, LAYERS, HEADS, EXPERTS, HIDDEN, K, CF, BATCH, CLASSES = 64, 32, 64, 2, 4, 8, 128, 2, 1.25, 32, 5


def route(logits, capacity):
    """Top-k token choice with capacity: slot position of each (token, choice), -1 when dropped.
    First choices of all tokens are placed before any second choice (Switch/GShard order)."""
    probs = logits.softmax(-1)
    wt, idx = probs.topk(K, dim=-1)  # [N, K]
    onehot = F.one_hot(idx.t().reshape(-1), EXPERTS)  # choice-major: [K N, E]
    pos = (onehot.cumsum(0) - 1) * onehot
    pos = pos.sum(-1).view(K, -1).t()  # [N, K]
    kept = pos < capacity
    # Switch load-balancing loss: E * sum_e (fraction routed to e) * (mean probability of e).
    frac = F.one_hot(idx[:, 0], EXPERTS).float().mean(0)
    aux = EXPERTS * (frac * probs.mean(0)).sum()
    return idx, wt, pos, kept, aux


class MoE(nn.Module):
    def __init__(self, batched):
        super().__init__()
        self.batched = batched
        self.router = nn.Linear(D, EXPERTS)
        self.w1 = nn.Parameter(torch.empty(EXPERTS, D, HIDDEN).uniform_(-D ** -0.5, D ** -0.5))
        self.b1 = nn.Parameter(torch.zeros(EXPERTS, 1, HIDDEN))
        self.w2 = nn.Parameter(torch.empty(EXPERTS, HIDDEN, D).uniform_(-HIDDEN ** -0.5, HIDDEN ** -0.5))
        self.b2 = nn.Parameter(torch.zeros(EXPERTS, 1, D))

    def forward(self, x):  # x: [N, D]
        n = x.shape[0]
        capacity = int(-(-CF * K * n // EXPERTS))
        idx, wt, pos, kept, aux = route(self.router(x), capacity)
        if self.batched:
            flat = (idx * capacity + pos).masked_fill(~kept, EXPERTS * capacity)  # dropped -> a spare slot
            token = torch.arange(n).unsqueeze(1).expand(n, K)
            buf = x.new_zeros(EXPERTS * capacity + 1, D).index_copy(0, flat.reshape(-1), x[token.reshape(-1)])
            h = F.gelu(torch.baddbmm(self.b1, buf[:-1].view(EXPERTS, capacity, D), self.w1), approximate="tanh")
            out = torch.baddbmm(self.b2, h, self.w2).view(-1, D)
            out = torch.cat([out, out.new_zeros(1, D)])
            y = (out[flat] * (wt * kept).unsqueeze(-1)).sum(1)
        else:
            y = torch.zeros_like(x)
            for e in range(EXPERTS):
                tok, choice = ((idx == e) & kept).nonzero(as_tuple=True)
                h = F.gelu(x[tok] @ self.w1[e] + self.b1[e], approximate="tanh")
                y = y.index_add(0, tok, (h @ self.w2[e] + self.b2[e]) * wt[tok, choice].unsqueeze(-1))
        return y, aux


class Block(nn.Module):
    def __init__(self, batched):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.attn = nn.MultiheadAttention(D, HEADS, batch_first=True)
        self.moe = MoE(batched)

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        y, aux = self.moe(self.ln2(x).reshape(-1, D))
        return x + y.view_as(x), aux


class Model(nn.Module):
    def __init__(self, batched):
        super().__init__()
        self.tok, self.pos = nn.Embedding(VOCAB, D), nn.Embedding(SEQ, D)
        self.blocks = nn.ModuleList(Block(batched) for _ in range(LAYERS))
        self.ln_f, self.head = nn.LayerNorm(D), nn.Linear(D, CLASSES)

    def forward(self, ids):
        x = self.tok(ids) + self.pos.weight
        aux = 0.0
        for b in self.blocks:
            x, a = b(x)
            aux = aux + a
        return self.head(self.ln_f(x).mean(1)), aux


def time_steps(batched, steps):
    torch.manual_seed(1)
    model = Model(batched)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ids = torch.randint(0, VOCAB, (BATCH, SEQ))
    labels = torch.randint(0, CLASSES, (BATCH,))
    times, losses = [], []
    for step in range(steps + 10):  # 10 warm-up steps
        start = time.perf_counter()
        logits, aux = model(ids)
        loss = F.cross_entropy(logits, labels) + 0.01 * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step >= 10:
            times.append(time.perf_counter() - start)
    times.sort()
    return 1e3 * sum(times) / len(times), 1e3 * times[len(times) // 2], 1e3 * times[0], losses[0], losses[-1]


def blas_library():
    """The BLAS shared library this process loaded: Debian's default libblas.so.3 is the reference
    BLAS (~6x slower here) unless an optimised one such as libopenblas0-pthread is installed."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.rsplit("/", 1)[-1]}
    return ", ".join(sorted(paths)) or "none found"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("steps", type=int, nargs="?", default=150)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.steps} steps, BLAS: {blas_library()}")
    for name, batched in (("loop", False), ("batched", True)):
        mean, median, best, first, last = time_steps(batched, args.steps)
        print(f"transformer-ref pytorch-{name:8s} {mean:7.3f} ms/step (median {median:.3f}, best {best:.3f})"
              f"  loss {first:.3f} -> {last:.3f}")


if __name__ == "__main__":
    main()
