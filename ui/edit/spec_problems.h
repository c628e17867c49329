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

enum class SpecSectionId { Data, Model, Router, Training, Transformer, Other };

struct SpecProblem {
  SpecSectionId section = SpecSectionId::Other;
  int layer = -1;       // index into model.layers (model.transformer.layers), -1 when not a layer's
  std::string key;      // the field's JSON key without index: "k", "expert_widths", "kind"
  QString text;         // what the user reads: "k: 3 exceeds experts (2)"
};

// validateSpec plus the data-dependent checks, each "<json path>: <reason>". A valid Transformer
// spec is also built as a graph (no backend), so what the builder rejects (a router type it does
// not build yet, a head width the attention op cannot read) shows before the run is rebuilt.
std::vector<std::string> findSpecProblems(const Spec& spec);

// Sorts "<json path>: <reason>" messages into sections and rewrites the path as the field's
// label. Problems of a layer other than selectedLayer name their layer ("layer 2 experts: ...").
// selectedTransformerLayer plays the same part for model.transformer.layers.
std::vector<SpecProblem> locateProblems(const std::vector<std::string>& messages, int selectedLayer,
                                        int selectedTransformerLayer = 0);

}  // namespace rl::ui
