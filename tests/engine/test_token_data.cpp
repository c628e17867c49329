// Token streams: determinism, labels consistent with the ids, the documented rules and grammar,
// noise at its documented rate, disjoint stratified splits, and a restorable batch sampler.
#include "test_support.h"

#include <map>
#include <set>

#include "data/token_dataset.h"
#include "data/token_multi_language.h"
#include "data/token_multi_task.h"
#include "data/token_sampler.h"

using namespace rl;

namespace {

TokenDataOptions options(TokenStreamKind kind, SequenceTask objective, uint64_t seed = 1, int sequences = 600) {
  TokenDataOptions o;
  o.kind = kind;
  o.objective = objective;
  o.sequences = sequences;
  o.vocabulary = 64;
  o.length = 32;
  o.groups = kind == TokenStreamKind::MultiTask ? 5 : 4;
  o.noise = 0;
  o.testFraction = 0.2;
  o.seed = seed;
  return o;
}

std::string describe(const TokenDataOptions& o) {
  return std::string(o.kind == TokenStreamKind::MultiTask ? "multi_task" : "multi_language") +
         (o.objective == SequenceTask::NextToken ? " next_token" : " classification") + " V=" + std::to_string(o.vocabulary) +
         " T=" + std::to_string(o.length) + " groups=" + std::to_string(o.groups) + " B=" + std::to_string(o.sequences) +
         " noise=" + std::to_string(o.noise) + " seed=" + std::to_string(o.seed);
}

std::string show(const std::vector<int32_t>& v) {
  std::string s;
  for (int32_t x : v) {
    if (!s.empty()) s += ' ';
    s += std::to_string(x);
  }
  return "[" + s + "]";
}

// Every stream and objective, for the checks that hold for all of them.
std::vector<TokenDataOptions> allKinds(uint64_t seed = 1) {
  std::vector<TokenDataOptions> out;
  for (auto kind : {TokenStreamKind::MultiTask, TokenStreamKind::MultiLanguage})
    for (auto objective : {SequenceTask::Classification, SequenceTask::NextToken}) out.push_back(options(kind, objective, seed));
  return out;
}

bool identical(const TokenDataset& a, const TokenDataset& b) {
  return a.ids == b.ids && a.nextToken == b.nextToken && a.sequenceClass == b.sequenceClass && a.group == b.group &&
         a.taskLabel == b.taskLabel && a.languageLabel == b.languageLabel && a.role == b.role && a.position == b.position;
}

std::vector<int32_t> row(const std::vector<int32_t>& a, size_t r, int T) {
  return {a.begin() + r * T, a.begin() + (r + 1) * T};
}

// The input symbols x and the shown answer y of a multi_task row (layout of token_multi_task.h).
struct Decoded {
  int task;
  std::vector<int32_t> x, y;
};
Decoded decode(const TokenDataset& d, const MultiTaskLayout& lay, size_t r) {
  const int32_t* ids = d.ids.data() + r * d.length;
  Decoded out{ids[0] - 2, {}, {}};
  for (int i = 0; i < lay.inputLength; ++i) out.x.push_back(lay.symbolOf(ids[1 + i]));
  for (int i = 0; i < lay.inputLength; ++i) out.y.push_back(lay.symbolOf(ids[2 + lay.inputLength + i]));
  return out;
}

// Role pattern of the clause templates (token_multi_language.h), <end> as 4.
const std::vector<std::vector<int>> kTemplates = {{1, 2, 4}, {1, 2, 1, 4}, {3, 1, 2, 1, 4}, {1, 2, 3, 1, 4}};

// Total variation distance between two count tables over the same keys.
double totalVariation(const std::map<std::vector<int>, double>& a, const std::map<std::vector<int>, double>& b) {
  double na = 0, nb = 0;
  for (const auto& [k, v] : a) na += v;
  for (const auto& [k, v] : b) nb += v;
  std::set<std::vector<int>> keys;
  for (const auto& [k, v] : a) keys.insert(k);
  for (const auto& [k, v] : b) keys.insert(k);
  double tv = 0;
  for (const auto& k : keys) {
    const double pa = a.count(k) ? a.at(k) / na : 0, pb = b.count(k) ? b.at(k) / nb : 0;
    tv += std::abs(pa - pb);
  }
  return tv / 2;
}

}  // namespace

