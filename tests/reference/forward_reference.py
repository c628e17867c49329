#!/usr/bin/env python3
"""An independent forward pass, written from docs/weights.md alone (plain Python, no Routelab
code): loads weights.safetensors and config.json, runs the rows of an input CSV, and checks the
class probabilities / outputs and the chosen experts against `routelab-cli eval`'s CSV.

usage: forward_reference.py CONFIG WEIGHTS INPUT_CSV EVAL_CSV
Exits 1 with the first mismatch. Assumes capacity_factor 0 or rows few enough not to be dropped.
"""
import csv, json, math, struct, sys


def load_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", name
        b, e = t["data_offsets"]
        vals = list(struct.unpack("<%df" % ((e - b) // 4), data[base + b:base + e]))
        shape = t["shape"]
        tensors[name] = [vals[r * shape[1]:(r + 1) * shape[1]] for r in range(shape[0])] if len(shape) == 2 else vals
    return tensors


def act(name, z):
    if name == "relu": return max(0.0, z)
    if name == "tanh": return math.tanh(z)
    if name == "sigmoid": return 1.0 / (1.0 + math.exp(-z))
    if name == "gelu": return 0.5 * z * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z ** 3)))
    return z


def linear(x, w, b):
    return [sum(wi * xi for wi, xi in zip(row, x)) + (b[o] if b is not None else 0.0) for o, row in enumerate(w)]


def softmax(v):
    m = max(v)
    e = [math.exp(x - m) for x in v]
    s = sum(e)
    return [x / s for x in e]


def forward(spec, W, x):
    layers = spec["model"]["layers"]
    head = spec["model"].get("head", True)
    choices = []
    dense_i = moe_i = 0
    for li, L in enumerate(layers):
        last = li == len(layers) - 1 and not head
        a = L.get("activation", "relu")
        if L["type"] == "dense":
            p = "dense.%d." % dense_i; dense_i += 1
            x = [act("none" if last else a, z) for z in linear(x, W[p + "weight"], W[p + "bias"])]
            continue
        p = "moe.%d." % moe_i; moe_i += 1
        r = L["router"]; E = L["experts"]; T = r.get("temperature", 1.0)
        probs = softmax([s / T for s in linear(x, W[p + "router.weight"], None)])
        order = sorted(range(E), key=lambda e: (-probs[e], e))
        kind = r["type"]
        if kind == "dense": sel = list(range(E)); wts = probs[:]
        elif kind == "switch": sel = order[:1]; wts = [probs[sel[0]]]
        else:
            sel = order[:r.get("k", 2)]; tot = sum(probs[e] for e in sel); wts = [probs[e] / tot for e in sel]
        widths = L["expert_widths"]
        y = None
        for e, g in zip(sel, wts):
            h = x
            for l in range(len(widths)):
                q = p + "experts.%d.fc%d." % (e, l + 1)
                final = last and l == len(widths) - 1
                h = [act("none" if final else a, z) for z in linear(h, W[q + "weight"], W[q + "bias"])]
            y = [g * v for v in h] if y is None else [acc + g * v for acc, v in zip(y, h)]
        choices.append(list(zip(sel, wts)))
        x = y
    if head:
        x = linear(x, W["head.weight"], W["head.bias"])
    return x, choices


def main(config, weights, input_csv, eval_csv):
    spec = json.load(open(config))
    W = load_safetensors(weights)
    rows = [[float(v) for v in r] for r in list(csv.reader(open(input_csv)))[1:]]
    out = list(csv.DictReader(open(eval_csv)))
    # eval reports softmax(outputs) as class probabilities whenever the data has classes.
    data = spec.get("data", {})
    classify = data.get("kind") != "regression_local" and not data.get("regression", False)
    for i, (x, got) in enumerate(zip(rows, out)):
        y, choices = forward(spec, W, x)
        expect = softmax(y) if classify else y
        for c, v in enumerate(expect):
            key = ("prob_%d" if classify else "output_%d") % c
            if abs(float(got[key]) - v) > 1e-4 + 1e-3 * abs(v):
                sys.exit("row %d %s: routelab %s, reference %.7g" % (i, key, got[key], v))
        for l, ch in enumerate(choices):
            for j, (e, g) in enumerate(ch):
                ge, gg = got["moe%d_choice%d_expert" % (l, j)], got["moe%d_choice%d_gate" % (l, j)]
                if int(float(ge)) != e or abs(float(gg) - g) > 1e-4:
                    sys.exit("row %d layer %d choice %d: routelab expert %s gate %s, reference %d %.6f" % (i, l, j, ge, gg, e, g))
    print("forward_reference: %d rows match" % len(rows))


if __name__ == "__main__":
    main(*sys.argv[1:5])
