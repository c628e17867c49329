#!/usr/bin/env bash
# Every token router end to end: for each case below, routelab-cli trains a tiny Transformer a few
# steps, evaluates a CSV of sequences, and tests/reference/transformer_forward_reference.py (an
# independent forward pass written from docs/weights.md alone) must reproduce eval's probabilities
# and every MoE layer's routing columns (experts taken or dropped, gate weights).
# Training runs on the CPU backend (fast); two cases are also evaluated on Vulkan (the routing shaders).
# usage: token_routers_smoke.sh ROUTELAB_CLI
set -euo pipefail
cli="$1"
here="$(cd "$(dirname "$0")" && pwd)"
reference="$here/../reference/transformer_forward_reference.py"
preset="$here/../../resources/presets/tiny-transformer-moe.json"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$here/expect_error.sh"

# A case's config: the tiny-transformer-moe preset (V 16, T 12, d_model 32, 2 heads, 4 experts of
# width 64 per layer) on 240 sequences (48 held out) with batch 16, so eval runs batches of 16
# sequences; then one JSON object per layer with the router keys to set, and top-level overrides.
make_config() {  # make_config OUT '{router of layer 0}' '{router of layer 1}' ['{"transformer": {...}}']
  python3 - "$preset" "$@" <<'EOF'
import json, sys
spec = json.load(open(sys.argv[1]))
out, routers = sys.argv[2], sys.argv[3:5]
extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
spec["data"].update(samples=240, test_fraction=0.2)
spec["train"].update(batch_size=16, steps=4)
t = spec["model"]["transformer"]
t.update(extra.get("transformer", {}))
for layer, r in zip(t["layers"], routers):
    r = json.loads(r)
    # The keys a router type does not take must be 0 for it (the spec refuses them otherwise).
    layer["router"] = dict({"capacity_factor": 1.25, "aux_loss_coef": 0, "z_loss_coef": 0}, **r)
json.dump(spec, open(out, "w"), indent=1)
EOF
}

# 20 sequences = one full batch of 16 and one of 4 real sequences padded with 12 copies of its
# first (the padding competes for capacity and expert-choice slots). Sequences 1 and 3 repeat
# sequence 0, so their tokens score exactly the same as sequence 0's (ties); group -1 (sequence 7)
# is an unlabelled sequence, which task routing sends nowhere.
awk 'BEGIN { srand(11); printf "t0"; for (i = 1; i < 12; i++) printf ",t%d", i; print ",group";
  for (s = 0; s < 20; s++) {
    if (s == 1 || s == 3) { print first; continue }
    line = sprintf("%d", 2 + s % 3); for (i = 1; i < 6; i++) line = line sprintf(",%d", 5 + int(11 * rand()));
    line = line ",1"; for (i = 7; i < 12; i++) line = line ",0"; line = line "," (s == 7 ? -1 : s % 3);
    if (s == 0) first = line; print line } }' > "$dir/seqs.csv"

check() {  # check NAME [BACKEND]: eval the case's run on BACKEND (cpu) and compare with the reference
  local name="$1" backend="${2:-cpu}"
  "$cli" eval --config "$dir/$name/config.json" --weights "$dir/$name/weights.safetensors" --input "$dir/seqs.csv" \
    --out "$dir/$name.$backend.csv" --backend "$backend" 2> "$dir/eval.err" || fail "$name: eval: $(cat "$dir/eval.err")"
  python3 "$reference" "$dir/$name/config.json" "$dir/$name/weights.safetensors" "$dir/seqs.csv" \
    "$dir/$name.$backend.csv" 16 || fail "$name ($backend): the reference forward disagrees with eval"
}
run_case() {  # run_case NAME CONFIG-ARGS...: train 4 steps on the CPU backend, then check
  local name="$1"; shift
  make_config "$dir/$name.json" "$@"
  "$cli" train --config "$dir/$name.json" --backend cpu --out "$dir/$name" > "$dir/train.out" 2>&1 \
    || fail "$name does not train: $(tail -3 "$dir/train.out")"
  check "$name"
}