class TestTokenData : public QObject {
  Q_OBJECT
 private slots:
  void sameSeedSameDataOtherSeedOther() {
    for (const auto& o : allKinds()) {
      TokenSplit a = makeTokenDataset(o), b = makeTokenDataset(o);
      TokenDataOptions other = o;
      other.seed = 2;
      TokenSplit c = makeTokenDataset(other);
      QVERIFY2(identical(a.train, b.train) && identical(a.test, b.test), describe(o).c_str());
      QVERIFY2(!identical(a.train, c.train), describe(o).c_str());
      QVERIFY2(a.train.size() > 0 && a.train.ids.size() == a.train.size() * o.length, describe(o).c_str());
    }
  }

  void moreSamplesExtendTheStream() {
    // Sequences are drawn in order from the seed, and the language tables come from the seed
    // alone: a larger stream starts with the sequences of a smaller one.
    for (auto kind : {TokenStreamKind::MultiTask, TokenStreamKind::MultiLanguage}) {
      TokenDataOptions o = options(kind, SequenceTask::NextToken);
      o.sequences = 100;
      TokenSplit small = makeTokenDataset(o);
      o.sequences = 2000;
      TokenSplit large = makeTokenDataset(o);
      std::set<std::vector<int32_t>> big;
      for (const TokenDataset* d : {&large.train, &large.test})
        for (size_t r = 0; r < d->size(); ++r) big.insert(row(d->ids, r, o.length));
      for (const TokenDataset* d : {&small.train, &small.test})
        for (size_t r = 0; r < d->size(); ++r)
          QVERIFY2(big.count(row(d->ids, r, o.length)), (describe(o) + ": " + show(row(d->ids, r, o.length))).c_str());
    }
  }

  void shapesAndBoundsHold() {
    for (const auto& o : allKinds(7)) {
      const std::string what = describe(o);
      TokenSplit s = makeTokenDataset(o);
      QCOMPARE(s.train.size() + s.test.size(), size_t(o.sequences));
      for (const TokenDataset* d : {&s.train, &s.test}) {
        const size_t n = d->size() * o.length;
        QVERIFY2(d->vocabulary == o.vocabulary && d->length == o.length, what.c_str());
        for (const auto* a : {&d->ids, &d->nextToken, &d->taskLabel, &d->languageLabel, &d->position, &d->role})
          QVERIFY2(a->size() == n, what.c_str());
        QVERIFY2(d->sequenceClass.size() == d->size() && d->group.size() == d->size(), what.c_str());
        QVERIFY2(d->tokenNames.size() == size_t(o.vocabulary) && d->classNames.size() == size_t(d->classes), what.c_str());
        for (size_t i = 0; i < n; ++i) {
          const std::string at = what + " token " + std::to_string(i);
          QVERIFY2(d->ids[i] >= 0 && d->ids[i] < o.vocabulary, (at + " id " + std::to_string(d->ids[i])).c_str());
          QVERIFY2(d->nextToken[i] >= -1 && d->nextToken[i] < o.vocabulary, at.c_str());
          QVERIFY2(d->position[i] == int(i % o.length), at.c_str());
          QVERIFY2(d->role[i] >= 0 && d->role[i] < int(d->roleNames.size()), at.c_str());
          // nextToken, where scored, is the token that follows.
          if (d->nextToken[i] >= 0) QVERIFY2(i % o.length + 1 < size_t(o.length) && d->nextToken[i] == d->ids[i + 1], at.c_str());
        }
        for (size_t r = 0; r < d->size(); ++r) {
          QVERIFY2(d->sequenceClass[r] >= 0 && d->sequenceClass[r] < d->classes, what.c_str());
          QVERIFY2(d->group[r] >= 0 && d->group[r] < o.groups, what.c_str());
        }
        const bool anyScored = std::any_of(d->nextToken.begin(), d->nextToken.end(), [](int32_t v) { return v >= 0; });
        QVERIFY2(anyScored == (o.objective == SequenceTask::NextToken), what.c_str());
      }
    }
  }

