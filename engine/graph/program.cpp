#include "graph/program.h"

#include <stdexcept>

#include "ops/op.h"

namespace rl {

Program::Program() = default;
Program::~Program() = default;
Program::Program(Program&&) noexcept = default;
Program& Program::operator=(Program&&) noexcept = default;

uint64_t elementCount(const std::vector<uint32_t>& shape) {
  uint64_t n = 1;
  for (uint32_t d : shape) n *= d;
  return n;
}

TensorId Program::add(const std::string& name, std::vector<uint32_t> shape, Role role, DType dtype) {
  if (byName.count(name)) throw std::logic_error("program: tensor '" + name + "' defined twice");
  TensorInfo t;
  t.name = name;
  t.count = elementCount(shape);
  t.shape = std::move(shape);
  t.role = role;
  t.dtype = dtype;
  t.offset = (arenaWords + kAlignWords - 1) / kAlignWords * kAlignWords;
  arenaWords = t.offset + t.count;
  auto id = static_cast<TensorId>(tensors.size());
  tensors.push_back(std::move(t));
  byName[name] = id;
  return id;
}

TensorId Program::id(const std::string& name) const {
  auto it = byName.find(name);
  if (it == byName.end()) throw std::out_of_range("program: no tensor named '" + name + "'");
  return it->second;
}

void Program::append(const std::string& phase, std::unique_ptr<Op> op) {
  phases[phase].push_back(std::move(op));
}

}  // namespace rl
