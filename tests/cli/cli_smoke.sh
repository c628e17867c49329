#!/usr/bin/env bash
# routelab-cli end to end: train writes its four outputs, eval reads them back, user mistakes get
# a one-line error and a non-zero exit (never a crash or a stack trace).
set -euo pipefail
cli="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$(dirname "$0")/expect_error.sh"

"$cli" presets | grep -q "spiral-moe (default)" || fail "presets does not list the default"
"$cli" info | grep -q "auto backend:" || fail "info does not say what auto picks"

"$cli" train --steps 30 --backend cpu --out "$dir/run" > "$dir/summary.out" 2> "$dir/train.err"
for f in config.json weights.safetensors metrics.csv summary.json; do
  [ -s "$dir/run/$f" ] || fail "train did not write $f"
done
[ "$(wc -l < "$dir/run/metrics.csv")" -eq 31 ] || fail "metrics.csv should have a header and 30 rows"
grep -q '"test_accuracy"' "$dir/run/summary.json" || fail "summary.json lacks test_accuracy"
grep -q '"ms_per_step"' "$dir/run/summary.json" || fail "summary.json lacks ms_per_step"

# The written config trains again (round trip), on Vulkan this time.
"$cli" train --config "$dir/run/config.json" --steps 5 --backend vulkan --out "$dir/run2" > /dev/null 2>&1 \
  || fail "config.json written by train does not train again"

printf "x,y\n0.1,0.2\n-0.5,0.3\n0.9,-0.9\n" > "$dir/in.csv"
"$cli" eval --config "$dir/run/config.json" --weights "$dir/run/weights.safetensors" --input "$dir/in.csv" \
  --out "$dir/pred.csv" 2> /dev/null
head -1 "$dir/pred.csv" | grep -q "prob_0,.*moe0_choice0_expert,moe0_choice0_gate" || fail "eval header"
[ "$(wc -l < "$dir/pred.csv")" -eq 4 ] || fail "eval should write one row per input row"

# An independent forward pass written from docs/weights.md reproduces eval's outputs and routing.
awk 'BEGIN { srand(3); print "x,y"; for (i = 0; i < 40; i++) printf "%.4f,%.4f\n", 2*rand()-1, 2*rand()-1 }' > "$dir/grid.csv"
"$cli" eval --config "$dir/run/config.json" --weights "$dir/run/weights.safetensors" --input "$dir/grid.csv" \
  --out "$dir/grid_pred.csv" 2> /dev/null
python3 "$(dirname "$0")/../reference/forward_reference.py" "$dir/run/config.json" "$dir/run/weights.safetensors" \
  "$dir/grid.csv" "$dir/grid_pred.csv" || fail "reference forward disagrees (top-2 + head)"
"$cli" train --preset jacobs-competitive --steps 30 --backend cpu --out "$dir/jacobs" > /dev/null 2>&1
"$cli" eval --config "$dir/jacobs/config.json" --weights "$dir/jacobs/weights.safetensors" --input "$dir/grid.csv" \
  --out "$dir/jacobs_pred.csv" 2> /dev/null
python3 "$(dirname "$0")/../reference/forward_reference.py" "$dir/jacobs/config.json" "$dir/jacobs/weights.safetensors" \
  "$dir/grid.csv" "$dir/jacobs_pred.csv" || fail "reference forward disagrees (dense gate, no head)"

# A Transformer preset trains through the same command and writes the same four outputs.
"$cli" presets | grep -q "tiny-transformer-moe" || fail "presets does not list tiny-transformer-moe"
"$cli" train --preset tiny-transformer-moe --steps 20 --backend cpu --out "$dir/tf" > "$dir/tf.out" 2>&1 \
  || fail "tiny-transformer-moe does not train: $(tail -3 "$dir/tf.out")"
for f in config.json weights.safetensors metrics.csv summary.json; do
  [ -s "$dir/tf/$f" ] || fail "transformer train did not write $f"
done
[ "$(wc -l < "$dir/tf/metrics.csv")" -eq 21 ] || fail "transformer metrics.csv should have a header and 20 rows"
head -1 "$dir/tf/metrics.csv" | grep -q "moe1_load_entropy" || fail "transformer metrics.csv lacks layer 1's MoE columns"
grep -q '"router": "token_choice"' "$dir/tf/summary.json" || fail "transformer summary.json lacks the router type"
"$cli" train --config "$dir/tf/config.json" --steps 3 --backend cpu --out "$dir/tf2" > /dev/null 2>&1 \
  || fail "the transformer's config.json does not train again"

