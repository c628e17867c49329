// vowels: four vowel-like classes in the spirit of Jacobs, Jordan, Nowlan & Hinton (1991), who
// trained mixtures of experts on Peterson & Barney's formant data. Each point is a pair of
// first/second formant frequencies (F1, F2) around the classic adult male means
//   i (beet) 270/2290 Hz, a (father) 730/1090, u (boot) 300/870, e (bet) 530/1840,
// with a speaker factor s ~ N(1, (0.15 noise)^2) that scales both formants together (longer vocal
// tracts lower every formant: the clusters are elongated along rays from the origin) and
// independent per-formant factors N(1, (0.12 noise)^2). noise = 1 gives overlapping clusters
// (a nearest-neighbour classifier reaches about 98%).
// Features are standardised with fixed constants (the spread of the four means), not with
// sample statistics, so they do not depend on the sample: x0 = (F1 - 457.5) / 187,
// x1 = (F2 - 1522.5) / 566.
#include "data/generators.h"

namespace rl {

namespace {

struct Vowel {
  const char* name;
  double f1, f2;
};
constexpr Vowel kVowels[4] = {{"i", 270, 2290}, {"a", 730, 1090}, {"u", 300, 870}, {"e", 530, 1840}};
constexpr double kF1Centre = 457.5, kF1Scale = 187, kF2Centre = 1522.5, kF2Scale = 566;

}  // namespace

Dataset makeVowels(int samples, double noise, SeededRandom& rng) {
  Dataset d;
  d.inputDim = 2;
  for (const Vowel& v : kVowels) d.classNames.push_back(v.name);
  for (int i = 0; i < samples; ++i) {
    const int cls = i % 4;
    const double speaker = 1 + 0.15 * noise * rng.normal();
    const double f1 = kVowels[cls].f1 * speaker * (1 + 0.12 * noise * rng.normal());
    const double f2 = kVowels[cls].f2 * speaker * (1 + 0.12 * noise * rng.normal());
    d.x.push_back(static_cast<float>((f1 - kF1Centre) / kF1Scale));
    d.x.push_back(static_cast<float>((f2 - kF2Centre) / kF2Scale));
    d.label.push_back(cls);
  }
  setOneHotTargets(d, 4);
  return d;
}

}  // namespace rl
