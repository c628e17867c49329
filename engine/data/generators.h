#pragma once
// The dataset kinds, each producing all rows before the train/test split (see dataset.h).
// Rows cycle through the classes (row i has class i mod C), so classes are balanced exactly.
#include "data/dataset.h"
#include "data/seeded_random.h"

namespace rl {

// circle, xor, gaussians, spiral, spiral4: 2-D inputs, classification.
Dataset makeToy2d(const std::string& kind, int samples, double noise, SeededRandom& rng);
// 2-D inputs in [-1,1]^2, one output; a different function per quadrant (label = region id).
Dataset makeRegressionLocal(int samples, double noise, SeededRandom& rng);
// Four vowel-like formant clusters (F1, F2), standardised with fixed constants.
Dataset makeVowels(int samples, double noise, SeededRandom& rng);
// Numeric feature columns plus the label column. Every row of the file; samples/noise unused.
Dataset loadCsvDataset(const std::string& path, const std::string& labelColumn, bool regression);

// Fills target (one-hot of label), outputDim, classes and regression = false.
void setOneHotTargets(Dataset& d, int classes);

}  // namespace rl
