#pragma once
// The Vulkan backend: a Program's arena in one device buffer, every phase recorded into one
// command buffer at load, run(phase) resubmits it.
#include <map>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/vulkan/arena.h"
#include "backend/vulkan/context.h"
#include "backend/vulkan/dispatcher.h"
#include "backend/vulkan/pipelines.h"
#include "backend/vulkan/recorder.h"

namespace rl {

struct VulkanBackendOptions {
  bool stagedArena = false;  // force the device-local + staging-copy arena (tests that path anywhere)
};

class VulkanBackend final : public Backend {
 public:
  using Options = VulkanBackendOptions;
  // Opens the device chosen by VulkanContext::create(deviceHint); throws std::runtime_error.
  explicit VulkanBackend(const std::string& deviceHint = {});
  VulkanBackend(std::shared_ptr<VulkanContext> ctx, Options options = {});
  ~VulkanBackend() override;

  std::string name() const override { return "vulkan"; }
  std::string device() const override;  // "<device name> (<type>)"
  void load(const Program& program) override;
  void run(const std::string& phase) override;
  std::vector<OpTiming> profile(const std::string& phase, int reps) override;
  void write(uint64_t offsetWords, const void* src, uint64_t words) override;
  void read(uint64_t offsetWords, void* dst, uint64_t words) const override;

  const VulkanContext& context() const { return *ctx_; }
  DeviceClass deviceClass() const;
  // Command buffers recorded since construction: one per phase per load(), never per run().
  uint64_t recordings() const { return recordings_; }
  size_t dispatches(const std::string& phase) const;  // dispatches recorded in a loaded phase
  bool arenaMapped() const { return arena_ && arena_->mapped(); }  // false: staging copies

 private:
  void unload();

  std::shared_ptr<VulkanContext> ctx_;
  Options options_;
  // Destroyed bottom-up: phases use the dispatcher's descriptor sets, which use pipelines and arena.
  std::unique_ptr<VulkanArena> arena_;
  std::unique_ptr<PipelineCache> pipelines_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::map<std::string, std::unique_ptr<RecordedPhase>> phases_;
  const Program* program_ = nullptr;
  uint64_t recordings_ = 0;
};

}  // namespace rl
