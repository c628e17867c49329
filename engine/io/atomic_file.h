#pragma once
// Whole-file reads and crash-safe writes.
#include <string>

namespace rl {

// Writes bytes to a temporary file in the target's directory, fsyncs it and renames it over path,
// so readers see either the old file or the complete new one. On any failure the old file is left
// untouched, the temporary file is removed, and FileError says which path failed and why.
void writeFileAtomic(const std::string& path, const std::string& bytes);

// The whole file; FileError ("path: reason") when it cannot be read.
std::string readFileBytes(const std::string& path);

}  // namespace rl
