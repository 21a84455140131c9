#include "sagaflow/flow/suggest.hpp"

#include <algorithm>
#include <vector>

namespace sagaflow::flow {
namespace {

// Longer is not a misspelt key or step name but pasted text: comparing it would only cost time.
constexpr std::size_t kMaxWordLength = 64;
// Cells of the distance table one suggestion may fill: a flow has thousands of step names at
// most, and a hostile one must not make every unknown reference cost a full scan of them.
constexpr std::size_t kMaxCells = 2'000'000;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool same_letter(char a, char b) {
  return lower(a) == lower(b);
}

bool equal_without_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), same_letter);
}

bool has_part(std::string_view candidate, std::string_view word) {
  std::size_t start = 0;
  while (start <= candidate.size()) {
    const std::size_t end = std::min(candidate.find('_', start), candidate.size());
    if (equal_without_case(candidate.substr(start, end - start), word)) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit) {
  const std::size_t gap = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (gap > limit) return limit + 1;
  // Three rows of the table: the one before the previous is needed for swaps.
  std::vector<std::size_t> before(b.size() + 1);
  std::vector<std::size_t> previous(b.size() + 1);
  std::vector<std::size_t> current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    std::size_t row_best = current[0];
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = same_letter(a[i - 1], b[j - 1]) ? 0 : 1;
      std::size_t cell =
          std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + substitution});
      if (i > 1 && j > 1 && same_letter(a[i - 1], b[j - 2]) && same_letter(a[i - 2], b[j - 1])) {
        cell = std::min(cell, before[j - 2] + 1);
      }
      current[j] = cell;
      row_best = std::min(row_best, cell);
    }
    // Rows never get smaller: a swap's cell is at least the diagonal cell of the row between.
    if (row_best > limit) return limit + 1;
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return std::min(previous[b.size()], limit + 1);
}

std::size_t suggestion_threshold(std::string_view word) {
  return word.size() < 3 ? 0 : std::max<std::size_t>(1, word.size() / 3);
}

std::optional<std::string> closest_word(std::string_view word,
                                        std::span<const std::string_view> candidates) {
  if (word.empty() || word.size() > kMaxWordLength) return std::nullopt;
  std::size_t cells = 0;
  std::optional<std::string_view> best;
  std::size_t best_distance = suggestion_threshold(word) + 1;
  std::optional<std::string_view> part_of;
  std::size_t parts_found = 0;
  for (std::string_view candidate : candidates) {
    if (candidate == word) continue;
    if (word.size() >= 3 && has_part(candidate, word)) {
      part_of = candidate;
      ++parts_found;
    }
    const std::size_t limit = best_distance - 1;
    const std::size_t gap =
        std::max(word.size(), candidate.size()) - std::min(word.size(), candidate.size());
    if (best_distance == 0 || gap > limit || cells > kMaxCells) continue;
    cells += (word.size() + 1) * (candidate.size() + 1);
    const std::size_t distance = edit_distance(word, candidate, limit);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (best) return std::string(*best);
  if (parts_found == 1) return std::string(*part_of);
  return std::nullopt;
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  auto suggestion = closest_word(word, candidates);
  return suggestion ? "; did you mean '" + *suggestion + "'?" : std::string();
}

}  // namespace sagaflow::flow
