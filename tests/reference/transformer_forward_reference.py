#!/usr/bin/env python3
"""An independent Transformer forward pass written from docs/weights.md (Transformer section) alone
(plain Python, no Routelab code): loads weights.safetensors and config.json, runs the sequences of
an input CSV as ONE batch (capacity is per batch), and checks `routelab-cli eval`'s per-token CSV:
the probabilities and every MoE layer's kept choices with their gate weights.

usage: transformer_forward_reference.py CONFIG WEIGHTS INPUT_CSV EVAL_CSV
The input must hold exactly as many sequences as one eval batch, so eval adds no padding rows.
Exits 1 with the first mismatch.
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


def moe(h, W, p, L, act):
    r = L["router"]
    E, N = L["experts"], len(h)
    temp = r.get("temperature", 1.0)
    dense = r["type"] == "dense"
    k = E if dense else r.get("k", 2)
    cf = r.get("capacity_factor", 1.25)
    C = N if dense or cf <= 0 else min(max(math.ceil(cf * N * k / E), 1), N)
    chosen = []  # per token: [(expert, weight)] in choice order
    for x in h:
        probs = softmax([z / temp for z in linear(x, W[p + "router.weight"], None)])
        if dense:
            chosen.append(list(enumerate(probs)))
            continue
        sel = sorted(range(E), key=lambda e: (-probs[e], e))[:k]
        tot = sum(probs[e] for e in sel)
        chosen.append([(e, probs[e] / tot) for e in sel])
    # Capacity: every token's choice 0 in token order, then every choice 1, ...
    fill = [0] * E
    kept = [[False] * k for _ in range(N)]
    for j in range(k):
        for n in range(N):
            e = chosen[n][j][0]
            if fill[e] < C:
                fill[e] += 1
                kept[n][j] = True
    y = []
    for n, x in enumerate(h):
        out = [0.0] * len(x)
        for j, (e, g) in enumerate(chosen[n]):
            if not kept[n][j]:
                continue
            q = p + "experts.%d." % e
            hid = [act(z) for z in linear(x, W[q + "fc1.weight"], W[q + "fc1.bias"])]
            out = [a + g * b for a, b in zip(out, linear(hid, W[q + "fc2.weight"], W[q + "fc2.bias"]))]
        y.append(out)
    return y, [[(e if kept[n][j] else -1, g if kept[n][j] else 0.0) for j, (e, g) in enumerate(chosen[n])]
               for n in range(N)]


def forward(spec, W, ids, seqs):
    t = spec["model"]["transformer"]
    T, D, H = t["sequence_length"], t["d_model"], t["heads"]
    act = ACT[t.get("activation", "gelu")]
    x = [[a + b for a, b in zip(W["tok_emb.weight"][tok], W["pos_emb.weight"][n % T])] for n, tok in enumerate(ids)]
    routing = []
    for l, L in enumerate(t["layers"]):
        p = "layers.%d." % l
        h = [layer_norm(v, W[p + "ln1.weight"], W[p + "ln1.bias"]) for v in x]
        x = [[a + b for a, b in zip(u, v)] for u, v in zip(x, attention(h, W, p + "attn.", seqs, T, D, H, t.get("causal", False)))]
        h2 = [layer_norm(v, W[p + "ln2.weight"], W[p + "ln2.bias"]) for v in x]
        y, choices = moe(h2, W, p + "moe.", L, act)
        x = [[a + b for a, b in zip(u, v)] for u, v in zip(x, y)]
        routing.append(choices)
    f = [layer_norm(v, W["ln_f.weight"], W["ln_f.bias"]) for v in x]
    if t.get("task", "sequence_classification") == "next_token":
        logits = [linear(v, W["head.weight"], W["head.bias"]) for v in f]
    else:
        pooled = [[sum(f[s * T + i][d] for i in range(T)) / T for d in range(D)] for s in range(seqs)]
        logits = [linear(v, W["head.weight"], W["head.bias"]) for v in pooled]
    return [softmax(z) for z in logits], routing


def main(config, weights, input_csv, eval_csv):
    spec = json.load(open(config))
    W = load_safetensors(weights)
    table = list(csv.reader(open(input_csv)))
    cols = [i for i, name in enumerate(table[0]) if name not in ("group", "label")]
    ids = [int(float(row[i])) for row in table[1:] for i in cols]
    seqs = len(table) - 1
    T = spec["model"]["transformer"]["sequence_length"]
    per_token = spec["model"]["transformer"].get("task") == "next_token"
    probs, routing = forward(spec, W, ids, seqs)
    out = list(csv.DictReader(open(eval_csv)))
    if len(out) != seqs * T:
        sys.exit("eval wrote %d rows, expected %d tokens" % (len(out), seqs * T))
    for n, got in enumerate(out):
        for c, v in enumerate(probs[n if per_token else n // T]):
            if abs(float(got["prob_%d" % c]) - v) > 1e-4 + 1e-3 * abs(v):
                sys.exit("token %d prob_%d: routelab %s, reference %.7g" % (n, c, got["prob_%d" % c], v))
        for l, layer in enumerate(routing):
            for j, (e, g) in enumerate(layer[n]):
                ge, gg = got["moe%d_choice%d_expert" % (l, j)], got["moe%d_choice%d_gate" % (l, j)]
                if int(float(ge)) != e or abs(float(gg) - g) > 1e-4:
                    sys.exit("token %d layer %d choice %d: routelab expert %s gate %s, reference %d %.6f" % (n, l, j, ge, gg, e, g))
    print("transformer_forward_reference: %d sequences, %d tokens match" % (seqs, len(out)))


if __name__ == "__main__":
    main(*sys.argv[1:5])
