#include "ops/matmul.h"

#include <Eigen/Core>
#include <algorithm>
#include <stdexcept>

namespace rl {
namespace {

// ImageTiled: invocations per workgroup. Lavapipe runs a workgroup on one thread, 8 lanes (256-bit)
// at a time; measured at 512^3 with 1/4/8/16/32/64: 5/19/36/69/51/33 GFLOP/s.
constexpr uint32_t kImageLocal = 16;
constexpr uint32_t kSharedLocal = 256;  // 16x16 threads, 4x4 outputs each = one 64x64 block

void expectWords(const Program& p, TensorId t, uint64_t words, const char* role, const std::string& op) {
  if (p.info(t).count != words)
    throw std::invalid_argument(op + ": " + role + " '" + p.info(t).name + "' has " +
                                std::to_string(p.info(t).count) + " elements, expected " + std::to_string(words));
}

MatmulVariant resolve(MatmulVariant requested, const Matmul::Params& p) {
  if (requested == MatmulVariant::ImageTiled && Matmul::imageTiledFits(p)) return MatmulVariant::ImageTiled;
  return MatmulVariant::SharedTiled;
}

}  // namespace

Matmul::Matmul(const Program& program, TensorId at, TensorId b, TensorId c, Params params, MatmulVariant variant)
    : Matmul(bind(program, at), bind(program, b), bind(program, c), params, resolve(variant, params),
             program.info(c).name) {
  const std::string who = "matmul(" + label_ + ")";
  expectWords(program, at, uint64_t(params.K) * params.M, "At[K,M]", who);
  expectWords(program, b, uint64_t(params.K) * params.N, "B[K,N]", who);
  expectWords(program, c, uint64_t(params.M) * params.N, "C[M,N]", who);
  if (variant == MatmulVariant::Auto) {
    imageTiled_.reset(new Matmul(at_, b_, c_, params_, resolve(MatmulVariant::ImageTiled, params_), label_));
    sharedTiled_.reset(new Matmul(at_, b_, c_, params_, MatmulVariant::SharedTiled, label_));
  }
}

Matmul::Matmul(Binding at, Binding b, Binding c, Params params, MatmulVariant resolved, std::string label)
    : at_(at), b_(b), c_(c), params_(params), variant_(resolved), label_(std::move(label)) {}

std::string Matmul::name() const {
  return std::string(variant_ == MatmulVariant::ImageTiled ? "matmul_image(" : "matmul_shared(") + label_ + ")";
}

std::string Matmul::shader() const {
  return variant_ == MatmulVariant::ImageTiled ? "matmul_image" : "matmul_shared";
}

std::vector<uint32_t> Matmul::specConstants() const {
  // ImageTiled compiles its loops for the exact shape; SharedTiled reads sizes from push constants.
  if (variant_ == MatmulVariant::ImageTiled) return {params_.M, params_.N, params_.K};
  return {};
}

uint32_t Matmul::localSize() const { return variant_ == MatmulVariant::ImageTiled ? kImageLocal : kSharedLocal; }

Grid Matmul::grid() const {
  if (variant_ == MatmulVariant::ImageTiled) {
    uint64_t tiles = uint64_t(params_.M / kImageTile) * (params_.N / kImageTile);
    return {ceilDiv(tiles, kImageLocal), 1, 1};
  }
  return {std::max<uint32_t>(1, ceilDiv(params_.N, kSharedBlock)), std::max<uint32_t>(1, ceilDiv(params_.M, kSharedBlock)),
          1};
}

std::vector<bool> Matmul::texelBindings() const {
  if (variant_ == MatmulVariant::ImageTiled) return {true, true, false};
  return {};
}

const Op& Matmul::forDevice(DeviceClass device) const {
  if (!imageTiled_) return *this;
  return device == DeviceClass::CpuImplementation ? *imageTiled_ : *sharedTiled_;
}

void Matmul::runCpu(const ArenaView& arena) const {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto& p = params_;
  Eigen::Map<const RowMajor> at(reinterpret_cast<const float*>(arena.word(at_.offset)), p.K, p.M);
  Eigen::Map<const RowMajor> b(reinterpret_cast<const float*>(arena.word(b_.offset)), p.K, p.N);
  Eigen::Map<RowMajor> c(reinterpret_cast<float*>(arena.word(c_.offset)), p.M, p.N);
  if (p.accumulate)
    c.noalias() += at.transpose() * b;
  else
    c.noalias() = at.transpose() * b;
}

}  // namespace rl