  void rulesOnHandCheckedExamples() {
    const std::vector<int32_t> x{3, 1, 3, 0, 5};
    const int S = 6;
    QCOMPARE(applyTaskRule(TaskRule::Copy, x, S), (std::vector<int32_t>{3, 1, 3, 0, 5}));
    QCOMPARE(applyTaskRule(TaskRule::Reverse, x, S), (std::vector<int32_t>{5, 0, 3, 1, 3}));
    QCOMPARE(applyTaskRule(TaskRule::Sort, x, S), (std::vector<int32_t>{0, 1, 3, 3, 5}));
    QCOMPARE(applyTaskRule(TaskRule::Count, x, S), (std::vector<int32_t>{2, 1, 2, 1, 1}));
    QCOMPARE(applyTaskRule(TaskRule::Increment, x, S), (std::vector<int32_t>{4, 2, 4, 1, 0}));  // 5 wraps to 0
    QCOMPARE(applyTaskRule(TaskRule::Count, {7, 7, 7}, 8), (std::vector<int32_t>{3, 3, 3}));
    QCOMPARE(taskRuleNames(), (std::vector<std::string>{"copy", "reverse", "sort", "count", "increment"}));
  }

  void multiTaskLayoutByHand() {
    // V = 12, T = 10, 4 tasks: ids 0 <pad>, 1 <sep>, 2..5 tasks, 6..11 symbols s0..s5; L = 4.
    const MultiTaskLayout lay = multiTaskLayout(12, 10, 4);
    QCOMPARE(lay.symbols, 6);
    QCOMPARE(lay.inputLength, 4);
    QCOMPARE(lay.palette, 2);
    QCOMPARE(lay.taskToken(3), 5);
    QCOMPARE(lay.symbolToken(0), 6);
    TokenDataOptions o = options(TokenStreamKind::MultiTask, SequenceTask::NextToken);
    o.vocabulary = 12;
    o.length = 10;
    o.groups = 4;
    o.sequences = 40;
    TokenSplit s = makeTokenDataset(o);
    const TokenDataset& d = s.train;
    QCOMPARE(d.tokenNames, (std::vector<std::string>{"<pad>", "<sep>", "#copy", "#reverse", "#sort", "#count", "s0", "s1",
                                                      "s2", "s3", "s4", "s5"}));
    for (size_t r = 0; r < d.size(); ++r) {
      const auto ids = row(d.ids, r, 10);
      // [task x1 x2 x3 x4 <sep> y1 y2 y3 y4]: roles task, input x4, separator, answer x4.
      QCOMPARE(row(d.role, r, 10), (std::vector<int32_t>{0, 1, 1, 1, 1, 2, 3, 3, 3, 3}));
      QVERIFY2(ids[5] == 1, show(ids).c_str());
      // Scored positions: <sep> and y1..y3, each on the token that follows.
      QCOMPARE(row(d.nextToken, r, 10), (std::vector<int32_t>{-1, -1, -1, -1, -1, ids[6], ids[7], ids[8], ids[9], -1}));
      const Decoded dec = decode(d, lay, r);
      std::set<int32_t> palette(dec.x.begin(), dec.x.end());
      QVERIFY2(palette.size() <= size_t(lay.palette), show(ids).c_str());
    }
  }

