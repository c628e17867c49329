#pragma once
// Token streams for the Transformer: seeded synthetic sequences in which every token carries
// labels (task, language, position, role, token id) for colouring, split into train and held-out
// sequences. docs/token-data.md documents each kind: its vocabulary layout, its rules and its
// targets. The batch sampler is in token_sampler.h.
//
// Dimension legend: B sequences, T tokens per sequence, V vocabulary size.
#include <cstdint>
#include <string>
#include <vector>

#include "spec/spec.h"

namespace rl {

enum class TokenStreamKind {
  MultiTask,      // a task token selects a rule (copy, reverse, sort, count, increment) over a sequence
  MultiLanguage,  // several "languages": disjoint sub-vocabularies and own transitions, one grammar
};

struct TokenDataOptions {
  TokenStreamKind kind = TokenStreamKind::MultiTask;
  SequenceTask objective = SequenceTask::Classification;
  int sequences = 4000;  // B before the split
  int vocabulary = 64;   // V
  int length = 32;       // T
  int groups = 5;        // multi_task: tasks (the first `groups` rules); multi_language: languages
  double noise = 0.0;    // multi_task: target corruption rate; multi_language: code-switching rate
  double testFraction = 0.2;
  uint64_t seed = 1;
};

struct TokenDataset {
  TokenStreamKind kind = TokenStreamKind::MultiTask;
  SequenceTask objective = SequenceTask::Classification;
  int vocabulary = 0;  // V: every id is in [0, V)
  int length = 0;      // T
  int classes = 0;     // sequenceClass values are in [0, classes)

  std::vector<int32_t> ids;            // [B, T]
  std::vector<int32_t> nextToken;      // [B, T] the id to predict at t (= ids[t+1]), -1 = not scored
  std::vector<int32_t> sequenceClass;  // [B] the sequence-level target
  std::vector<int32_t> group;          // [B] task (multi_task) or main language (multi_language)

  // Per-token labels for colouring, [B, T]; -1 where the kind has no such notion. The token id
  // label is `ids` itself.
  std::vector<int32_t> taskLabel;      // multi_task: the sequence's task on every token
  std::vector<int32_t> languageLabel;  // multi_language: the language the token belongs to
  std::vector<int32_t> position;       // t
  std::vector<int32_t> role;           // index into roleNames

  std::vector<std::string> taskNames;      // multi_task: [tasks]; else empty
  std::vector<std::string> languageNames;  // multi_language: [languages]; else empty
  std::vector<std::string> roleNames;
  std::vector<std::string> classNames;     // [classes]
  std::vector<std::string> tokenNames;     // [V]

  size_t size() const { return group.size(); }
};

struct TokenSplit {
  TokenDataset train, test;
};

// A size that does not fit, named by its spec key (samples, vocabulary, sequence_length, tasks,
// languages, noise, test_fraction) so the spec validation can give the JSON path.
struct TokenOptionProblem {
  std::string key;
  std::string reason;
};
std::vector<TokenOptionProblem> tokenOptionProblems(const TokenDataOptions& options);

// Same options (seed included) -> the same sequences in the same order on every machine. No
// sequence appears twice (multi_task: no prompt appears twice), so train and held-out never share
// one. Throws std::invalid_argument for options tokenOptionProblems rejects, or when the space of
// distinct sequences is too small for the number asked for.
TokenSplit makeTokenDataset(const TokenDataOptions& options);

// Stratified by group: round(count · testFraction) sequences of each group go to the held-out
// side (at least one on each side when there are two or more); both sides are shuffled.
TokenSplit splitTokenDataset(const TokenDataset& all, double testFraction, uint64_t seed);

// The rows of a dataset gathered for one step: what a model reads (ids) and is scored on.
struct TokenBatch {
  int rows = 0, length = 0;
  std::vector<int32_t> ids;            // [rows, T]
  std::vector<int32_t> nextToken;      // [rows, T]
  std::vector<int32_t> sequenceClass;  // [rows]
  std::vector<int32_t> group;          // [rows]: the id task-level routing reads
};
TokenBatch gatherTokenBatch(const TokenDataset& d, const std::vector<uint32_t>& rows);

}  // namespace rl
