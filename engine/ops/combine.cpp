#include "ops/combine.h"

#include <Eigen/Core>
#include <stdexcept>

namespace rl {

namespace {
using Rows = Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

void validate(const CombineParams& p, const char* op) {
  if (p.k == 0 || p.D == 0)
    throw std::invalid_argument(std::string(op) + ": need k >= 1 and D >= 1 (k " + std::to_string(p.k) + ", D " +
                                std::to_string(p.D) + ")");
}
}  // namespace

CombineForward::CombineForward(const Program& program, TensorId oe, TensorId slot, TensorId wt, TensorId y,
                               CombineParams params)
    : oe_(oe), slot_(slot), wt_(wt), y_(y), p_(params) {
  validate(p_, "combine_forward");
  bindings_ = {bind(program, oe), bind(program, slot), bind(program, wt), bind(program, y)};
  name_ = "combine_forward(" + program.info(y).name + ")";
}

void CombineForward::runCpu(const ArenaView& a) const {
  Rows oe(a.f(oe_), p_.S, p_.D), y(a.f(y_), p_.N, p_.D);
  const int32_t* slot = a.i(slot_);
  const float* wt = a.f(wt_);
  for (uint32_t n = 0; n < p_.N; ++n) {
    y.row(n).setZero();
    for (uint32_t j = 0; j < p_.k; ++j) {
      const size_t c = size_t(n) * p_.k + j;
      if (slot[c] >= 0) y.row(n) += wt[c] * oe.row(slot[c]);
    }
  }
}

CombineBackwardExperts::CombineBackwardExperts(const Program& program, TensorId dy, TensorId slotAssign,
                                               TensorId wt, TensorId doe, CombineParams params)
    : dy_(dy), slotAssign_(slotAssign), wt_(wt), doe_(doe), p_(params) {
  validate(p_, "combine_backward_experts");
  bindings_ = {bind(program, dy), bind(program, slotAssign), bind(program, wt), bind(program, doe)};
  name_ = "combine_backward_experts(" + program.info(doe).name + ")";
}

void CombineBackwardExperts::runCpu(const ArenaView& a) const {
  Rows dy(a.f(dy_), p_.N, p_.D), doe(a.f(doe_), p_.S, p_.D);
  const int32_t* assign = a.i(slotAssign_);
  const float* wt = a.f(wt_);
  for (uint32_t s = 0; s < p_.S; ++s) {
    if (assign[s] < 0)
      doe.row(s).setZero();
    else
      doe.row(s) = wt[assign[s]] * dy.row(uint32_t(assign[s]) / p_.k);
  }
}

CombineBackwardWeights::CombineBackwardWeights(const Program& program, TensorId dy, TensorId oe, TensorId slot,
                                               TensorId dwt, CombineParams params)
    : dy_(dy), oe_(oe), slot_(slot), dwt_(dwt), p_(params) {
  validate(p_, "combine_backward_weights");
  bindings_ = {bind(program, dy), bind(program, oe), bind(program, slot), bind(program, dwt)};
  name_ = "combine_backward_weights(" + program.info(dwt).name + ")";
}

void CombineBackwardWeights::runCpu(const ArenaView& a) const {
  Rows dy(a.f(dy_), p_.N, p_.D), oe(a.f(oe_), p_.S, p_.D);
  const int32_t* slot = a.i(slot_);
  float* dwt = a.f(dwt_);
  for (uint32_t n = 0; n < p_.N; ++n)
    for (uint32_t j = 0; j < p_.k; ++j) {
      const size_t c = size_t(n) * p_.k + j;
      dwt[c] = slot[c] < 0 ? 0.0f : dy.row(n).dot(oe.row(slot[c]));
    }
}

}  // namespace rl
