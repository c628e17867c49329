#include "tsne/tsne_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "tsne/schedule.h"

namespace rl::tsne {

TsneTensors addTsneTensors(Program& program, uint32_t n, uint32_t entries) {
  const uint32_t padded = (n + kTsnePadMultiple - 1) / kTsnePadMultiple * kTsnePadMultiple;
  TsneTensors t;
  t.y = program.add("tsne.y", {padded, 2}, Role::Param);
  t.rowStart = program.add("tsne.rowStart", {n + 1}, Role::Input, DType::I32);
  t.col = program.add("tsne.col", {std::max(entries, 1u)}, Role::Input, DType::I32);
  t.pval = program.add("tsne.p", {std::max(entries, 1u)}, Role::Input);
  t.forces = program.add("tsne.forces", {n, 4}, Role::Activation);
  t.sums = program.add("tsne.sums", {n, 2}, Role::Activation);
  t.gains = program.add("tsne.gains", {n, 2}, Role::OptState);
  t.update = program.add("tsne.update", {n, 2}, Role::OptState);
  t.state = program.add("tsne.state", {4}, Role::OptState);
  return t;
}

TsneForcesOp::TsneForcesOp(const Program& program, const TsneTensors& t, uint32_t n, uint32_t tile)
    : t_(t), tile_(tile) {
  if (tile == 0 || tile > 16) throw std::invalid_argument("tsne_forces: tile " + std::to_string(tile) + " not in 1..16");
  const uint64_t padded = program.info(t.y).shape[0];
  if (padded < n || padded % kTsnePadMultiple)
    throw std::invalid_argument("tsne_forces: y has " + std::to_string(padded) + " rows for " + std::to_string(n) + " points");
  p_.n = n;
  p_.texels = uint32_t(padded / 2);
  bindings_ = {bind(program, t.y),     bind(program, t.rowStart), bind(program, t.col),
               bind(program, t.pval),  bind(program, t.forces),   bind(program, t.sums)};
}

Grid TsneForcesOp::grid() const { return {ceilDiv(ceilDiv(p_.n, tile_), localSize()), 1, 1}; }

void TsneForcesOp::runCpu(const ArenaView& arena) const {
  const float* y = arena.f(t_.y);
  const uint32_t* rowStart = reinterpret_cast<const uint32_t*>(arena.i(t_.rowStart));
  const uint32_t* col = reinterpret_cast<const uint32_t*>(arena.i(t_.col));
  const float* pval = arena.f(t_.pval);
  float* forces = arena.f(t_.forces);
  float* sums = arena.f(t_.sums);
  const uint32_t np = p_.texels * 2;
  for (uint32_t i = 0; i < p_.n; ++i) {
    const float yi0 = y[2 * i], yi1 = y[2 * i + 1];
    double z = 0, r0 = 0, r1 = 0;
    for (uint32_t j = 0; j < np; ++j) {
      const float d0 = yi0 - y[2 * j], d1 = yi1 - y[2 * j + 1];
      const double q = 1.0 / (1.0 + double(d0) * d0 + double(d1) * d1);
      z += q;
      r0 += q * q * d0;
      r1 += q * q * d1;
    }
    double a0 = 0, a1 = 0, kl = 0;
    for (uint32_t e = rowStart[i]; e < rowStart[i + 1]; ++e) {
      const uint32_t j = col[e];
      const double d0 = double(yi0) - y[2 * j], d1 = double(yi1) - y[2 * j + 1];
      const double d2 = d0 * d0 + d1 * d1, w = 1.0 / (1.0 + d2);
      a0 += pval[e] * w * d0;
      a1 += pval[e] * w * d1;
      kl += pval[e] * std::log1p(d2);
    }
    forces[4 * i] = float(a0);
    forces[4 * i + 1] = float(a1);
    forces[4 * i + 2] = float(r0);
    forces[4 * i + 3] = float(r1);
    sums[2 * i] = float(z - 1.0);
    sums[2 * i + 1] = float(kl);
  }
}

TsneUpdateOp::TsneUpdateOp(const Program& program, const TsneTensors& t, const TsneUpdateParams& p) : t_(t), p_(p) {
  bindings_ = {bind(program, t.y),     bind(program, t.forces), bind(program, t.sums),
               bind(program, t.gains), bind(program, t.update), bind(program, t.state)};
}

void TsneUpdateOp::runCpu(const ArenaView& arena) const {
  float* y = arena.f(t_.y);
  const float* forces = arena.f(t_.forces);
  const float* sums = arena.f(t_.sums);
  float* gains = arena.f(t_.gains);
  float* update = arena.f(t_.update);
  float* state = arena.f(t_.state);
  uint32_t iteration;
  std::memcpy(&iteration, &state[0], 4);
  double z = 0, kl = 0;
  for (uint32_t i = 0; i < p_.n; ++i) {
    z += sums[2 * i];
    kl += sums[2 * i + 1];
  }
  const bool early = iteration < p_.exaggerationIterations;
  const float exaggeration = early ? p_.exaggeration : 1.0f, momentum = early ? p_.momentum : p_.finalMomentum;
  const float invZ = float(1.0 / z);
  for (uint32_t i = 0; i < p_.n; ++i)
    for (int d = 0; d < 2; ++d) {
      const size_t t = 2 * i + d;
      const float g = exaggeration * forces[4 * i + d] - forces[4 * i + 2 + d] * invZ;
      float gain = g * update[t] < 0 ? gains[t] + float(kGainUp) : gains[t] * float(kGainDown);
      gains[t] = gain = std::max(gain, float(kMinGain));
      update[t] = momentum * update[t] - p_.learningRate * gain * g;
      y[t] += update[t];
    }
  ++iteration;
  std::memcpy(&state[0], &iteration, 4);
  state[1] = float(z);
  state[2] = float(kl);
}

}  // namespace rl::tsne
