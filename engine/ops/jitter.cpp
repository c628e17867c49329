#include "ops/jitter.h"

#include <algorithm>

#include "ops/read_globals.h"
#include "ops/rng.h"
#include "ops/shape_check.h"

namespace rl {

namespace {
JitterParams forwardParams(JitterParams p) {
  p.accumulate = 0;
  return p;
}
}  // namespace

JitterOp::JitterOp(const Program& program, std::string label, TensorId in, TensorId globals, TensorId out,
                   JitterParams p)
    : label_(std::move(label)), p_(p), in_(in), globals_(globals), out_(out) {
  requireWords(program, in, p.count, label_, "input");
  requireWords(program, out, p.count, label_, "output");
  requireWords(program, globals, sizeof(Globals) / 4, label_, "globals");
  bindings_ = {bind(program, in), bind(program, globals), bind(program, out)};
}

Grid JitterOp::grid() const { return {std::max(1u, ceilDiv(p_.count, localSize())), 1, 1}; }

void JitterOp::runCpu(const ArenaView& arena) const {
  const Globals g = readGlobals(arena, globals_);
  const float* in = arena.f(in_);
  float* out = arena.f(out_);
  const bool noisy = g.train != 0;
  for (uint32_t i = 0; i < p_.count; ++i) {
    const float factor = noisy ? 1.f + p_.eps * (2.f * rng::uniform(g.seed, g.step, p_.stream, i) - 1.f) : 1.f;
    const float value = in[i] * factor;
    out[i] = p_.accumulate ? out[i] + value : value;
  }
}

JitterForward::JitterForward(const Program& program, TensorId x, TensorId globals, TensorId y, JitterParams p)
    : JitterOp(program, "jitter_fwd(" + program.info(y).name + ")", x, globals, y, forwardParams(p)) {}

JitterBackward::JitterBackward(const Program& program, TensorId dy, TensorId globals, TensorId dx, JitterParams p)
    : JitterOp(program, "jitter_bwd(" + program.info(dx).name + ")", dy, globals, dx, p) {}

}  // namespace rl
