#include "ops/residual_add.h"

#include <stdexcept>

#include "ops/shape_check.h"

namespace rl {

namespace {

// A float tensor of at least `count` elements, bound to exactly that many (texel views need it).
Binding exactFloat(const Program& program, TensorId t, uint32_t count, const std::string& op, const char* role) {
  requireDType(program, t, DType::F32, op, role);
  requireWords(program, t, count, op, role);
  return {program.info(t).offset, count};
}

uint64_t quads(const ResidualAddParams& p) { return ceilDiv(p.count, 4); }  // work items

// residual_add reads bindings 0 and 1 as texels; residual_add_storage reads nothing as texels.
std::vector<bool> texelInputs(const ResidualAddParams& p) {
  return residualAddTexels(p) ? std::vector<bool>{true, true} : std::vector<bool>{};
}

}  // namespace

ResidualAdd::ResidualAdd(const Program& program, TensorId a, TensorId b, TensorId y, ResidualAddParams params)
    : StridedOp("residual_add(" + program.info(y).name + ")"), a_(a), b_(b), y_(y), p_(params) {
  if (p_.count == 0) throw std::invalid_argument(label_ + ": count must be >= 1");
  if (y == a || y == b) throw std::invalid_argument(label_ + ": y must be a tensor distinct from a and b");
  setup(p_, quads(p_),
        {exactFloat(program, a, p_.count, label_, "a"), exactFloat(program, b, p_.count, label_, "b"),
         exactFloat(program, y, p_.count, label_, "y")});
}

std::vector<bool> ResidualAdd::texelBindings() const { return texelInputs(p_); }

void ResidualAdd::runCpu(const ArenaView& arena) const {
  const float* a = arena.f(a_);
  const float* b = arena.f(b_);
  float* y = arena.f(y_);
  for (uint32_t i = 0; i < p_.count; ++i) y[i] = a[i] + b[i];
}

AccumulateInto::AccumulateInto(const Program& program, TensorId src, TensorId dst, ResidualAddParams params)
    : StridedOp("accumulate_into(" + program.info(dst).name + ")"), src_(src), dst_(dst), p_(params) {
  if (p_.count == 0) throw std::invalid_argument(label_ + ": count must be >= 1");
  if (src == dst) throw std::invalid_argument(label_ + ": src and dst must be distinct tensors");
  // The shader computes binding 2 = binding 0 + binding 1: (src, dst, dst) is dst += src.
  const Binding s = exactFloat(program, src, p_.count, label_, "src");
  const Binding d = exactFloat(program, dst, p_.count, label_, "dst");
  setup(p_, quads(p_), {s, d, d});
}

std::vector<bool> AccumulateInto::texelBindings() const { return texelInputs(p_); }

void AccumulateInto::runCpu(const ArenaView& arena) const {
  const float* src = arena.f(src_);
  float* dst = arena.f(dst_);
  for (uint32_t i = 0; i < p_.count; ++i) dst[i] = src[i] + dst[i];
}

}  // namespace rl