  void multiTaskRowsFollowTheirRule() {
    for (auto objective : {SequenceTask::Classification, SequenceTask::NextToken}) {
      TokenDataOptions o = options(TokenStreamKind::MultiTask, objective, 3);
      const MultiTaskLayout lay = multiTaskLayout(o.vocabulary, o.length, o.groups);
      TokenSplit s = makeTokenDataset(o);
      std::map<int, int> perTask;
      for (const TokenDataset* d : {&s.train, &s.test})
        for (size_t r = 0; r < d->size(); ++r) {
          const auto ids = row(d->ids, r, o.length);
          const std::string at = describe(o) + " row " + std::to_string(r) + " ids " + show(ids);
          const Decoded dec = decode(*d, lay, r);
          // The task token, the task label of every token and the group agree.
          QVERIFY2(dec.task == d->group[r], at.c_str());
          for (int32_t t : row(d->taskLabel, r, o.length)) QVERIFY2(t == dec.task, at.c_str());
          for (int32_t l : row(d->languageLabel, r, o.length)) QVERIFY2(l == -1, at.c_str());
          ++perTask[dec.task];
          for (int32_t v : dec.x) QVERIFY2(v >= 0 && v < lay.symbols, at.c_str());
          QVERIFY2(ids[1 + lay.inputLength] == MultiTaskLayout::kSep, at.c_str());
          const auto expected = applyTaskRule(static_cast<TaskRule>(dec.task), dec.x, lay.symbols);
          QVERIFY2(d->sequenceClass[r] == expected[0], (at + " class " + std::to_string(d->sequenceClass[r])).c_str());
          if (objective == SequenceTask::NextToken)
            QVERIFY2(dec.y == expected, (at + " expected answer " + show(expected)).c_str());
          else
            for (int t = 2 + lay.inputLength; t < o.length; ++t) QVERIFY2(ids[t] == MultiTaskLayout::kPad, at.c_str());
        }
      QCOMPARE(int(perTask.size()), o.groups);
      for (const auto& [task, n] : perTask) QCOMPARE(n, o.sequences / o.groups);  // rows cycle through the tasks
    }
  }

  void multiLanguageLabelsMatchSubVocabularies() {
    for (double noise : {0.0, 0.25}) {
      TokenDataOptions o = options(TokenStreamKind::MultiLanguage, SequenceTask::NextToken, 5, 1000);
      o.noise = noise;
      const MultiLanguageLayout lay = multiLanguageLayout(o.vocabulary, o.groups);
      QCOMPARE(lay.wordsPerRole, (64 - 3) / 12);
      TokenSplit s = makeTokenDataset(o);
      long words = 0, borrowed = 0;
      for (const TokenDataset* d : {&s.train, &s.test})
        for (size_t r = 0; r < d->size(); ++r) {
          const auto ids = row(d->ids, r, o.length);
          const std::string at = describe(o) + " row " + std::to_string(r) + " ids " + show(ids);
          QVERIFY2(d->sequenceClass[r] == d->group[r], at.c_str());
          QVERIFY2(ids[0] == MultiLanguageLayout::kBos && d->role[r * o.length] == 0, at.c_str());
          std::vector<int> clause;
          for (int t = 0; t < o.length; ++t) {
            const size_t i = r * o.length + t;
            QVERIFY2(d->taskLabel[i] == -1, at.c_str());
            if (lay.isWord(ids[t])) {
              // A word's label is the language whose block holds it, its role the block's role.
              QVERIFY2(d->languageLabel[i] == lay.languageOf(ids[t]), (at + " t=" + std::to_string(t)).c_str());
              QVERIFY2(d->role[i] == lay.roleOf(ids[t]) + 1, (at + " t=" + std::to_string(t)).c_str());
              ++words;
              borrowed += lay.languageOf(ids[t]) != d->group[r];
            } else {
              // Shared tokens carry the sequence's language.
              QVERIFY2(ids[t] == MultiLanguageLayout::kBos || ids[t] == MultiLanguageLayout::kEnd, at.c_str());
              QVERIFY2(d->languageLabel[i] == d->group[r], at.c_str());
              QVERIFY2((ids[t] == MultiLanguageLayout::kBos) == (t == 0), at.c_str());
            }
            if (t == 0) continue;
            clause.push_back(d->role[i]);
            // Every clause follows one of the shared templates; the last may be cut off.
            const bool complete = clause.back() == 4;
            bool fits = false;
            for (const auto& tpl : kTemplates)
              fits |= complete ? clause == tpl : std::equal(clause.begin(), clause.end(), tpl.begin()) && clause.size() < tpl.size();
            QVERIFY2(fits, (at + " clause " + show(std::vector<int32_t>(clause.begin(), clause.end()))).c_str());
            if (complete) clause.clear();
          }
        }
      // Code-switching: a word comes from another language with probability `noise`.
      const double rate = double(borrowed) / words;
      QVERIFY2(std::abs(rate - noise) < 0.02, (describe(o) + " borrowed rate " + std::to_string(rate)).c_str());
    }
  }

