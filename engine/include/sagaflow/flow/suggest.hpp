#pragma once
// "Did you mean": the known word a misspelt one most likely stands for, or none when nothing
// known is close enough that the suggestion would help rather than confuse.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sagaflow::flow {

// Insertions, deletions, substitutions and swaps of two neighbours (`pionts` -> `points` is
// one), letters compared without case. Stops counting past `limit` and returns limit + 1.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit);

// How many edits a word of this length may be away from what it meant: none below 3
// characters, then one per 3 characters.
std::size_t suggestion_threshold(std::string_view word);

// The candidate closest to `word` within suggestion_threshold(word) edits (the first of equally
// close ones), or else the only candidate that has `word` as one of its '_'-separated parts
// (`attempts` -> `max_attempts`). Never `word` itself. Words longer than 64 characters get no
// suggestion, and the work is bounded whatever the number of candidates.
std::optional<std::string> closest_word(std::string_view word,
                                        std::span<const std::string_view> candidates);

// "; did you mean 'X'?" when a candidate is close, else "" (for appending to a message).
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace sagaflow::flow
