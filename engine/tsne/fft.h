#pragma once
// A small radix-2 complex FFT for the 2-D convolutions of the t-SNE repulsion (no dependency), in
// single precision: twice the SIMD width of double, and the grid potentials only need ~1e-3
// relative accuracy (the interpolation error is larger than float rounding).
// Arrays are square M x M (M a power of two), row-major with a padded row stride (stride() >= M:
// power-of-two strides alias in the caches), real and imaginary parts split, so every
// butterfly is a vector operation over whole rows: a transform along the row index combines rows,
// and the second dimension is done after a transpose.
//
// forward(): natural order in; out comes the spectrum TRANSPOSED and in BIT-REVERSED order in
// both indices (decimation in frequency, no reordering). inverse() takes exactly that layout back
// to natural order (decimation in time), without the 1 / M^2. Pointwise products of two spectra
// made by forward() are therefore convolutions, which is all t-SNE needs.
#include <cstddef>
#include <vector>

namespace rl::tsne {

class Fft2d {
 public:
  explicit Fft2d(size_t m);  // throws std::invalid_argument unless m is a power of two >= 2
  size_t size() const { return m_; }
  size_t stride() const { return stride_; }          // floats from one row to the next
  size_t elements() const { return m_ * stride_; }  // array length
  double inverseScale() const { return 1.0 / double(m_ * m_); }

  // Only the top-left rows x cols block of the input may be non-zero (skips work on zero padding).
  void forward(float* re, float* im, size_t rows, size_t cols) const;
  // Only the top-left rows x cols block of the output is computed; the rest is left undefined.
  // Not divided by M^2: callers fold that into the spectrum they multiply with (see inverseScale()).
  void inverse(float* re, float* im, size_t rows, size_t cols) const;

 private:
  // Along the row index, over columns [0, cols): DIF with `inputRows` non-zero input rows.
  void difRows(float* re, float* im, size_t cols, size_t inputRows) const;
  // Along the row index, over columns [0, cols): DIT (conjugate twiddles), only `outputRows` rows written
  // by the last stage.
  void ditRows(float* re, float* im, size_t cols, size_t outputRows) const;
  void transpose(float* a) const;

  size_t m_, stride_;
  std::vector<float> cosTable_, sinTable_;  // [M/2]: exp(-2 pi i t / M) = cos - i sin
};

}  // namespace rl::tsne
