#include "backend/vulkan/vulkan_backend.h"

#include <chrono>
#include <stdexcept>

namespace rl {

VulkanBackend::VulkanBackend(const std::string& deviceHint) : VulkanBackend(VulkanContext::create(deviceHint)) {}

VulkanBackend::VulkanBackend(std::shared_ptr<VulkanContext> ctx, Options options)
    : ctx_(std::move(ctx)), options_(options) {
  pipelines_ = std::make_unique<PipelineCache>(ctx_);  // kept across loads: pipelines do not depend on the arena
}

VulkanBackend::~VulkanBackend() { unload(); }

std::string VulkanBackend::device() const { return ctx_->info().name + " (" + ctx_->info().type + ")"; }

DeviceClass VulkanBackend::deviceClass() const {
  return ctx_->info().isCpu ? DeviceClass::CpuImplementation : DeviceClass::Gpu;
}

void VulkanBackend::unload() {
  if (ctx_) vkDeviceWaitIdle(ctx_->device());
  phases_.clear();
  dispatcher_.reset();
  arena_.reset();
}

void VulkanBackend::load(const Program& program) {
  unload();
  program_ = &program;
  arena_ = std::make_unique<VulkanArena>(ctx_, program.arenaWords, options_.stagedArena);
  dispatcher_ = std::make_unique<Dispatcher>(ctx_, *arena_, *pipelines_);
  try {
    for (const auto& [name, ops] : program.phases) {
      std::vector<const Op*> list;
      for (const auto& op : ops) list.push_back(op.get());
      phases_[name] = std::make_unique<RecordedPhase>(ctx_, *dispatcher_, list, deviceClass());
      ++recordings_;
    }
  } catch (...) {
    unload();
    throw;
  }
}

void VulkanBackend::run(const std::string& phase) {
  auto it = phases_.find(phase);
  if (it == phases_.end()) throw std::runtime_error("vulkan backend: no phase '" + phase + "'");
  it->second->run();
}

std::vector<Backend::OpTiming> VulkanBackend::profile(const std::string& phase, int reps) {
  if (!program_) throw std::logic_error("vulkan backend: profile before load");
  std::vector<OpTiming> out;
  for (const auto& op : program_->phases.at(phase)) {
    RecordedPhase single(ctx_, *dispatcher_, {op.get()}, deviceClass());
    single.run();  // first run compiles and warms up
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) single.run();
    out.push_back({op->name(), std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps});
  }
  return out;
}

size_t VulkanBackend::dispatches(const std::string& phase) const {
  auto it = phases_.find(phase);
  return it == phases_.end() ? 0 : it->second->dispatches();
}

void VulkanBackend::write(uint64_t offset, const void* src, uint64_t words) {
  if (!arena_) throw std::logic_error("vulkan backend: write before load");
  arena_->write(offset, src, words);
}

void VulkanBackend::read(uint64_t offset, void* dst, uint64_t words) const {
  if (!arena_) throw std::logic_error("vulkan backend: read before load");
  arena_->read(offset, dst, words);
}

}  // namespace rl