  void languagesHaveTheirOwnTransitions() {
    // Word-to-word statistics over local word indices (role, previous word, next word): two
    // halves of one language agree, two languages do not.
    TokenDataOptions o = options(TokenStreamKind::MultiLanguage, SequenceTask::NextToken, 11, 8000);
    o.groups = 2;
    o.vocabulary = 27;  // 4 words per role and language: a small table, well estimated
    const MultiLanguageLayout lay = multiLanguageLayout(o.vocabulary, o.groups);
    QCOMPARE(lay.wordsPerRole, 4);
    TokenSplit s = makeTokenDataset(o);
    std::map<std::vector<int>, double> stats[2][2];  // [language][half]
    const TokenDataset& d = s.train;
    for (size_t r = 0; r < d.size(); ++r) {
      int previous = -1;
      for (int t = 0; t < o.length; ++t) {
        const int id = d.ids[r * o.length + t];
        if (!lay.isWord(id)) continue;
        stats[d.group[r]][r % 2][{lay.roleOf(id), previous, lay.wordOf(id)}] += 1;
        previous = lay.wordOf(id);
      }
    }
    const double within0 = totalVariation(stats[0][0], stats[0][1]), within1 = totalVariation(stats[1][0], stats[1][1]);
    std::map<std::vector<int>, double> all0 = stats[0][0], all1 = stats[1][0];
    for (const auto& [k, v] : stats[0][1]) all0[k] += v;
    for (const auto& [k, v] : stats[1][1]) all1[k] += v;
    const double between = totalVariation(all0, all1);
    const std::string msg = "within A " + std::to_string(within0) + ", within B " + std::to_string(within1) + ", between " +
                            std::to_string(between);
    QVERIFY2(within0 < 0.1 && within1 < 0.1 && between > 0.3, msg.c_str());
  }

  void noiseCorruptsTargetsAtItsRate() {
    for (auto objective : {SequenceTask::Classification, SequenceTask::NextToken}) {
      TokenDataOptions o = options(TokenStreamKind::MultiTask, objective, 9, 3000);
      o.noise = 0.3;
      const MultiTaskLayout lay = multiTaskLayout(o.vocabulary, o.length, o.groups);
      TokenSplit s = makeTokenDataset(o);
      long targets = 0, corrupted = 0;
      for (const TokenDataset* d : {&s.train, &s.test})
        for (size_t r = 0; r < d->size(); ++r) {
          const Decoded dec = decode(*d, lay, r);
          const auto clean = applyTaskRule(static_cast<TaskRule>(dec.task), dec.x, lay.symbols);
          if (objective == SequenceTask::NextToken) {
            for (size_t i = 0; i < clean.size(); ++i) corrupted += dec.y[i] != clean[i];
            targets += clean.size();
            QCOMPARE(d->sequenceClass[r], dec.y[0]);  // the class is the shown first answer symbol
          } else {
            corrupted += d->sequenceClass[r] != clean[0];
            ++targets;
          }
        }
      const double rate = double(corrupted) / targets;
      QVERIFY2(std::abs(rate - o.noise) < 0.03, (describe(o) + " corrupted rate " + std::to_string(rate)).c_str());
    }
  }

