#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace rl {
// SPIR-V of shaders/<name>.comp, compiled at build time; empty if there is no such shader.
std::span<const uint32_t> embeddedShader(const std::string& name);
}
