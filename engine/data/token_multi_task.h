#pragma once
// The multi-task token stream: a task token selects one rule over a short random sequence.
//
//   position: 0      1 .. L        L+1    L+2 .. 2L+1    2L+2 .. T-1
//   token:    task   x_1 .. x_L    <sep>  y_1 .. y_L     <pad>
//
// L = (T - 2) / 2 (rounded down). With the classification objective the answer y is not shown
// (its positions hold <pad>) and the target is y_1, the first symbol of the answer. With the
// next-token objective the answer is shown and the positions <sep> .. y_{L-1} are scored on the
// token that follows them. docs/token-data.md gives every rule with worked examples.
#include <cstdint>
#include <string>
#include <vector>

#include "data/seeded_random.h"
#include "data/token_dataset.h"

namespace rl {

enum class TaskRule { Copy, Reverse, Sort, Count, Increment };
constexpr int kTaskRuleCount = 5;

// copy, reverse, sort, count, increment (the order of TaskRule; `tasks` takes the first N).
const std::vector<std::string>& taskRuleNames();

// The answer for input symbols x (each in [0, symbols)); always x.size() symbols:
//   copy       y_i = x_i
//   reverse    y_i = x_{L+1-i}   (1-based, as in the layout above)
//   sort       y = x in ascending order
//   count      y_i = how many times x_i occurs in x (1 .. L)
//   increment  y_i = (x_i + 1) mod symbols
std::vector<int32_t> applyTaskRule(TaskRule rule, const std::vector<int32_t>& x, int symbols);

// Where the ids are: 0 <pad>, 1 <sep>, 2 .. 2+tasks-1 the task tokens, then the symbols.
struct MultiTaskLayout {
  static constexpr int kPad = 0, kSep = 1;
  int tasks = 0;
  int symbols = 0;      // S = V - 2 - tasks; also the number of classes
  int inputLength = 0;  // L
  int palette = 0;      // distinct symbols one sequence draws its input from
  int taskToken(int task) const { return 2 + task; }
  int symbolToken(int symbol) const { return 2 + tasks + symbol; }
  int symbolOf(int id) const { return id - 2 - tasks; }  // negative for <pad>, <sep> and task tokens
};
MultiTaskLayout multiTaskLayout(int vocabulary, int length, int tasks);

// Roles (TokenDataset::role) of this kind.
enum class MultiTaskRole { Task, Input, Separator, Answer, Pad };

// All sequences before the split; sequence i has task i mod tasks.
TokenDataset makeMultiTaskStream(const TokenDataOptions& options, SeededRandom& rng);

}  // namespace rl
