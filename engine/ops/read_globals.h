#pragma once
// CPU-side read of the globals tensor (ops/globals.h) from an arena.
#include <cstring>

#include "ops/globals.h"
#include "ops/op.h"

namespace rl {

inline Globals readGlobals(const ArenaView& arena, TensorId globals) {
  Globals g;
  std::memcpy(static_cast<void*>(&g), arena.word(arena.info(globals).offset), sizeof g);
  return g;
}

}  // namespace rl
