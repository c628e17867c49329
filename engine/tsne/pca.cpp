#include "tsne/pca.h"

#include <Eigen/Dense>
#include <cmath>
#include <stdexcept>
#include <string>

namespace rl::tsne {

namespace {
using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
}

PcaResult pca(const MatrixView& x, size_t components) {
  const size_t n = x.rows, d = x.cols;
  if (n < 2) throw std::invalid_argument("pca: needs at least 2 points, got " + std::to_string(n));
  if (components == 0 || components > d)
    throw std::invalid_argument("pca: " + std::to_string(components) + " components requested from " +
                                std::to_string(d) + "-dimensional data");
  Eigen::Map<const RowMatF> X(x.data, Eigen::Index(n), Eigen::Index(d));
  // Covariance in double: [D, D] from centred data (the float product would lose small variances).
  const Eigen::RowVectorXd mean = X.cast<double>().colwise().mean();
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(Eigen::Index(d), Eigen::Index(d));
  const Eigen::Index block = 1024;
  for (Eigen::Index r = 0; r < Eigen::Index(n); r += block) {
    const Eigen::Index rows = std::min<Eigen::Index>(block, Eigen::Index(n) - r);
    Eigen::MatrixXd c = X.middleRows(r, rows).cast<double>().rowwise() - mean;
    cov.selfadjointView<Eigen::Lower>().rankUpdate(c.transpose());
  }
  cov = cov.selfadjointView<Eigen::Lower>();
  cov /= double(n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);  // ascending eigenvalues
  if (eig.info() != Eigen::Success) throw std::runtime_error("pca: eigen decomposition failed");

  PcaResult out;
  out.components.resize(components * d);
  out.variances.resize(components);
  Eigen::MatrixXd W(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(components));  // [D, C]
  for (size_t c = 0; c < components; ++c) {
    const Eigen::Index src = Eigen::Index(d - 1 - c);
    Eigen::VectorXd v = eig.eigenvectors().col(src);
    Eigen::Index at;
    v.cwiseAbs().maxCoeff(&at);
    if (v(at) < 0) v = -v;
    W.col(Eigen::Index(c)) = v;
    out.variances[c] = std::max(0.0, eig.eigenvalues()(src));
    for (size_t k = 0; k < d; ++k) out.components[c * d + k] = float(v(Eigen::Index(k)));
  }
  out.projection.resize(n * components);
  Eigen::Map<RowMatF> P(out.projection.data(), Eigen::Index(n), Eigen::Index(components));
  for (Eigen::Index r = 0; r < Eigen::Index(n); r += block) {
    const Eigen::Index rows = std::min<Eigen::Index>(block, Eigen::Index(n) - r);
    P.middleRows(r, rows) = ((X.middleRows(r, rows).cast<double>().rowwise() - mean) * W).cast<float>();
  }
  return out;
}

std::vector<float> pcaInitialisation(const MatrixView& x) {
  PcaResult p = pca(x, 2);
  const size_t n = x.rows;
  double sum = 0, sq = 0;
  for (size_t i = 0; i < n; ++i) sum += p.projection[2 * i];
  const double mean = sum / double(n);
  for (size_t i = 0; i < n; ++i) sq += (p.projection[2 * i] - mean) * (p.projection[2 * i] - mean);
  const double sd = std::sqrt(sq / double(n));
  // All points equal: no direction to spread along; a tiny deterministic spiral keeps them apart.
  if (!(sd > 0)) {
    for (size_t i = 0; i < n; ++i) {
      p.projection[2 * i] = float(1e-4 * std::cos(double(i)) * double(i + 1) / double(n));
      p.projection[2 * i + 1] = float(1e-4 * std::sin(double(i)) * double(i + 1) / double(n));
    }
    return p.projection;
  }
  const double scale = 1e-4 / sd;
  for (auto& v : p.projection) v = float(v * scale);
  return p.projection;
}

}  // namespace rl::tsne
