#include "tsne/fft.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace rl::tsne {

Fft2d::Fft2d(size_t m) : m_(m), stride_(m + 16) {
  if (m < 2 || (m & (m - 1)))
    throw std::invalid_argument("Fft2d: size " + std::to_string(m) + " is not a power of two >= 2");
  cosTable_.resize(m / 2);
  sinTable_.resize(m / 2);
  for (size_t t = 0; t < m / 2; ++t) {
    const double a = 2.0 * M_PI * double(t) / double(m);
    cosTable_[t] = float(std::cos(a));
    sinTable_[t] = float(std::sin(a));
  }
}

// Both passes work on strips of kStrip columns, all stages per strip, so the strip (M rows x
// kStrip complex values: 256 KB at M = 512) stays in L2 instead of streaming the array per stage.
constexpr size_t kStrip = 64;

void Fft2d::difRows(float* re0, float* im0, size_t allCols, size_t inputRows) const {
  const size_t m = m_;
  for (size_t c0 = 0; c0 < allCols; c0 += kStrip) {
    float* re = re0 + c0;
    float* im = im0 + c0;
    const size_t cols = std::min(kStrip, allCols - c0);
    for (size_t len = m; len >= 2; len /= 2) {
      const size_t half = len / 2, stride = m / len;  // twiddle t*stride: exp(-2 pi i j / len)
      // First stage with the lower half all zero: a stays, b = a * w.
      const bool lowerZero = len == m && inputRows <= half;
      for (size_t s = 0; s < m; s += len)
        for (size_t j = 0; j < half; ++j) {
          const float wr = cosTable_[j * stride], wi = -sinTable_[j * stride];
          float* __restrict ar = re + (s + j) * stride_;
          float* __restrict ai = im + (s + j) * stride_;
          float* __restrict br = re + (s + j + half) * stride_;
          float* __restrict bi = im + (s + j + half) * stride_;
          if (lowerZero) {
            for (size_t c = 0; c < cols; ++c) {
              const float xr = ar[c], xi = ai[c];
              br[c] = xr * wr - xi * wi;
              bi[c] = xr * wi + xi * wr;
            }
          } else if (j == 0) {
            for (size_t c = 0; c < cols; ++c) {
              const float xr = ar[c], xi = ai[c], yr = br[c], yi = bi[c];
              ar[c] = xr + yr;
              ai[c] = xi + yi;
              br[c] = xr - yr;
              bi[c] = xi - yi;
            }
          } else {
            for (size_t c = 0; c < cols; ++c) {
              const float xr = ar[c], xi = ai[c], yr = br[c], yi = bi[c];
              ar[c] = xr + yr;
              ai[c] = xi + yi;
              const float tr = xr - yr, ti = xi - yi;
              br[c] = tr * wr - ti * wi;
              bi[c] = tr * wi + ti * wr;
            }
          }
        }
    }
  }
}

void Fft2d::ditRows(float* re0, float* im0, size_t allCols, size_t outputRows) const {
  const size_t m = m_;
  for (size_t c0 = 0; c0 < allCols; c0 += kStrip) {
    float* re = re0 + c0;
    float* im = im0 + c0;
    const size_t cols = std::min(kStrip, allCols - c0);
    for (size_t len = 2; len <= m; len *= 2) {
      const size_t half = len / 2, stride = m / len;  // twiddle exp(+2 pi i j / len)
      const bool upperOnly = len == m && outputRows <= half;
      for (size_t s = 0; s < m; s += len)
        for (size_t j = 0; j < half; ++j) {
          const float wr = cosTable_[j * stride], wi = sinTable_[j * stride];
          float* __restrict ar = re + (s + j) * stride_;
          float* __restrict ai = im + (s + j) * stride_;
          float* __restrict br = re + (s + j + half) * stride_;
          float* __restrict bi = im + (s + j + half) * stride_;
          if (upperOnly) {
            for (size_t c = 0; c < cols; ++c) {
              const float yr = br[c] * wr - bi[c] * wi, yi = br[c] * wi + bi[c] * wr;
              ar[c] += yr;
              ai[c] += yi;
            }
          } else {
            for (size_t c = 0; c < cols; ++c) {
              const float yr = br[c] * wr - bi[c] * wi, yi = br[c] * wi + bi[c] * wr;
              const float xr = ar[c], xi = ai[c];
              ar[c] = xr + yr;
              ai[c] = xi + yi;
              br[c] = xr - yr;
              bi[c] = xi - yi;
            }
          }
        }
    }
  }
}

void Fft2d::transpose(float* a) const {
  const size_t m = m_, s = stride_, b = 16;  // blocks keep both the read and the write side in cache
  for (size_t r0 = 0; r0 < m; r0 += b)
    for (size_t c0 = r0; c0 < m; c0 += b)
      for (size_t r = r0; r < r0 + b; ++r)
        for (size_t c = (c0 == r0 ? r + 1 : c0); c < c0 + b; ++c) std::swap(a[r * s + c], a[c * s + r]);
}

void Fft2d::forward(float* re, float* im, size_t rows, size_t cols) const {
  if (m_ < 16) {  // blocked transpose wants 16 | M; tiny sizes are not worth a second code path
    throw std::invalid_argument("Fft2d: size " + std::to_string(m_) + " below 16");
  }
  difRows(re, im, std::min(cols, m_), std::min(rows, m_));
  transpose(re);
  transpose(im);
  difRows(re, im, m_, std::min(cols, m_));
}

void Fft2d::inverse(float* re, float* im, size_t rows, size_t cols) const {
  if (m_ < 16) throw std::invalid_argument("Fft2d: size " + std::to_string(m_) + " below 16");
  ditRows(re, im, m_, std::min(cols, m_));
  transpose(re);
  transpose(im);
  ditRows(re, im, std::min(cols, m_), std::min(rows, m_));
}

}  // namespace rl::tsne
