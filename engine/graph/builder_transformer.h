#pragma once
// Builds the Program of a Transformer spec (spec.model.kind == transformer): a pre-LN Transformer
// whose feed-forward blocks are Mixture-of-Experts layers over the token rows. The forward
// computation and the parameter names are documented in docs/weights.md (Transformer section).
//
// Legend: B sequences per batch, T positions, N = B T token rows, D = d_model, H heads,
// E experts, W expert width, V vocabulary, C classes.
//
// Same two phases and the same bookkeeping as the MLP builder (builder.h): "train" (forward,
// static backward tape, gradient norm, optimizer) and "eval" (forward only). The tensors the
// host writes are PhaseTensors::ids, ::group and ::labels; the per-layer MoeTensors are those of
// the MLP MoE layers, so metrics and probes read them the same way.
#include "graph/builder.h"

namespace rl {

// shape.inputDim must be the sequence length T and shape.outputDim the classes (sequence
// classification) or V (next token); evalBatch counts sequences. Throws std::invalid_argument
// naming the spec path for what cannot be built.
BuiltModel buildTransformer(const Spec& spec, const ModelShape& shape, int evalBatch);

// Capacity per expert of a token router over n token rows of `sequences` sequences: token_choice,
// hash and task ceil(cf n k / E) clamped to [1, n] (no limit when cf <= 0); expert_choice
// ceil(cf n / E) clamped to [1, n] (every expert fills exactly this many); dense: n; soft_moe: the
// slots an expert gets, slots_per_expert * sequences.
int tokenCapacity(const TokenRouterSpec& router, int experts, int n, int sequences = 1);

// Width of the per-token routing tables (idx, wt, slot): k for token_choice, 1 for hash and task,
// E for dense, expert_choice (column e = expert e) and soft_moe.
int tokenK(const TokenRouterSpec& router, int experts);

}  // namespace rl
