#pragma once
// The input-space map of a 2-D dataset: a resolution × resolution grid over the data's bounding
// box (plus a margin) run through the model in evaluation mode, recording per cell the expert
// each MoE layer's router ranks first and the predicted class.
#include "run/run_snapshot.h"
#include "train/session.h"

namespace rl::ui {

struct InputMapExtent {
  double xMin = 0, xMax = 0, yMin = 0, yMax = 0;
};

// The bounding box of the training and held-out inputs, widened by `margin` times its size on
// every side. Requires 2-D inputs.
InputMapExtent inputExtent(const DataSplit& data, double margin = 0.1);

// Cell (i, j) (i along x, j along y, row-major with y outer) covers
// [xMin + i·dx, xMin + (i+1)·dx] × [yMin + j·dy, yMin + (j+1)·dy] and is evaluated at its centre.
// Returns an empty map (resolution 0) when the inputs are not 2-D.
InputMap computeInputMap(Session& session, const InputMapExtent& extent, int resolution = 64);

}  // namespace rl::ui
