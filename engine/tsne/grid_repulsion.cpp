#include "tsne/grid_repulsion.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rl::tsne {

namespace {

// Cubic Lagrange weights for nodes at -1, 0, 1, 2 evaluated at t in [0, 1).
inline void lagrange4(double t, float* w) {
  w[0] = float(-t * (t - 1) * (t - 2) / 6);
  w[1] = float((t + 1) * (t - 1) * (t - 2) / 2);
  w[2] = float(-(t + 1) * t * (t - 2) / 2);
  w[3] = float((t + 1) * t * (t - 1) / 6);
}

}  // namespace

GridRepulsion::GridRepulsion(WorkerPool& pool, GridRepulsionOptions options) : pool_(pool), options_(options) {}
GridRepulsion::~GridRepulsion() = default;

void GridRepulsion::chooseGrid(double span) {
  // Smallest power-of-two G whose grid covers the span at spacing <= maxSpacing, keeping a 2-node
  // margin on each side for the stencil; then h quantised up to 2^(k/8) so the kernel spectrum is
  // recomputed only when h really moves (the embedding grows a little every iteration).
  size_t g = options_.minNodes;
  while (g < options_.maxNodes && span / double(g - 4) > options_.maxSpacing) g *= 2;
  double h = std::max(span / double(g - 4), 1e-12);
  h = std::exp2(std::ceil(std::log2(h) * 8) / 8);
  nodes_ = g;
  spacing_ = h;
}

void GridRepulsion::kernelSpectrum() {
  const size_t g = nodes_, m = 2 * g;
  if (!fft_ || fft_->size() != m) fft_ = std::make_unique<Fft2d>(m);
  const size_t stride = fft_->stride();
  std::vector<float> im(fft_->elements(), 0.0f);
  kernel_.assign(fft_->elements(), 0.0f);
  for (size_t a = 0; a < m; ++a)
    for (size_t b = 0; b < m; ++b) {
      // Circular offsets: index a stands for a (a < G) or a - M; a = G is never reached by a
      // difference of two nodes (|offset| <= G - 1), so its value does not matter.
      const double da = a < g ? double(a) : a == g ? 0.0 : double(a) - double(m);
      const double db = b < g ? double(b) : b == g ? 0.0 : double(b) - double(m);
      const double r2 = spacing_ * spacing_ * (da * da + db * db);
      kernel_[a * stride + b] = float(1.0 / ((1 + r2) * (1 + r2)));
    }
  fft_->forward(kernel_.data(), im.data(), m, m);  // real and even: the spectrum is real
  const float scale = float(fft_->inverseScale());  // the inverse transform's 1 / M^2, applied once here
  for (auto& v : kernel_) v *= scale;
  kernelNodes_ = g;
  kernelSpacing_ = spacing_;
}

