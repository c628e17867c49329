#include "io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"

namespace rl {

namespace {

using nlohmann::json;

static_assert(std::numeric_limits<float>::is_iec559, "safetensors F32 is IEEE 754 binary32");

void putU64LE(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t getU64LE(const std::string& bytes) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

// Bytes of floats in little-endian order, whatever the host order is.
void appendFloatsLE(std::string& out, const std::vector<float>& v) {
  const size_t at = out.size();
  out.resize(at + v.size() * 4);
  std::memcpy(out.data() + at, v.data(), v.size() * 4);
  if constexpr (std::endian::native == std::endian::big)
    for (size_t i = at; i < out.size(); i += 4) std::reverse(out.begin() + i, out.begin() + i + 4);
}

std::vector<float> floatsFromLE(const char* p, size_t count) {
  std::vector<float> v(count);
  std::memcpy(v.data(), p, count * 4);
  if constexpr (std::endian::native == std::endian::big)
    for (float& f : v) {
      auto* b = reinterpret_cast<unsigned char*>(&f);
      std::reverse(b, b + 4);
    }
  return v;
}

// Product of the dimensions, or false when a dimension is negative or the product overflows
// the element count that fits in a byte size.
bool elementCount(const std::vector<int64_t>& shape, uint64_t& count) {
  count = 1;
  for (int64_t d : shape) {
    if (d < 0) return false;
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / 4 / static_cast<uint64_t>(d)) return false;
    count *= static_cast<uint64_t>(d);
  }
  return true;
}

std::string shapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

bool isUnsignedInt(const json& j) { return j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0); }

}  // namespace

std::string encodeSafetensors(const std::vector<NamedTensor>& tensors,
                              const std::map<std::string, std::string>& metadata, const std::string& sourceName) {
  std::vector<const NamedTensor*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });

  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const NamedTensor& t = *sorted[i];
    const std::string at = sourceName + ": tensor '" + t.name + "': ";
    if (t.name.empty() || t.name == "__metadata__") throw FileError(at + "not a usable tensor name");
    if (i > 0 && sorted[i - 1]->name == t.name) throw FileError(at + "appears twice");
    uint64_t count = 0;
    if (!elementCount(t.shape, count)) throw FileError(at + "bad shape " + shapeText(t.shape));
    if (count != t.data.size())
      throw FileError(at + "shape " + shapeText(t.shape) + " holds " + std::to_string(count) + " values, data has " +
                      std::to_string(t.data.size()));
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + count * 4}}};
    offset += count * 4;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + text.size() + offset);
  putU64LE(out, text.size());
  out += text;
  for (const NamedTensor* t : sorted) appendFloatsLE(out, t->data);
  return out;
}

void writeSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata, path));
}

SafetensorsFile decodeSafetensors(const std::string& bytes, const std::string& sourceName) {
  auto fail = [&](const std::string& reason) { return FileError(sourceName + ": " + reason); };
  if (bytes.size() < 8)
    throw fail("file is " + std::to_string(bytes.size()) + " bytes, too short for a safetensors header");
  const uint64_t headerLen = getU64LE(bytes);
  if (headerLen > kMaxSafetensorsHeader)
    throw fail("header length " + std::to_string(headerLen) + " exceeds the 100 MB limit");
  if (headerLen > bytes.size() - 8)
    throw fail("header length " + std::to_string(headerLen) + " exceeds the file size (" +
               std::to_string(bytes.size()) + " bytes)");

  json header;
  try {
    header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(headerLen));
  } catch (const json::parse_error& e) {
    throw fail("header is not valid JSON (at header byte " + std::to_string(e.byte) + ")");
  }
  if (!header.is_object()) throw fail("header is not a JSON object");

  const uint64_t dataSize = bytes.size() - 8 - headerLen;
  const char* data = bytes.data() + 8 + headerLen;
  SafetensorsFile file;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) throw fail("__metadata__ value of '" + key + "' is not a string");
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& reason) { return fail("tensor '" + name + "': " + reason); };
    if (!entry.is_object()) throw bad("entry is not an object");
    for (const auto& [key, value] : entry.items())
      if (key != "dtype" && key != "shape" && key != "data_offsets") throw bad("unknown field '" + key + "'");
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) throw bad("missing dtype");
    const std::string dtype = entry["dtype"].get<std::string>();
    if (dtype != "F32") throw bad("dtype " + dtype + " is not supported (only F32)");

    if (!entry.contains("shape") || !entry["shape"].is_array()) throw bad("missing shape");
    NamedTensor t;
    t.name = name;
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_integer()) throw bad("shape holds a non-integer " + d.dump());
      if (!isUnsignedInt(d) || d.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
        throw bad("shape has a negative or huge dimension " + d.dump());
      t.shape.push_back(d.get<int64_t>());
    }
    uint64_t count = 0;
    if (!elementCount(t.shape, count)) throw bad("shape " + shapeText(t.shape) + " is too large");

    const json& off = entry.contains("data_offsets") ? entry["data_offsets"] : json();
    if (!off.is_array() || off.size() != 2 || !isUnsignedInt(off[0]) || !isUnsignedInt(off[1]))
      throw bad("data_offsets must be two non-negative integers");
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end) throw bad("data_offsets begin " + std::to_string(begin) + " > end " + std::to_string(end));
    if (end > dataSize)
      throw bad("data_offsets end " + std::to_string(end) + " is beyond the data (" + std::to_string(dataSize) +
                " bytes)");
    if (end - begin != count * 4)
      throw bad("data_offsets span " + std::to_string(end - begin) + " bytes, shape " + shapeText(t.shape) +
                " needs " + std::to_string(count * 4));
    t.data = floatsFromLE(data + begin, count);
    spans.push_back({begin, end, name});
    file.tensors.push_back(std::move(t));
  }

  // The byte buffer must be covered exactly: no overlapping tensors, no holes, nothing after.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  for (const Span& s : spans) {
    if (s.begin < covered) throw fail("tensor '" + s.name + "': data overlaps the previous tensor");
    if (s.begin > covered)
      throw fail("tensor '" + s.name + "': " + std::to_string(s.begin - covered) + " unused bytes before its data");
    covered = s.end;
  }
  if (covered != dataSize)
    throw fail(std::to_string(dataSize - covered) + " bytes after the last tensor belong to no tensor");
  std::sort(file.tensors.begin(), file.tensors.end(),
            [](const NamedTensor& a, const NamedTensor& b) { return a.name < b.name; });
  return file;
}

SafetensorsFile readSafetensors(const std::string& path) { return decodeSafetensors(readFileBytes(path), path); }

}  // namespace rl
