#include "data/token_dataset.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "data/seeded_random.h"
#include "data/token_multi_language.h"
#include "data/token_multi_task.h"

namespace rl {

namespace {

// Independent streams for the sequences and for the split (as for the vector datasets).
constexpr uint64_t kSplitStream = 0x9E3779B97F4A7C15ull;
// Keeps a generated stream (seven int32 arrays of B·T) near 100 MB at most.
constexpr long kMaxTokens = 4'000'000;
constexpr int kMaxVocabulary = 1024;
constexpr int kMaxLength = 1024;
constexpr int kMaxLanguages = 16;

std::string str(long v) { return std::to_string(v); }

void shuffle(std::vector<size_t>& v, SeededRandom& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// Rows of `width` values each, in the order given.
std::vector<int32_t> copyRows(const std::vector<int32_t>& from, const std::vector<size_t>& rows, size_t width) {
  std::vector<int32_t> to;
  to.reserve(rows.size() * width);
  for (size_t r : rows) to.insert(to.end(), from.begin() + r * width, from.begin() + (r + 1) * width);
  return to;
}

TokenDataset pick(const TokenDataset& all, const std::vector<size_t>& rows) {
  TokenDataset d;
  d.kind = all.kind;
  d.objective = all.objective;
  d.vocabulary = all.vocabulary;
  d.length = all.length;
  d.classes = all.classes;
  const size_t T = static_cast<size_t>(all.length);
  d.ids = copyRows(all.ids, rows, T);
  d.nextToken = copyRows(all.nextToken, rows, T);
  d.sequenceClass = copyRows(all.sequenceClass, rows, 1);
  d.group = copyRows(all.group, rows, 1);
  d.taskLabel = copyRows(all.taskLabel, rows, T);
  d.languageLabel = copyRows(all.languageLabel, rows, T);
  d.position = copyRows(all.position, rows, T);
  d.role = copyRows(all.role, rows, T);
  d.taskNames = all.taskNames;
  d.languageNames = all.languageNames;
  d.roleNames = all.roleNames;
  d.classNames = all.classNames;
  d.tokenNames = all.tokenNames;
  return d;
}

}  // namespace

std::vector<TokenOptionProblem> tokenOptionProblems(const TokenDataOptions& o) {
  std::vector<TokenOptionProblem> p;
  auto range = [&](const std::string& key, long v, long lo, long hi) {
    if (v < lo || v > hi) p.push_back({key, "must be in [" + str(lo) + ", " + str(hi) + "] (got " + str(v) + ")"});
    return v >= lo && v <= hi;
  };
  const bool multiTask = o.kind == TokenStreamKind::MultiTask;
  const bool vocabularyOk = range("vocabulary", o.vocabulary, 4, kMaxVocabulary);
  const bool lengthOk = range("sequence_length", o.length, multiTask ? 6 : 4, kMaxLength);
  const bool groupsOk = multiTask ? range("tasks", o.groups, 1, kTaskRuleCount) : range("languages", o.groups, 1, kMaxLanguages);
  if (!(o.noise >= 0 && o.noise <= 1))
    p.push_back({"noise", "must be in [0, 1] for token streams, where it is a rate (got " + std::to_string(o.noise) + ")"});
  if (lengthOk && long(o.sequences) * o.length > kMaxTokens)
    p.push_back({"samples", str(o.sequences) + " sequences of " + str(o.length) + " tokens exceed " + str(kMaxTokens) +
                                " tokens"});
  if (!vocabularyOk || !lengthOk || !groupsOk) return p;
  if (multiTask) {
    const MultiTaskLayout lay = multiTaskLayout(o.vocabulary, o.length, o.groups);
    const std::string leaves = str(o.vocabulary) + " leaves " + str(lay.symbols) + " symbols after <pad>, <sep> and " +
                               str(o.groups) + " task tokens";
    const bool counts = o.groups > static_cast<int>(TaskRule::Count);
    if (lay.symbols < 2)
      p.push_back({"vocabulary", leaves + "; at least 2 are needed"});
    else if (counts && lay.symbols < lay.inputLength + 1)
      p.push_back({"vocabulary", leaves + "; the count rule needs " + str(lay.inputLength + 1) +
                                     " (counts up to the input length " + str(lay.inputLength) + ")"});
  } else {
    const MultiLanguageLayout lay = multiLanguageLayout(o.vocabulary, o.groups);
    if (lay.wordsPerRole < 2)
      p.push_back({"vocabulary", str(o.vocabulary) + " gives " + str(lay.wordsPerRole) + " words per role and language; " +
                                     str(o.groups) + " languages need a vocabulary of at least " +
                                     str(MultiLanguageLayout::kFirstWord + 2 * kWordRoles * o.groups)});
  }
  return p;
}

TokenSplit makeTokenDataset(const TokenDataOptions& o) {
  auto problems = tokenOptionProblems(o);
  if (o.sequences < 2) problems.push_back({"samples", "at least 2 sequences are needed for a split (got " + str(o.sequences) + ")"});
  if (!(o.testFraction > 0 && o.testFraction < 1))
    problems.push_back({"test_fraction", "must be in (0, 1) (got " + std::to_string(o.testFraction) + ")"});
  if (!problems.empty()) {
    std::string msg = "token data:";
    for (const auto& q : problems) msg += " data." + q.key + ": " + q.reason + ";";
    msg.pop_back();
    throw std::invalid_argument(msg);
  }
  SeededRandom rng(o.seed);
  TokenDataset all = o.kind == TokenStreamKind::MultiTask ? makeMultiTaskStream(o, rng) : makeMultiLanguageStream(o, rng);
  return splitTokenDataset(all, o.testFraction, o.seed ^ kSplitStream);
}

TokenSplit splitTokenDataset(const TokenDataset& all, double testFraction, uint64_t seed) {
  SeededRandom rng(seed);
  std::map<int32_t, std::vector<size_t>> byGroup;  // ordered: the same order everywhere
  for (size_t r = 0; r < all.size(); ++r) byGroup[all.group[r]].push_back(r);
  std::vector<size_t> train, test;
  for (auto& [group, rows] : byGroup) {
    shuffle(rows, rng);
    const auto nTest = std::min(rows.size(), static_cast<size_t>(std::llround(rows.size() * testFraction)));
    test.insert(test.end(), rows.begin(), rows.begin() + nTest);
    train.insert(train.end(), rows.begin() + nTest, rows.end());
  }
  if (all.size() >= 2 && test.empty()) {
    test.push_back(train.back());
    train.pop_back();
  } else if (all.size() >= 2 && train.empty()) {
    train.push_back(test.back());
    test.pop_back();
  }
  shuffle(train, rng);
  shuffle(test, rng);
  return {pick(all, train), pick(all, test)};
}

TokenBatch gatherTokenBatch(const TokenDataset& d, const std::vector<uint32_t>& rows) {
  TokenBatch b;
  b.rows = static_cast<int>(rows.size());
  b.length = d.length;
  const size_t T = static_cast<size_t>(d.length);
  b.ids.reserve(rows.size() * T);
  b.nextToken.reserve(rows.size() * T);
  for (uint32_t r : rows) {
    if (r >= d.size())
      throw std::out_of_range("gatherTokenBatch: row " + std::to_string(r) + " of " + std::to_string(d.size()));
    b.ids.insert(b.ids.end(), d.ids.begin() + r * T, d.ids.begin() + (r + 1) * T);
    b.nextToken.insert(b.nextToken.end(), d.nextToken.begin() + r * T, d.nextToken.begin() + (r + 1) * T);
    b.sequenceClass.push_back(d.sequenceClass[r]);
    b.group.push_back(d.group[r]);
  }
  return b;
}

}  // namespace rl