expect_error 2 "must be a whole number" -- "$cli" train --steps abc
expect_error 2 "unknown option --bogus" -- "$cli" train --bogus 1
expect_error 1 "unknown preset 'nope'" -- "$cli" train --preset nope
printf '{"format": "routelab/1", "model": {"layers": [{"type": "moe", "experts": 2, "expert_widths": [4], "router": {"type": "top_k", "k": 3}}]}}' > "$dir/bad.json"
expect_error 1 "model.layers\[0\].router.k" -- "$cli" train --config "$dir/bad.json" --backend cpu --out "$dir/x"
expect_error 1 "bad.json: invalid spec:" -- "$cli" train --config "$dir/bad.json" --backend cpu --out "$dir/x"
expect_error 1 "bad.json: invalid spec:" -- "$cli" eval --config "$dir/bad.json" --weights "$dir/in.csv" --input "$dir/in.csv" --out "$dir/p.csv"
printf '{"format": "routelab/1",\n "model": [}' > "$dir/broken.json"
expect_error 1 "broken.json" -- "$cli" train --config "$dir/broken.json" --backend cpu --out "$dir/x"
expect_error 1 "in.csv" -- "$cli" eval --config "$dir/run/config.json" --weights "$dir/in.csv" --input "$dir/in.csv" --out "$dir/p.csv"
printf 'x0,x1\n' > "$dir/header_only.csv"
expect_error 1 "header_only.csv: no data rows after the header" -- "$cli" eval --config "$dir/run/config.json" --weights "$dir/run/weights.safetensors" --input "$dir/header_only.csv" --out "$dir/p.csv"
# Transformer eval: one sequence of token ids per row (32 = the preset's eval batch, so no padding
# rows share the capacity), one output row per token; an independent forward pass written from
# docs/weights.md reproduces its probabilities and routing (capacity drops included).
awk 'BEGIN { srand(5); printf "t0"; for (i = 1; i < 12; i++) printf ",t%d", i; print ",group";
  for (s = 0; s < 32; s++) { printf "%d", 2 + s % 3; for (i = 1; i < 6; i++) printf ",%d", 5 + int(11 * rand());
    printf ",1"; for (i = 7; i < 12; i++) printf ",0"; print "," s % 3 } }' > "$dir/seqs.csv"
"$cli" eval --config "$dir/tf/config.json" --weights "$dir/tf/weights.safetensors" --input "$dir/seqs.csv" \
  --out "$dir/seqs_pred.csv" 2> /dev/null || fail "eval of a transformer"
[ "$(wc -l < "$dir/seqs_pred.csv")" -eq 385 ] || fail "transformer eval should write one row per token"
python3 "$(dirname "$0")/../reference/transformer_forward_reference.py" "$dir/tf/config.json" "$dir/tf/weights.safetensors" \
  "$dir/seqs.csv" "$dir/seqs_pred.csv" || fail "reference Transformer forward disagrees"
expect_error 1 "has 2 token columns" -- "$cli" eval --config "$dir/tf/config.json" --weights "$dir/tf/weights.safetensors" --input "$dir/grid.csv" --out "$dir/p.csv"
sed '3s/^[0-9]*,/99,/' "$dir/seqs.csv" > "$dir/bad_ids.csv"
expect_error 1 "bad_ids.csv:3: column 't0': 99.* is not a token id" -- "$cli" eval --config "$dir/tf/config.json" --weights "$dir/tf/weights.safetensors" --input "$dir/bad_ids.csv" --out "$dir/p.csv"
# The group column: a whole task id in [-1, 3) (the preset has 3 tasks; -1 = unlabelled). Without
# it every sequence is task 0, accepted because no layer of this model routes by task.
for bad in 3 -2 1.5; do
  sed "3s/,[^,]*\$/,$bad/" "$dir/seqs.csv" > "$dir/bad_group.csv"
  expect_error 1 "bad_group.csv:3: column 'group': $bad.* is not a task id in \[0, 3) or -1" -- "$cli" eval --config "$dir/tf/config.json" --weights "$dir/tf/weights.safetensors" --input "$dir/bad_group.csv" --out "$dir/p.csv"
done
sed "3s/,[^,]*\$/,-1/" "$dir/seqs.csv" > "$dir/unlabelled.csv"
"$cli" eval --config "$dir/tf/config.json" --weights "$dir/tf/weights.safetensors" --input "$dir/unlabelled.csv" \
  --out "$dir/p.csv" 2> /dev/null || fail "group -1 (an unlabelled sequence) should be accepted"
cut -d, -f1-12 "$dir/seqs.csv" > "$dir/no_group.csv"
"$cli" eval --config "$dir/tf/config.json" --weights "$dir/tf/weights.safetensors" --input "$dir/no_group.csv" \
  --out "$dir/no_group_pred.csv" 2> /dev/null || fail "a CSV without a group column should default to group 0"
sed '2,$s/,[^,]*$/,0/' "$dir/seqs.csv" > "$dir/group0.csv"
"$cli" eval --config "$dir/tf/config.json" --weights "$dir/tf/weights.safetensors" --input "$dir/group0.csv" \
  --out "$dir/group0_pred.csv" 2> /dev/null || fail "eval with every group 0"
cmp -s "$dir/no_group_pred.csv" "$dir/group0_pred.csv" || fail "eval without a group column differs from group 0"
# With no Vulkan driver at all: info says so, auto falls back to the CPU, vulkan is a clear error.
VK_DRIVER_FILES=/nonexistent/icd.json "$cli" info | grep -q "no device found" || fail "info without Vulkan"
VK_DRIVER_FILES=/nonexistent/icd.json "$cli" train --steps 3 --out "$dir/novk" > /dev/null 2>&1 \
  || fail "auto backend should train on the CPU without Vulkan"
expect_error 1 "no Vulkan loader/driver found" -- env VK_DRIVER_FILES=/nonexistent/icd.json "$cli" train --backend vulkan --steps 3 --out "$dir/novk2"

# A diverging run stops with a message and exit code 3, and still writes its outputs.
sed -e 's/"learning_rate": 0.01/"learning_rate": 1e8/' -e 's/"optimizer": "adam"/"optimizer": "sgd"/' \
  "$dir/run/config.json" > "$dir/diverge.json"
expect_error 3 "diverged at step" -- "$cli" train --config "$dir/diverge.json" --backend cpu --steps 100 --out "$dir/div"
[ -s "$dir/div/summary.json" ] || fail "a diverged run should still write summary.json"
echo "cli_smoke: all checks passed"
