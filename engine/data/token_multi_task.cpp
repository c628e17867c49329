#include "data/token_multi_task.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <stdexcept>

#include "data/token_common.h"

namespace rl {

const std::vector<std::string>& taskRuleNames() {
  static const std::vector<std::string> n{"copy", "reverse", "sort", "count", "increment"};
  return n;
}

std::vector<int32_t> applyTaskRule(TaskRule rule, const std::vector<int32_t>& x, int symbols) {
  std::vector<int32_t> y = x;
  switch (rule) {
    case TaskRule::Copy:
      break;
    case TaskRule::Reverse:
      std::reverse(y.begin(), y.end());
      break;
    case TaskRule::Sort:
      std::sort(y.begin(), y.end());
      break;
    case TaskRule::Count: {
      std::map<int32_t, int32_t> occurrences;
      for (int32_t v : x) ++occurrences[v];
      for (auto& v : y) v = occurrences[v];
      break;
    }
    case TaskRule::Increment:
      for (auto& v : y) v = (v + 1) % symbols;
      break;
  }
  return y;
}

MultiTaskLayout multiTaskLayout(int vocabulary, int length, int tasks) {
  MultiTaskLayout m;
  m.tasks = tasks;
  m.symbols = vocabulary - 2 - tasks;
  m.inputLength = (length - 2) / 2;
  // About three occurrences per symbol, so count and sort see repeats.
  m.palette = std::max(1, std::min(m.symbols, std::max(2, (m.inputLength + 2) / 3)));
  return m;
}

TokenDataset makeMultiTaskStream(const TokenDataOptions& o, SeededRandom& rng) {
  const MultiTaskLayout lay = multiTaskLayout(o.vocabulary, o.length, o.groups);
  const int T = o.length, L = lay.inputLength, S = lay.symbols;
  const bool showAnswer = o.objective == SequenceTask::NextToken;

  TokenDataset d;
  d.kind = TokenStreamKind::MultiTask;
  d.objective = o.objective;
  d.vocabulary = o.vocabulary;
  d.classes = S;
  allocateTokenArrays(d, static_cast<size_t>(o.sequences), T);
  d.taskNames.assign(taskRuleNames().begin(), taskRuleNames().begin() + o.groups);
  d.roleNames = {"task", "input", "separator", "answer", "<pad>"};
  d.tokenNames.assign(o.vocabulary, "");
  d.tokenNames[MultiTaskLayout::kPad] = "<pad>";
  d.tokenNames[MultiTaskLayout::kSep] = "<sep>";
  for (int k = 0; k < o.groups; ++k) d.tokenNames[lay.taskToken(k)] = "#" + d.taskNames[k];
  for (int s = 0; s < S; ++s) {
    d.classNames.push_back("s" + std::to_string(s));
    d.tokenNames[lay.symbolToken(s)] = d.classNames.back();
  }

  // The palette pool is partially shuffled in place for each draw: P distinct symbols in O(P).
  std::vector<int32_t> pool(S);
  std::iota(pool.begin(), pool.end(), 0);
  std::vector<int32_t> x(L);
  DistinctSequences seen;
  for (int b = 0; b < o.sequences; ++b) {
    const int task = b % o.groups;
    int32_t* ids = d.ids.data() + static_cast<size_t>(b) * T;
    ids[0] = lay.taskToken(task);
    bool fresh = false;
    for (int attempt = 0; attempt < kMaxRedraws && !fresh; ++attempt) {
      for (int p = 0; p < lay.palette; ++p) std::swap(pool[p], pool[p + rng.below(S - p)]);
      for (int i = 0; i < L; ++i) {
        x[i] = pool[rng.below(lay.palette)];
        ids[1 + i] = lay.symbolToken(x[i]);
      }
      fresh = seen.insert(ids, 1 + L);  // the prompt: task token and input
    }
    if (!fresh)
      throw std::invalid_argument("data: only " + std::to_string(b) + " distinct multi_task prompts could be drawn of the " +
                                  std::to_string(o.sequences) + " asked for (vocabulary " + std::to_string(o.vocabulary) +
                                  ", sequence_length " + std::to_string(T) +
                                  "): use fewer samples, a longer sequence or a larger vocabulary");

    std::vector<int32_t> y = applyTaskRule(static_cast<TaskRule>(task), x, S);
    // Noise replaces a target by a different symbol, so the corruption rate is exactly `noise`.
    auto corrupt = [&](int32_t v) { return o.noise > 0 && rng.uniform() < o.noise ? (v + 1 + static_cast<int32_t>(rng.below(S - 1))) % S : v; };
    int32_t cls = y[0];
    if (showAnswer)
      for (auto& v : y) v = corrupt(v);
    else
      cls = corrupt(cls);
    d.sequenceClass[b] = showAnswer ? y[0] : cls;
    d.group[b] = task;

    ids[1 + L] = MultiTaskLayout::kSep;
    for (int i = 0; i < L; ++i) ids[2 + L + i] = showAnswer ? lay.symbolToken(y[i]) : MultiTaskLayout::kPad;
    for (int t = 2 + 2 * L; t < T; ++t) ids[t] = MultiTaskLayout::kPad;

    const size_t row = static_cast<size_t>(b) * T;
    for (int t = 0; t < T; ++t) {
      d.taskLabel[row + t] = task;
      d.position[row + t] = t;
      MultiTaskRole r = t == 0 ? MultiTaskRole::Task
                        : t <= L ? MultiTaskRole::Input
                        : t == L + 1 ? MultiTaskRole::Separator
                        : (t <= 2 * L + 1 && showAnswer) ? MultiTaskRole::Answer
                                                          : MultiTaskRole::Pad;
      d.role[row + t] = static_cast<int32_t>(r);
      // Scored: <sep> and every answer token but the last predict the answer token after them.
      if (showAnswer && t >= L + 1 && t <= 2 * L) d.nextToken[row + t] = ids[t + 1];
    }
  }
  return d;
}

}  // namespace rl
