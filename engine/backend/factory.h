#pragma once
// Backend choice: auto picks Vulkan on a real GPU and the CPU backend when the only Vulkan
// device is a CPU implementation (lavapipe) or there is no Vulkan at all, and says why.
#include <memory>
#include <string>

#include "backend/backend.h"

namespace rl {

enum class BackendChoice { Auto, Vulkan, Cpu };

struct BackendSelection {
  std::unique_ptr<Backend> backend;
  std::string reason;  // one line, e.g. "auto: only Vulkan device is a CPU implementation (llvmpipe) -> cpu"
};

// deviceHint: empty, an index ("0") or a case-insensitive name substring; defaults to the
// ROUTELAB_DEVICE environment variable. Throws std::runtime_error with a clear message when
// Vulkan is demanded but unavailable.
BackendSelection createBackend(BackendChoice choice, const std::string& deviceHint = {});
BackendChoice parseBackendChoice(const std::string& text);  // throws on anything but auto|vulkan|cpu

}  // namespace rl