double GridRepulsion::compute(const double* y, size_t n, double* repulsion) {
  double lo[2] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  double hi[2] = {-lo[0], -lo[1]};
  for (size_t i = 0; i < n; ++i)
    for (int d = 0; d < 2; ++d) {
      lo[d] = std::min(lo[d], y[2 * i + d]);
      hi[d] = std::max(hi[d], y[2 * i + d]);
    }
  chooseGrid(std::max(hi[0] - lo[0], hi[1] - lo[1]));
  if (nodes_ != kernelNodes_ || spacing_ != kernelSpacing_) kernelSpectrum();
  const size_t g = nodes_, m = 2 * g, stride = fft_->stride();
  const double h = spacing_;
  const double centre[2] = {(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2};
  const double origin = -h * double(g - 1) / 2;  // node 0 relative to the centre

  // Stencils and weights.
  weights_.resize(8 * n);
  cell_.resize(n);
  pool_.forRange(n, [&](unsigned, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      uint32_t first[2];
      for (int d = 0; d < 2; ++d) {
        const double u = (y[2 * i + d] - centre[d] - origin) / h;
        const double f = std::floor(u);
        first[d] = uint32_t(f) - 1;
        lagrange4(u - f, &weights_[8 * i + 4 * d]);
      }
      cell_[i] = first[0] | (first[1] << 16);
    }
  });

  // Spread the four charges: thread 0 into the FFT grids, the others into partial grids added after.
  for (int c = 0; c < 2; ++c) {
    gridRe_[c].assign(fft_->elements(), 0.0f);
    gridIm_[c].assign(fft_->elements(), 0.0f);
  }
  const unsigned threads = pool_.threads();
  spread_.resize(threads > 1 ? threads - 1 : 0);
  pool_.forRange(n, [&](unsigned chunk, size_t begin, size_t end) {
    float* q[4];
    size_t rowStride = stride;
    if (chunk == 0) {
      q[0] = gridRe_[0].data(), q[1] = gridIm_[0].data(), q[2] = gridRe_[1].data(), q[3] = gridIm_[1].data();
    } else {
      auto& buf = spread_[chunk - 1];
      buf.assign(4 * g * g, 0.0f);
      for (int c = 0; c < 4; ++c) q[c] = buf.data() + c * g * g;
      rowStride = g;
    }
    for (size_t i = begin; i < end; ++i) {
      const double y1 = y[2 * i] - centre[0], y2 = y[2 * i + 1] - centre[1];
      const float charge[4] = {1.0f, float(y1), float(y2), float(y1 * y1 + y2 * y2)};
      const float* wx = &weights_[8 * i];
      const float* wy = wx + 4;
      const size_t x0 = cell_[i] & 0xffff, y0 = cell_[i] >> 16;
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b) {
          const float w = wx[a] * wy[b];
          const size_t at = (x0 + a) * rowStride + (y0 + b);
          for (int c = 0; c < 4; ++c) q[c][at] += w * charge[c];
        }
    }
  });
  for (const auto& buf : spread_)
    for (size_t r = 0; r < g; ++r)
      for (size_t col = 0; col < g; ++col)
        for (int c = 0; c < 4; ++c) {
          auto& dst = c % 2 == 0 ? gridRe_[c / 2] : gridIm_[c / 2];
          dst[r * stride + col] += buf[c * g * g + r * g + col];
        }

  // Convolve both complex grids with the kernel (one per thread).
  pool_.run(2, [&](size_t c) {
    float* re = gridRe_[c].data();
    float* im = gridIm_[c].data();
    fft_->forward(re, im, g, g);
    for (size_t t = 0; t < fft_->elements(); ++t) {
      re[t] *= kernel_[t];
      im[t] *= kernel_[t];
    }
    fft_->inverse(re, im, g, g);
  });

  // Gather potentials, forces and the per-point share of Z.
  std::vector<double> zPart(threads, 0.0);
  pool_.forRange(n, [&](unsigned chunk, size_t begin, size_t end) {
    const float* p[4] = {gridRe_[0].data(), gridIm_[0].data(), gridRe_[1].data(), gridIm_[1].data()};
    double z = 0;
    for (size_t i = begin; i < end; ++i) {
      const float* wx = &weights_[8 * i];
      const float* wy = wx + 4;
      const size_t x0 = cell_[i] & 0xffff, y0 = cell_[i] >> 16;
      double phi[4] = {0, 0, 0, 0};
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b) {
          const double w = double(wx[a]) * double(wy[b]);
          const size_t at = (x0 + a) * stride + (y0 + b);
          for (int c = 0; c < 4; ++c) phi[c] += w * double(p[c][at]);
        }
      const double y1 = y[2 * i] - centre[0], y2 = y[2 * i + 1] - centre[1];
      repulsion[2 * i] = y1 * phi[0] - phi[1];
      repulsion[2 * i + 1] = y2 * phi[0] - phi[2];
      z += (1 + y1 * y1 + y2 * y2) * phi[0] - 2 * (y1 * phi[1] + y2 * phi[2]) + phi[3];
    }
    zPart[chunk] = z;
  });
  double z = -double(n);
  for (double v : zPart) z += v;
  return z;
}

}  // namespace rl::tsne
