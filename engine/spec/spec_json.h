#pragma once
// The JSON form of a Spec ("format": "routelab/1") and its validation. docs/spec.md documents
// every field, default and rule.
#include <stdexcept>
#include <string>
#include <vector>

#include "spec/spec.h"
#include "spec/spec_names.h"

namespace rl {

constexpr const char* kSpecFormat = "routelab/1";

// A spec that cannot be read. The message names the source and either the line:column of a JSON
// syntax error ("spec.json:3:14: invalid JSON: ...") or the JSON path of the offending value
// ("spec.json: model.layers[0].routr: unknown key ...").
class SpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads the JSON text. Missing keys keep the defaults of spec.h; unknown keys, wrong types,
// unknown enum spellings and a format other than "routelab/1" are SpecErrors. Does not validate
// ranges: call validateSpec for that.
Spec parseSpec(const std::string& jsonText, const std::string& sourceName);
// parseSpec on a file's contents. A relative data.csv_path is resolved against the file's directory.
Spec loadSpecFile(const std::string& path);

// Pretty JSON (2-space indent) in a fixed key order; parseSpec(specToJson(s)) == s field by field.
// Layers carry only their type's fields (dense: units, activation; moe: experts, expert_widths,
// activation, router); csv_path, label_column and regression appear for kind csv or when set.
std::string specToJson(const Spec& spec);

// Every problem, each as "<json path>: <reason>" (e.g. "model.layers[1].router.k: 3 exceeds
// experts (2)"). Empty when the spec is usable.
std::vector<std::string> validateSpec(const Spec& spec);

}  // namespace rl
