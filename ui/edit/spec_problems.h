#pragma once
// What is wrong with a candidate spec, sorted by where the editor shows it. The engine's
// validateSpec gives every problem with its JSON path; the editor adds the checks that need the
// data (an expert output width that must match the data without an output head, an unreadable
// CSV file), which would otherwise only fail when the session is rebuilt.
#include <QString>
#include <string>
#include <vector>

#include "spec/spec.h"

namespace rl::ui {

enum class SpecSectionId { Data, Model, Router, Training, Other };

struct SpecProblem {
  SpecSectionId section = SpecSectionId::Other;
  int layer = -1;       // index into model.layers, -1 when the problem is not a layer's
  std::string key;      // the field's JSON key without index: "k", "expert_widths", "kind"
  QString text;         // what the user reads: "k: 3 exceeds experts (2)"
};

// validateSpec plus the data-dependent checks, each "<json path>: <reason>".
std::vector<std::string> findSpecProblems(const Spec& spec);

// Sorts "<json path>: <reason>" messages into sections and rewrites the path as the field's
// label. Problems of a layer other than selectedLayer name their layer ("layer 2 experts: ...").
std::vector<SpecProblem> locateProblems(const std::vector<std::string>& messages, int selectedLayer);

}  // namespace rl::ui