  void splitsAreDisjointAndStratified() {
    for (const auto& o : allKinds(4)) {
      TokenSplit s = makeTokenDataset(o);
      const bool multiTask = o.kind == TokenStreamKind::MultiTask;
      const int prompt = multiTask ? 1 + multiTaskLayout(o.vocabulary, o.length, o.groups).inputLength : o.length;
      std::set<std::vector<int32_t>> train;
      for (size_t r = 0; r < s.train.size(); ++r) {
        auto ids = row(s.train.ids, r, o.length);
        ids.resize(prompt);
        QVERIFY2(train.insert(ids).second, (describe(o) + ": a train sequence appears twice").c_str());
      }
      for (size_t r = 0; r < s.test.size(); ++r) {
        auto ids = row(s.test.ids, r, o.length);
        ids.resize(prompt);
        QVERIFY2(!train.count(ids), (describe(o) + ": held-out sequence also in train: " + show(ids)).c_str());
      }
      std::map<int, int> testPerGroup;
      for (int32_t g : s.test.group) ++testPerGroup[g];
      for (int g = 0; g < o.groups; ++g) {
        const int n = o.sequences / o.groups;  // 600 divides by 4 and 5
        QCOMPARE(testPerGroup[g], int(std::llround(n * o.testFraction)));
      }
    }
  }