# Hash routing with drops (cf 1), then expert choice with a temperature: tokens taken by 0..4 experts.
run_case hash-expert_choice '{"type": "hash", "capacity_factor": 1}' \
  '{"type": "expert_choice", "capacity_factor": 1, "temperature": 0.8, "jitter": 0.01}'
check hash-expert_choice vulkan
# Task routing (3 tasks on 4 experts; the tasks' tokens overflow cf 1), then Soft MoE with 2 slots per expert.
run_case task-soft_moe '{"type": "task", "capacity_factor": 1}' \
  '{"type": "soft_moe", "slots_per_expert": 2, "temperature": 1.5, "capacity_factor": 0}'
check task-soft_moe vulkan
# Task routing reads the group column: without it eval refuses (rather than routing every
# sequence as task 0), naming the layer.
cut -d, -f1-12 "$dir/seqs.csv" > "$dir/no_group.csv"
expect_error 1 "no_group.csv: model.transformer.layers\[0\] routes by task: the input needs a 'group' column" -- "$cli" eval \
  --config "$dir/task-soft_moe/config.json" --weights "$dir/task-soft_moe/weights.safetensors" \
  --input "$dir/no_group.csv" --out "$dir/p.csv"
# Expert choice at cf 2 (the mean token is taken by two experts), then token choice top-1 with drops.
run_case expert_choice-token_choice '{"type": "expert_choice", "capacity_factor": 2}' \
  '{"type": "token_choice", "k": 1, "capacity_factor": 1, "aux_loss_coef": 0.01, "z_loss_coef": 0.001}'
# Soft MoE with one slot, then hash routing without a capacity limit (salted by the layer index).
run_case soft_moe-hash '{"type": "soft_moe", "temperature": 0.5, "capacity_factor": 0}' '{"type": "hash", "capacity_factor": 0}'
# Next-token prediction (causal): dense, then task routing at a tight capacity.
run_case next_token-dense-task '{"type": "dense", "capacity_factor": 0}' '{"type": "task", "capacity_factor": 0.5}' \
  '{"transformer": {"task": "next_token", "causal": true}}'
expect_error 1 "model.transformer.layers\[1\] routes by task" -- "$cli" eval --config "$dir/next_token-dense-task/config.json" \
  --weights "$dir/next_token-dense-task/weights.safetensors" --input "$dir/no_group.csv" --out "$dir/p.csv"

# Tie-breaking: with layer 1's expert-choice router zeroed every token scores exactly 1/E for every
# expert, so each expert must take the C tokens of lowest row in its batch (the documented rule).
mkdir "$dir/ties"
cp "$dir/hash-expert_choice/config.json" "$dir/ties/"
python3 - "$dir/hash-expert_choice/weights.safetensors" "$dir/ties/weights.safetensors" layers.1.moe.router.weight <<'EOF'
import json, struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
(n,) = struct.unpack("<Q", data[:8])
b, e = json.loads(data[8:8 + n])[sys.argv[3]]["data_offsets"]
data[8 + n + b:8 + n + e] = bytes(e - b)  # 0.0f is four zero bytes
open(sys.argv[2], "wb").write(data)
EOF
check ties
python3 - "$dir/ties.cpu.csv" <<'EOF' || fail "ties: expert choice does not take the lowest rows on equal scores"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
# Batch 0 holds rows 0..191 (C = ceil(1 * 192 / 4) = 48): every expert takes rows 0..47 only.
for n, r in enumerate(rows[:192]):
    taken = [int(float(r["moe1_choice%d_expert" % e])) for e in range(4)]
    assert taken == ([0, 1, 2, 3] if n < 48 else [-1] * 4), (n, taken)
EOF
echo "token_routers_smoke: all router types match the reference"
