#pragma once
// The multi-"language" token stream: every language has its own sub-vocabulary (disjoint blocks of
// ids) and its own word-to-word transition statistics, while all share one grammar:
//
//   sequence = <bos> clause clause ...   (cut off at T tokens)
//   clause   = one of   N V <end> | N V N <end> | M N V N <end> | N V M N <end>   (uniform)
//
// with N a noun, V a verb, M a modifier of the sequence's language. The next word of a role is
// drawn from the language's table P_lang(word | role, previous word), each row a softmax of
// Gaussian scores drawn once from the seed (so different languages prefer different
// successions). With probability `noise` a word is borrowed from another language instead
// (code-switching); its language label is then the language it came from. The sequence target is
// the main language. docs/token-data.md has the details.
#include <cstdint>
#include <vector>

#include "data/seeded_random.h"
#include "data/token_dataset.h"

namespace rl {

// Word roles of the grammar (the first three are content words with per-language vocabularies).
enum class WordRole { Noun, Verb, Modifier };
constexpr int kWordRoles = 3;

// Roles (TokenDataset::role) of this kind.
enum class MultiLanguageRole { Bos, Noun, Verb, Modifier, End };

// Where the ids are: 0 <pad> (reserved, never generated), 1 <bos>, 2 <end>, then for language l
// and word role r the block of `wordsPerRole` ids starting at 3 + (l * 3 + r) * wordsPerRole.
// Ids after the last block are unused.
struct MultiLanguageLayout {
  static constexpr int kPad = 0, kBos = 1, kEnd = 2, kFirstWord = 3;
  int languages = 0;
  int wordsPerRole = 0;  // W = (V - 3) / (3 · languages), rounded down
  int token(int language, WordRole role, int word) const {
    return kFirstWord + (language * kWordRoles + static_cast<int>(role)) * wordsPerRole + word;
  }
  bool isWord(int id) const { return id >= kFirstWord && id < kFirstWord + languages * kWordRoles * wordsPerRole; }
  int languageOf(int id) const { return isWord(id) ? (id - kFirstWord) / (kWordRoles * wordsPerRole) : -1; }
  int roleOf(int id) const { return isWord(id) ? (id - kFirstWord) / wordsPerRole % kWordRoles : -1; }
  int wordOf(int id) const { return isWord(id) ? (id - kFirstWord) % wordsPerRole : -1; }
};
MultiLanguageLayout multiLanguageLayout(int vocabulary, int languages);

// All sequences before the split; sequence i has main language i mod languages. The transition
// tables come from the seed alone, not from `rng`, so they do not change with the sample count.
TokenDataset makeMultiLanguageStream(const TokenDataOptions& options, SeededRandom& rng);

}  // namespace rl
