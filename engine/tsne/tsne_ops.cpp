#include "tsne/tsne_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "tsne/schedule.h"

namespace rl::tsne {

uint32_t packedTexels(const std::vector<uint32_t>& rowStart) {
  uint32_t texels = 0;
  for (size_t i = 0; i + 1 < rowStart.size(); ++i) texels += (rowStart[i + 1] - rowStart[i] + 1) / 2;
  return texels;
}

PackedAffinities packAffinities(const std::vector<uint32_t>& rowStart, const std::vector<uint32_t>& col,
                                const std::vector<float>& value) {
  const size_t n = rowStart.empty() ? 0 : rowStart.size() - 1;
  if (n >= kTsneMaxPoints)
    throw std::invalid_argument("t-SNE on Vulkan: " + std::to_string(n) + " points, at most " +
                                std::to_string(kTsneMaxPoints - 1));
  if (col.size() != value.size() || (n > 0 && rowStart[n] != col.size()))
    throw std::invalid_argument("t-SNE on Vulkan: inconsistent sparse P");
  PackedAffinities out;
  out.rowTexels.reserve(n + 1);
  out.rowTexels.push_back(0);
  for (size_t i = 0; i < n; ++i) {
    for (uint32_t e = rowStart[i]; e < rowStart[i + 1]; ++e) {
      out.texels.push_back(float(col[e]));
      out.texels.push_back(value[e]);
    }
    if ((rowStart[i + 1] - rowStart[i]) % 2) {  // pad: j = i, p = 0
      out.texels.push_back(float(i));
      out.texels.push_back(0.0f);
    }
    out.rowTexels.push_back(uint32_t(out.texels.size() / 4));
  }
  return out;
}

std::vector<uint32_t> tsneAttractionOrder(const std::vector<uint32_t>& rowStart, uint32_t tile) {
  const uint32_t n = rowStart.empty() ? 0 : uint32_t(rowStart.size() - 1);
  if (tile == 0 || kTsneBlock % tile)
    throw std::invalid_argument("tsneAttractionOrder: tile " + std::to_string(tile) + " does not divide " +
                                std::to_string(kTsneBlock));
  std::vector<uint32_t> byLength(n);
  for (uint32_t i = 0; i < n; ++i) byLength[i] = i;
  std::sort(byLength.begin(), byLength.end(), [&](uint32_t a, uint32_t b) {
    const uint32_t la = rowStart[a + 1] - rowStart[a], lb = rowStart[b + 1] - rowStart[b];
    return la > lb || (la == lb && a < b);
  });
  const uint32_t lanes = kTsneBlock / tile;
  std::vector<uint32_t> order(size_t(tsneBlocks(n)) * kTsneBlock, 0);
  // Rank m within a block's 64 goes to invocation m % lanes, its step m / lanes. The last block
  // may be partial: its ranks are spread the same way and slots without a rank keep 0, which the
  // shader skips by position (>= N) -- so the real entries must sit at slots < N. They do when
  // the last block is full; otherwise place its ranks in slot order instead.
  for (uint32_t first = 0; first < n; first += kTsneBlock) {
    const uint32_t count = std::min(kTsneBlock, n - first);
    for (uint32_t m = 0; m < count; ++m)
      order[first + (count == kTsneBlock ? (m % lanes) * tile + m / lanes : m)] = byLength[first + m];
  }
  return order;
}

uint64_t tsneForcesLoopIterations(uint32_t n, const std::vector<uint32_t>& rowTexels,
                                  const std::vector<uint32_t>& attractOrder, uint32_t tile) {
  uint64_t rows = 0;
  for (uint32_t first = 0; first < n; first += tile) {  // slots first .. first + tile - 1: one invocation
    uint64_t own = 0;
    for (uint32_t k = first; k < std::min(first + tile, n); ++k) {
      const uint32_t i = attractOrder[k];
      own += rowTexels[i + 1] - rowTexels[i] + 2;
    }
    rows = std::max(rows, own);
  }
  return 2 * uint64_t(tsneNodes(n)) + 2 + rows;
}

TsneTensors addTsneTensors(Program& program, uint32_t n, uint32_t texels) {
  const uint32_t padded = (n + kTsnePadMultiple - 1) / kTsnePadMultiple * kTsnePadMultiple;
  const uint32_t blocks = tsneBlocks(n), nodes = std::max(tsneNodes(n), 1u);
  TsneTensors t;
  t.y = program.add("tsne.y", {padded, 2}, Role::Param);
  t.order = program.add("tsne.order", {blocks * kTsneBlock}, Role::Input, DType::I32);
  t.attractOrder = program.add("tsne.attractOrder", {blocks * kTsneBlock}, Role::Input, DType::I32);
  t.sortedY = program.add("tsne.sortedY", {blocks * kTsneBlock, 2}, Role::Activation);
  t.nodes = program.add("tsne.nodes", {nodes, 8}, Role::Activation);
  t.rowTexels = program.add("tsne.rowTexels", {n + 1}, Role::Input, DType::I32);
  t.pTexels = program.add("tsne.pTexels", {std::max(texels, 1u), 4}, Role::Input);
  t.lists = program.add("tsne.lists", {blocks * nodes}, Role::Activation, DType::I32);
  t.forces = program.add("tsne.forces", {n, 4}, Role::Activation);
  t.sums = program.add("tsne.sums", {n, 2}, Role::Activation);
  t.gains = program.add("tsne.gains", {n, 2}, Role::OptState);
  t.update = program.add("tsne.update", {n, 2}, Role::OptState);
  t.state = program.add("tsne.state", {4}, Role::OptState);
  return t;
}

void writeTsneStatics(Backend& backend, const Program& program, const TsneTensors& t, uint32_t n,
                      const std::vector<uint32_t>& rowStart, const PackedAffinities& packed, uint32_t tile) {
  backend.writeTensor(program, t.attractOrder, tsneAttractionOrder(rowStart, tile));
  backend.writeTensor(program, t.rowTexels, packed.rowTexels);
  backend.writeTensor(program, t.pTexels, packed.texels);
}

TsneBlocksOp::TsneBlocksOp(const Program& program, const TsneTensors& t, uint32_t n) : t_(t) {
  p_.n = n;
  p_.leaves = tsneLeaves(n);
  p_.blocks = tsneBlocks(n);
  p_.chunks = tsneChunks(n);
  bindings_ = {bind(program, t.y), bind(program, t.order), bind(program, t.sortedY), bind(program, t.nodes)};
}

void TsneBlocksOp::runCpu(const ArenaView& arena) const {
  const float* y = arena.f(t_.y);
  const uint32_t* order = reinterpret_cast<const uint32_t*>(arena.i(t_.order));
  float* sorted = arena.f(t_.sortedY);
  float* nodes = arena.f(t_.nodes);
  for (uint32_t k = 0; k < p_.blocks * kTsneBlock; ++k) {
    sorted[2 * k] = k < p_.n ? y[2 * order[k]] : kTsnePadCoordinate;
    sorted[2 * k + 1] = k < p_.n ? y[2 * order[k] + 1] : kTsnePadCoordinate;
  }
  // One summary per node from its points (as the shader: one invocation per node, leaves first).
  auto summarise = [&](uint32_t node, uint32_t first, uint32_t size) {
    const uint32_t count = std::min(size, p_.n - first);
    float c0 = 0, c1 = 0;  // float sums in order, as the shader
    for (uint32_t k = first; k < first + count; ++k) {
      c0 += y[2 * order[k]];
      c1 += y[2 * order[k] + 1];
    }
    c0 /= float(count);
    c1 /= float(count);
    float r2 = 0, mxx = 0, mxy = 0, myy = 0;
    for (uint32_t k = first; k < first + count; ++k) {
      const float d0 = y[2 * order[k]] - c0, d1 = y[2 * order[k] + 1] - c1;
      r2 = std::max(r2, d0 * d0 + d1 * d1);
      mxx += d0 * d0;
      mxy += d0 * d1;
      myy += d1 * d1;
    }
    float* out = &nodes[8 * size_t(node)];
    out[0] = c0;
    out[1] = c1;
    out[2] = std::sqrt(r2);
    out[3] = float(count);
    out[4] = mxx;
    out[5] = mxy;
    out[6] = myy;
    out[7] = 0;
  };
  for (uint32_t u = 0; u < p_.leaves; ++u) summarise(tsneLeafNode(u), u * kTsneLeaf, kTsneLeaf);
  for (uint32_t b = 0; b < p_.blocks; ++b) summarise(tsneBlockNode(b), b * kTsneBlock, kTsneBlock);
  for (uint32_t c = 0; c < p_.chunks; ++c) summarise(tsneChunkNode(c), c * kTsneChunk, kTsneChunk);
}

TsneForcesOp::TsneForcesOp(const Program& program, const TsneTensors& t, uint32_t n, float theta, uint32_t tile)
    : t_(t), tile_(tile) {
  if (tile == 0 || kTsneBlock % tile)
    throw std::invalid_argument("tsne_forces: tile " + std::to_string(tile) + " does not divide " + std::to_string(kTsneBlock));
  if (!(theta >= 0)) throw std::invalid_argument("tsne_forces: theta " + std::to_string(theta) + " is negative");
  const uint64_t padded = program.info(t.y).shape[0];
  if (padded < n || padded % kTsnePadMultiple)
    throw std::invalid_argument("tsne_forces: y has " + std::to_string(padded) + " rows for " + std::to_string(n) + " points");
  p_.n = n;
  p_.blocks = tsneBlocks(n);
  p_.theta = theta;
  p_.nodes = tsneNodes(n);
  bindings_ = {bind(program, t.y),         bind(program, t.sortedY),      bind(program, t.nodes),
               bind(program, t.pTexels),   bind(program, t.order),
               bind(program, t.attractOrder), bind(program, t.rowTexels), bind(program, t.state),
               bind(program, t.forces),    bind(program, t.sums),         bind(program, t.lists)};
}

void TsneForcesOp::runCpu(const ArenaView& arena) const {
  const float* y = arena.f(t_.y);
  const float* sorted = arena.f(t_.sortedY);
  const float* nodes = arena.f(t_.nodes);
  const uint32_t* order = reinterpret_cast<const uint32_t*>(arena.i(t_.order));
  const uint32_t* attractOrder = reinterpret_cast<const uint32_t*>(arena.i(t_.attractOrder));
  const uint32_t* rowTexels = reinterpret_cast<const uint32_t*>(arena.i(t_.rowTexels));
  const float* packed = arena.f(t_.pTexels);
  const uint32_t* state = reinterpret_cast<const uint32_t*>(arena.i(t_.state));
  const bool withKl = state[0] == state[3];
  float* forces = arena.f(t_.forces);
  float* sums = arena.f(t_.sums);
  uint32_t* lists = reinterpret_cast<uint32_t*>(arena.i(t_.lists));
  const uint32_t m = p_.nodes;
  for (uint32_t t = 0; t < p_.blocks; ++t) {
    // The walk, as the shader writes it: far nodes from the front, near leaves' first points from the back.
    uint32_t* row = &lists[size_t(t) * m];
    uint32_t farCount = 0, nearCount = 0;
    const float* bt = &nodes[8 * size_t(tsneBlockNode(t))];
    for (uint32_t s = 0; s < m;) {
      const float* bs = &nodes[8 * size_t(s)];
      const TsneNode node = tsneNode(s, m);
      const float gap = std::max(std::hypot(bt[0] - bs[0], bt[1] - bs[1]) - bt[2], 0.0f);
      const bool far = p_.theta > 0 && p_.theta * std::sqrt(1 + gap * gap) > bs[2];
      if (far)
        row[farCount++] = s;
      else if (node.leaf)
        row[m - 1 - nearCount++] = node.first;
      s = far || node.leaf ? node.skip : s + 1;
    }
    for (uint32_t k = t * kTsneBlock; k < std::min((t + 1) * kTsneBlock, p_.n); ++k) {
      const uint32_t i = order[k];
      const float yi0 = sorted[2 * k], yi1 = sorted[2 * k + 1];
      double z = 0, r0 = 0, r1 = 0;
      for (uint32_t e = 0; e < farCount; ++e) {  // far: second-order expansion about the centroid
        const float* bs = &nodes[8 * size_t(row[e])];
        const double r[2] = {double(yi0) - bs[0], double(yi1) - bs[1]};
        const double q = 1.0 / (1.0 + r[0] * r[0] + r[1] * r[1]), q2 = q * q, q3 = q2 * q;
        const double mr[2] = {bs[4] * r[0] + bs[5] * r[1], bs[5] * r[0] + bs[6] * r[1]};
        const double rmr = r[0] * mr[0] + r[1] * mr[1], tr = double(bs[4]) + bs[6];
        z += bs[3] * q - q2 * tr + 4 * q3 * rmr;
        const double radial = bs[3] * q2 + 12 * q3 * q * rmr - 2 * q3 * tr;
        r0 += radial * r[0] - 4 * q3 * mr[0];
        r1 += radial * r[1] - 4 * q3 * mr[1];
      }
      for (uint32_t e = 0; e < nearCount; ++e) {  // near leaves: every pair (pads add nothing)
        const uint32_t first = row[m - 1 - e];
        for (uint32_t j = first; j < first + kTsneLeaf; ++j) {
          const double d0 = double(yi0) - sorted[2 * j], d1 = double(yi1) - sorted[2 * j + 1];
          const double q = 1.0 / (1.0 + d0 * d0 + d1 * d1);
          z += q;
          r0 += q * q * d0;
          r1 += q * q * d1;
        }
      }
      forces[4 * i + 2] = float(r0);
      forces[4 * i + 3] = float(r1);
      sums[2 * i] = float(z - 1.0);  // the self pair added q = 1
    }
  }
  for (uint32_t k = 0; k < p_.n; ++k) {  // attraction, in the attraction order's slots
    const uint32_t i = attractOrder[k];
    const float yi0 = y[2 * i], yi1 = y[2 * i + 1];
    double a0 = 0, a1 = 0, kl = 0;
    for (uint32_t e = 2 * rowTexels[i]; e < 2 * rowTexels[i + 1]; ++e) {  // two entries per texel
      const uint32_t j = uint32_t(packed[2 * e]);
      const double pe = packed[2 * e + 1];
      const double d0 = double(yi0) - y[2 * j], d1 = double(yi1) - y[2 * j + 1];
      const double d2 = d0 * d0 + d1 * d1, w = 1.0 / (1.0 + d2);
      a0 += pe * w * d0;
      a1 += pe * w * d1;
      if (withKl) kl += pe * std::log1p(d2);
    }
    forces[4 * i] = float(a0);
    forces[4 * i + 1] = float(a1);
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
