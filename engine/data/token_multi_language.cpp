#include "data/token_multi_language.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "data/token_common.h"

namespace rl {

namespace {

// The transition tables have their own stream, so they depend on the seed and sizes only.
constexpr uint64_t kTableStream = 0xC2B2AE3D27D4EB4Full;
// Sharpness of the transition rows: exp(kSharpness · N(0,1)) weights, so each language strongly
// prefers a few successors of each word.
constexpr double kSharpness = 2.0;

// Clause templates of the shared grammar; kEndOfClause marks <end>.
constexpr int kEndOfClause = -1;
const std::array<std::vector<int>, 4>& clauseTemplates() {
  constexpr int N = static_cast<int>(WordRole::Noun), V = static_cast<int>(WordRole::Verb),
                M = static_cast<int>(WordRole::Modifier);
  static const std::array<std::vector<int>, 4> t{{{N, V, kEndOfClause},
                                                  {N, V, N, kEndOfClause},
                                                  {M, N, V, N, kEndOfClause},
                                                  {N, V, M, N, kEndOfClause}}};
  return t;
}

// P_lang(word | role, previous word) as cumulative rows; previous word W is "no word yet".
class TransitionTables {
 public:
  TransitionTables(int languages, int words, uint64_t seed) : words_(words), cdf_(size_t(languages) * kWordRoles * (words + 1) * words) {
    SeededRandom rng(seed ^ kTableStream);
    for (size_t row = 0; row < cdf_.size() / words_; ++row) {
      double sum = 0;
      for (int j = 0; j < words_; ++j) {
        sum += std::exp(kSharpness * rng.normal());
        cdf_[row * words_ + j] = sum;
      }
      for (int j = 0; j < words_; ++j) cdf_[row * words_ + j] /= sum;
    }
  }

  int draw(int language, int role, int previous, SeededRandom& rng) const {
    const size_t row = (size_t(language) * kWordRoles + role) * (words_ + 1) + previous;
    const double* begin = cdf_.data() + row * words_;
    const double u = rng.uniform();
    const auto j = static_cast<int>(std::upper_bound(begin, begin + words_, u) - begin);
    return std::min(j, words_ - 1);  // u can only reach the last entry through rounding
  }

 private:
  int words_;
  std::vector<double> cdf_;
};

}  // namespace

MultiLanguageLayout multiLanguageLayout(int vocabulary, int languages) {
  MultiLanguageLayout m;
  m.languages = languages;
  m.wordsPerRole = languages > 0 ? (vocabulary - MultiLanguageLayout::kFirstWord) / (kWordRoles * languages) : 0;
  return m;
}

TokenDataset makeMultiLanguageStream(const TokenDataOptions& o, SeededRandom& rng) {
  const MultiLanguageLayout lay = multiLanguageLayout(o.vocabulary, o.groups);
  const int T = o.length, K = o.groups, W = lay.wordsPerRole;
  const TransitionTables tables(K, W, o.seed);
  const bool nextToken = o.objective == SequenceTask::NextToken;

  TokenDataset d;
  d.kind = TokenStreamKind::MultiLanguage;
  d.objective = o.objective;
  d.vocabulary = o.vocabulary;
  d.classes = K;
  allocateTokenArrays(d, static_cast<size_t>(o.sequences), T);
  for (int l = 0; l < K; ++l) d.languageNames.push_back(std::string(1, char('A' + l)));
  d.classNames = d.languageNames;
  d.roleNames = {"<bos>", "noun", "verb", "modifier", "<end>"};
  d.tokenNames.assign(o.vocabulary, "<unused>");
  d.tokenNames[MultiLanguageLayout::kPad] = "<pad>";
  d.tokenNames[MultiLanguageLayout::kBos] = "<bos>";
  d.tokenNames[MultiLanguageLayout::kEnd] = "<end>";
  const char* roleLetter = "nvm";
  for (int l = 0; l < K; ++l)
    for (int r = 0; r < kWordRoles; ++r)
      for (int j = 0; j < W; ++j)
        d.tokenNames[lay.token(l, static_cast<WordRole>(r), j)] = d.languageNames[l] + "." + roleLetter[r] + std::to_string(j);

  const auto& templates = clauseTemplates();
  DistinctSequences seen;
  for (int b = 0; b < o.sequences; ++b) {
    const int language = b % K;
    const size_t row = static_cast<size_t>(b) * T;
    int32_t* ids = d.ids.data() + row;
    bool fresh = false;
    for (int attempt = 0; attempt < kMaxRedraws && !fresh; ++attempt) {
      ids[0] = MultiLanguageLayout::kBos;
      d.role[row] = static_cast<int32_t>(MultiLanguageRole::Bos);
      d.languageLabel[row] = language;
      int previous = W;  // no word yet
      for (int t = 1; t < T;) {
        for (int symbol : templates[rng.below(templates.size())]) {
          if (t >= T) break;
          if (symbol == kEndOfClause) {
            ids[t] = MultiLanguageLayout::kEnd;
            d.role[row + t] = static_cast<int32_t>(MultiLanguageRole::End);
            d.languageLabel[row + t] = language;
          } else {
            int source = language;
            if (K > 1 && o.noise > 0 && rng.uniform() < o.noise) source = (language + 1 + static_cast<int>(rng.below(K - 1))) % K;
            const int word = tables.draw(source, symbol, previous, rng);
            ids[t] = lay.token(source, static_cast<WordRole>(symbol), word);
            d.role[row + t] = symbol + 1;  // MultiLanguageRole follows WordRole after <bos>
            d.languageLabel[row + t] = source;
            previous = word;
          }
          ++t;
        }
      }
      fresh = seen.insert(ids, T);
    }
    if (!fresh)
      throw std::invalid_argument("data: only " + std::to_string(b) + " distinct multi_language sequences could be drawn of the " +
                                  std::to_string(o.sequences) + " asked for (vocabulary " + std::to_string(o.vocabulary) +
                                  ", sequence_length " + std::to_string(T) +
                                  "): use fewer samples, a longer sequence or a larger vocabulary");
    d.sequenceClass[b] = language;
    d.group[b] = language;
    for (int t = 0; t < T; ++t) {
      d.position[row + t] = t;
      if (nextToken && t + 1 < T) d.nextToken[row + t] = ids[t + 1];
    }
  }
  return d;
}

}  // namespace rl
