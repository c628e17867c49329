#pragma once
// The editable fields of the spec editor. A field's value is also the undo-command id, so edits
// of one field merge and edits of different fields never do.
namespace rl::ui {

enum class SpecField {
  DataKind = 1, CsvFile, LabelColumn, CsvRegression, Noise, Samples, DataSeed,
  Experts, ExpertWidths, Activation, Head, Loss,
  Router, K, CapacityFactor, Jitter, Temperature, AuxLossCoef, ZLossCoef,
  Optimizer, LearningRate, Momentum, BatchSize, Seed,
  // Transformer models and their token streams.
  Vocabulary, SequenceLength, DModel, Heads, Causal, SequenceTaskKind, TransformerLayers, ExpertWidth,
  TokenRouter, SlotsPerExpert, TokenGroups,
};

// How an edit applies. Preview only validates (typing in a text field). Commit applies when valid
// and merges with the previous edit of the same field made less than a pause ago (spin-box arrows,
// wheel). Drag merges with the running slider drag however slow it is. Standalone applies as a
// command of its own (a choice from a list, a checkbox, finished text).
enum class EditPhase { Preview, Commit, Drag, Standalone };

}  // namespace rl::ui
