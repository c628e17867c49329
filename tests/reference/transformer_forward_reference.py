#!/usr/bin/env python3
"""An independent Transformer forward pass written from docs/weights.md (Transformer section) alone
(plain Python, no numpy, no Routelab code): loads weights.safetensors and config.json, runs the
sequences of an input CSV in eval's batches (capacity and expert choice are per batch; the last
batch is padded with copies of its first sequence), and checks `routelab-cli eval`'s per-token
CSV: the probabilities and every MoE layer's routing columns (expert or -1, gate weight) for all
six token routers (token_choice, dense, hash, task, expert_choice, soft_moe).

usage: transformer_forward_reference.py CONFIG WEIGHTS INPUT_CSV EVAL_CSV [EVAL_BATCH]
EVAL_BATCH: sequences per eval batch (docs/weights.md says how eval picks it); by default all the
input's sequences form one batch, which is right when the input holds exactly one eval batch.
Prints the first mismatches and exits 1 when there are any.
"""
import csv, json, math, struct, sys


def load_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", name
        b, e = t["data_offsets"]
        vals = list(struct.unpack("<%df" % ((e - b) // 4), data[8 + n + b:8 + n + e]))
        shape = t["shape"]
        tensors[name] = [vals[r * shape[1]:(r + 1) * shape[1]] for r in range(shape[0])] if len(shape) == 2 else vals
    return tensors


def gelu(z):
    return 0.5 * z * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z ** 3)))