  void tooSmallSpacesAndBadSizesAreNamed() {
    TokenDataOptions o = options(TokenStreamKind::MultiTask, SequenceTask::Classification);
    o.vocabulary = 6;
    o.length = 6;
    o.groups = 1;  // 3 symbols, inputs of 2 from a palette of 2: only 9 distinct prompts
    o.sequences = 100;
    try {
      makeTokenDataset(o);
      QFAIL("100 distinct prompts drawn from 9");
    } catch (const std::invalid_argument& e) {
      QVERIFY2(std::string(e.what()).find("only 9 distinct multi_task prompts") != std::string::npos, e.what());
    }
    struct Case {
      TokenDataOptions o;
      std::string key, reason;
    };
    auto with = [](TokenStreamKind kind, auto change) {
      TokenDataOptions o = options(kind, SequenceTask::NextToken);
      change(o);
      return o;
    };
    const std::vector<Case> cases = {
        {with(TokenStreamKind::MultiTask, [](auto& o) { o.vocabulary = 20; }), "vocabulary",
         "20 leaves 13 symbols after <pad>, <sep> and 5 task tokens; the count rule needs 16 (counts up to the input length 15)"},
        {with(TokenStreamKind::MultiTask, [](auto& o) { o.vocabulary = 8; o.groups = 4; }), "vocabulary",
         "8 leaves 2 symbols after <pad>, <sep> and 4 task tokens; the count rule needs 16 (counts up to the input length 15)"},
        {with(TokenStreamKind::MultiTask, [](auto& o) { o.vocabulary = 6; o.groups = 3; }), "vocabulary",
         "6 leaves 1 symbols after <pad>, <sep> and 3 task tokens; at least 2 are needed"},
        {with(TokenStreamKind::MultiTask, [](auto& o) { o.groups = 6; }), "tasks", "must be in [1, 5] (got 6)"},
        {with(TokenStreamKind::MultiTask, [](auto& o) { o.length = 5; }), "sequence_length", "must be in [6, 1024] (got 5)"},
        {with(TokenStreamKind::MultiLanguage, [](auto& o) { o.vocabulary = 28; }), "vocabulary",
         "28 gives 2 words per role and language; 4 languages need a vocabulary of at least 27"},
        {with(TokenStreamKind::MultiLanguage, [](auto& o) { o.vocabulary = 26; }), "vocabulary",
         "26 gives 1 words per role and language; 4 languages need a vocabulary of at least 27"},
        {with(TokenStreamKind::MultiLanguage, [](auto& o) { o.groups = 17; }), "languages", "must be in [1, 16] (got 17)"},
        {with(TokenStreamKind::MultiLanguage, [](auto& o) { o.vocabulary = 2000; }), "vocabulary", "must be in [4, 1024] (got 2000)"},
        {with(TokenStreamKind::MultiLanguage, [](auto& o) { o.noise = 1.5; }), "noise",
         "must be in [0, 1] for token streams, where it is a rate (got 1.500000)"},
        {with(TokenStreamKind::MultiLanguage, [](auto& o) { o.sequences = 200000; }), "samples",
         "200000 sequences of 32 tokens exceed 4000000 tokens"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
      const auto problems = tokenOptionProblems(cases[i].o);
      bool found = false;
      std::string got;
      for (const auto& p : problems) {
        found |= p.key == cases[i].key && p.reason == cases[i].reason;
        got += "\n    " + p.key + ": " + p.reason;
      }
      // The case with 2 words per role is valid: it must report nothing.
      if (i == 5) {
        QVERIFY2(problems.empty(), ("case 5 should be valid, got" + got).c_str());
        continue;
      }
      QVERIFY2(found, ("case " + std::to_string(i) + " (" + describe(cases[i].o) + "): expected\n    " + cases[i].key + ": " +
                       cases[i].reason + "\n  got" + got)
                          .c_str());
    }
    for (auto kind : {TokenStreamKind::MultiTask, TokenStreamKind::MultiLanguage})
      QVERIFY(tokenOptionProblems(options(kind, SequenceTask::NextToken)).empty());
    try {
      makeTokenDataset(cases[0].o);
      QFAIL("an invalid vocabulary was accepted");
    } catch (const std::invalid_argument& e) {
      QVERIFY2(std::string(e.what()).find("data.vocabulary: 20 leaves 13 symbols") != std::string::npos, e.what());
    }
  }

  void samplerIsDeterministicAndRestorable() {
    TokenBatchSampler a(42), b(42), c(43);
    const auto first = a.next(64, 1000);
    QCOMPARE(b.next(64, 1000), first);
    QVERIFY(c.next(64, 1000) != first);
    for (uint32_t r : first) QVERIFY(r < 1000);
    const std::string saved = a.state();
    const auto afterSave = a.next(32, 777);
    a.next(5, 3);
    a.restore(saved);
    QCOMPARE(a.next(32, 777), afterSave);
    TokenBatchSampler fresh(0);
    fresh.restore(saved);  // a different sampler picks up the saved stream
    QCOMPARE(fresh.next(32, 777), afterSave);
    for (const std::string& bad : {std::string(""), std::string("1 2 3"), saved + " extra"}) {
      bool threw = false;
      try {
        fresh.restore(bad);
      } catch (const std::invalid_argument&) {
        threw = true;
      }
      QVERIFY2(threw, ("accepted state of " + std::to_string(bad.size()) + " characters").c_str());
    }
    // Every row is reachable and roughly equally likely.
    std::vector<int> hits(7);
    for (uint32_t r : TokenBatchSampler(5).next(7000, 7)) ++hits[r];
    for (int h : hits) QVERIFY2(h > 850 && h < 1150, std::to_string(h).c_str());
  }

  void gatherCopiesTheRows() {
    TokenSplit s = makeTokenDataset(options(TokenStreamKind::MultiTask, SequenceTask::NextToken));
    const std::vector<uint32_t> rows{5, 0, 5, 17};
    TokenBatch b = gatherTokenBatch(s.train, rows);
    QCOMPARE(b.rows, 4);
    QCOMPARE(b.length, 32);
    for (size_t i = 0; i < rows.size(); ++i) {
      QCOMPARE(row(b.ids, i, 32), row(s.train.ids, rows[i], 32));
      QCOMPARE(row(b.nextToken, i, 32), row(s.train.nextToken, rows[i], 32));
      QCOMPARE(b.sequenceClass[i], s.train.sequenceClass[rows[i]]);
      QCOMPARE(b.group[i], s.train.group[rows[i]]);
    }
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, gatherTokenBatch(s.train, {uint32_t(s.train.size())}));
  }
};

QTEST_APPLESS_MAIN(TestTokenData)
#include "test_token_data.moc"