ACT = {"gelu": gelu, "relu": lambda z: max(0.0, z), "tanh": math.tanh,
       "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)), "none": lambda z: z}


def linear(x, w, b):
    return [sum(wi * xi for wi, xi in zip(row, x)) + (b[o] if b is not None else 0.0) for o, row in enumerate(w)]


def softmax(v):
    m = max(v)
    e = [math.exp(x - m) for x in v]
    s = sum(e)
    return [x / s for x in e]


def layer_norm(x, w, b):
    mu = sum(x) / len(x)
    var = sum((v - mu) ** 2 for v in x) / len(x)
    r = 1.0 / math.sqrt(var + 1e-5)
    return [(v - mu) * r * g + c for v, g, c in zip(x, w, b)]


def attention(h, W, p, seqs, T, D, H, causal):
    qkv = [linear(x, W[p + "in_proj.weight"], W[p + "in_proj.bias"]) for x in h]
    dh = D // H
    o = [[0.0] * D for _ in h]
    for s in range(seqs):
        for head in range(H):
            q = lambda t: qkv[s * T + t][head * dh:(head + 1) * dh]
            k = lambda t: qkv[s * T + t][D + head * dh:D + (head + 1) * dh]
            v = lambda t: qkv[s * T + t][2 * D + head * dh:2 * D + (head + 1) * dh]
            for t in range(T):
                keys = range(t + 1) if causal else range(T)
                P = softmax([sum(a * b for a, b in zip(q(t), k(j))) / math.sqrt(dh) for j in keys])
                for c in range(dh):
                    o[s * T + t][head * dh + c] = sum(P[i] * v(j)[c] for i, j in enumerate(keys))
    return [linear(x, W[p + "out_proj.weight"], W[p + "out_proj.bias"]) for x in o]


def expert(x, W, q, act):
    """fc2(act(fc1(x))) of the expert whose tensors start with q."""
    hid = [act(z) for z in linear(x, W[q + "fc1.weight"], W[q + "fc1.bias"])]
    return linear(hid, W[q + "fc2.weight"], W[q + "fc2.bias"])


def capacity(exact, N):
    return min(max(math.ceil(exact), 1), N)


def fmix32(h):
    """MurmurHash3's 32-bit finaliser, uint32 arithmetic."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def combine(h, W, p, act, chosen):
    """y_n = sum over the kept choices (expert, weight) of token n of weight * expert(h_n)."""
    y = []
    for x, choices in zip(h, chosen):
        out = [0.0] * len(x)
        for e, g in choices:
            if e >= 0:
                out = [a + g * b for a, b in zip(out, expert(x, W, p + "experts.%d." % e, act))]
        y.append(out)
    return y


def fill_in_priority_order(chosen, E, C):
    """Capacity: every token's choice 0 in token order, then every choice 1, ...; a choice that
    finds its expert full (or names no expert) becomes (-1, 0)."""
    fill = [0] * E
    kept = [list(c) for c in chosen]
    for j in range(max(len(c) for c in chosen)):
        for n, c in enumerate(chosen):
            e = c[j][0]
            if e >= 0 and fill[e] < C:
                fill[e] += 1
            else:
                kept[n][j] = (-1, 0.0)
    return kept


def moe(h, W, p, L, l, act, ids, groups, T):
    """One MoE block over the N token rows h. Returns y and, per token, the eval CSV's choice
    columns [(expert or -1, gate weight)]."""
    r = L["router"]
    kind = r.get("type", "token_choice")
    E, N = L["experts"], len(h)
    temp = r.get("temperature", 1.0)
    cf = r.get("capacity_factor", 1.25)
    if kind in ("hash", "task"):
        if kind == "hash":
            route = [fmix32((tok + l * 0x9E3779B9) & 0xFFFFFFFF) % E for tok in ids]
        else:
            route = [groups[n // T] % E if groups[n // T] >= 0 else -1 for n in range(N)]
        C = N if cf <= 0 else capacity(cf * N / E, N)
        chosen = fill_in_priority_order([[(e, 1.0)] for e in route], E, C)
        return combine(h, W, p, act, chosen), chosen
    logits = [[z / temp for z in linear(x, W[p + "router.weight"], None)] for x in h]
    if kind == "soft_moe":
        S = r.get("slots_per_expert", 1)
        J = E * S
        chosen, y = [], []
        for b in range(N // T):
            rows = range(b * T, (b + 1) * T)
            # Dispatch: per slot column j, a softmax over the sequence's T tokens.
            disp = [softmax([logits[n][j] for n in rows]) for j in range(J)]  # [J][T]
            slot_out = []
            for j in range(J):
                slot_in = [sum(disp[j][t] * h[n][d] for t, n in enumerate(rows)) for d in range(len(h[0]))]
                slot_out.append(expert(slot_in, W, p + "experts.%d." % (j // S), act))
            for n in rows:
                cw = softmax(logits[n])  # combine: per token, a softmax over the J slot columns
                y.append([sum(cw[j] * slot_out[j][d] for j in range(J)) for d in range(len(h[0]))])
                chosen.append([(e, sum(cw[e * S:(e + 1) * S])) for e in range(E)])
        return y, chosen
    probs = [softmax(s) for s in logits]
    if kind == "expert_choice":
        exact = cf * N / E
        C = capacity(exact - 1e-9 * max(1.0, exact), N)
        taken = [set(sorted(range(N), key=lambda n: (-probs[n][e], n))[:C]) for e in range(E)]
        chosen = [[(e, probs[n][e]) if n in taken[e] else (-1, 0.0) for e in range(E)] for n in range(N)]
        return combine(h, W, p, act, chosen), chosen
    if kind == "dense":
        chosen = [list(enumerate(pr)) for pr in probs]
        return combine(h, W, p, act, chosen), chosen
    assert kind == "token_choice", kind
    k = r.get("k", 2)
    chosen = []
    for pr in probs:
        sel = sorted(range(E), key=lambda e: (-pr[e], e))[:k]
        tot = sum(pr[e] for e in sel)
        chosen.append([(e, pr[e] / tot) for e in sel])
    C = N if cf <= 0 else capacity(cf * N * k / E, N)
    chosen = fill_in_priority_order(chosen, E, C)
    return combine(h, W, p, act, chosen), chosen


def forward(spec, W, ids, groups):
    """One batch: ids holds B whole sequences (row n = b*T + t), groups their B task ids."""
    t = spec["model"]["transformer"]
    T, D, H = t["sequence_length"], t["d_model"], t["heads"]
    seqs = len(groups)
    act = ACT[t.get("activation", "gelu")]
    x = [[a + b for a, b in zip(W["tok_emb.weight"][tok], W["pos_emb.weight"][n % T])] for n, tok in enumerate(ids)]
    routing = []
    for l, L in enumerate(t["layers"]):
        p = "layers.%d." % l
        h = [layer_norm(v, W[p + "ln1.weight"], W[p + "ln1.bias"]) for v in x]
        x = [[a + b for a, b in zip(u, v)] for u, v in zip(x, attention(h, W, p + "attn.", seqs, T, D, H, t.get("causal", False)))]
        h2 = [layer_norm(v, W[p + "ln2.weight"], W[p + "ln2.bias"]) for v in x]
        y, choices = moe(h2, W, p + "moe.", L, l, act, ids, groups, T)
        x = [[a + b for a, b in zip(u, v)] for u, v in zip(x, y)]
        routing.append(choices)
    f = [layer_norm(v, W["ln_f.weight"], W["ln_f.bias"]) for v in x]
    if t.get("task", "sequence_classification") == "next_token":
        logits = [linear(v, W["head.weight"], W["head.bias"]) for v in f]
    else:
        pooled = [[sum(f[s * T + i][d] for i in range(T)) / T for d in range(D)] for s in range(seqs)]
        logits = [linear(v, W["head.weight"], W["head.bias"]) for v in pooled]
    return [softmax(z) for z in logits], routing


def forward_in_batches(spec, W, ids, groups, batch):
    """eval's batching: whole batches of `batch` sequences, the last one padded with copies of its
    first sequence (group included); only the real sequences' rows are kept."""
    T = spec["model"]["transformer"]["sequence_length"]
    per_token = spec["model"]["transformer"].get("task") == "next_token"
    probs, routing = [], [[] for _ in spec["model"]["transformer"]["layers"]]
    for start in range(0, len(groups), batch):
        n = min(batch, len(groups) - start)
        src = [start + (i if i < n else 0) for i in range(batch)]
        p, r = forward(spec, W, [tok for s in src for tok in ids[s * T:(s + 1) * T]], [groups[s] for s in src])
        probs += p[:n * T if per_token else n]
        for l, layer in enumerate(r):
            routing[l] += layer[:n * T]
    return probs, routing


def main(config, weights, input_csv, eval_csv, batch=None):
    spec = json.load(open(config))
    W = load_safetensors(weights)
    table = list(csv.reader(open(input_csv)))
    cols = [i for i, name in enumerate(table[0]) if name not in ("group", "label")]
    gcol = table[0].index("group") if "group" in table[0] else None
    ids = [int(float(row[i])) for row in table[1:] for i in cols]
    groups = [int(float(row[gcol])) if gcol is not None else 0 for row in table[1:]]
    seqs = len(groups)
    T = spec["model"]["transformer"]["sequence_length"]
    per_token = spec["model"]["transformer"].get("task") == "next_token"
    probs, routing = forward_in_batches(spec, W, ids, groups, int(batch) if batch else seqs)
    reader = csv.DictReader(open(eval_csv))
    out = list(reader)
    if len(out) != seqs * T:
        sys.exit("eval wrote %d rows, expected %d tokens" % (len(out), seqs * T))
    for l, layer in enumerate(routing):
        cols_l = [c for c in reader.fieldnames if c.startswith("moe%d_choice" % l) and c.endswith("_expert")]
        if len(cols_l) != len(layer[0]):
            sys.exit("layer %d: eval wrote %d choice columns, the reference has %d" % (l, len(cols_l), len(layer[0])))
    mismatches = 0
    def report(msg):
        nonlocal mismatches
        mismatches += 1
        if mismatches <= 5:
            print("MISMATCH " + msg, file=sys.stderr)
    # Tolerance: eval computes in float32, this in double. Measured on the cli_smoke and
    # token_routers_smoke runs (4 to 400 training steps, CPU and Vulkan eval): at most 4.1e-8 on a
    # probability and 2.1e-7 on a gate weight; 1e-5 keeps a 50x margin and still sees a 1%
    # change of one softmax's temperature (1e-4 on the probabilities).
    tol = 1e-5
    for n, got in enumerate(out):
        for c, v in enumerate(probs[n if per_token else n // T]):
            if abs(float(got["prob_%d" % c]) - v) > tol:
                report("token %d prob_%d: routelab %s, reference %.7g" % (n, c, got["prob_%d" % c], v))
        for l, layer in enumerate(routing):
            for j, (e, g) in enumerate(layer[n]):
                ge, gg = got["moe%d_choice%d_expert" % (l, j)], got["moe%d_choice%d_gate" % (l, j)]
                if int(float(ge)) != e or abs(float(gg) - g) > tol:
                    report("token %d (sequence %d, position %d) layer %d choice %d: routelab expert %s gate %s, "
                           "reference %d %.6f" % (n, n // T, n % T, l, j, ge, gg, e, g))
    if mismatches:
        sys.exit("transformer_forward_reference: %d mismatches (first ones above)" % mismatches)
    kinds = ",".join(L["router"].get("type", "token_choice") for L in spec["model"]["transformer"]["layers"])
    print("transformer_forward_reference: %d sequences, %d tokens match (routers %s)" % (seqs, len(out), kinds))


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    main(*sys.argv[1:])
