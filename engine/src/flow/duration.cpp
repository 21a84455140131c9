#include "duration.hpp"

#include <array>
#include <charconv>
#include <cstdint>

namespace sagaflow::flow::detail {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t milliseconds;
};

// Largest first; "ms" precedes "m" so that the longest suffix matches.
constexpr std::array<Unit, 5> kUnits{
    {{"d", 86'400'000}, {"h", 3'600'000}, {"ms", 1}, {"m", 60'000}, {"s", 1'000}}};

// The unit's rank from largest (0) to smallest, for the "largest to smallest" rule.
int rank(const Unit& unit) {
  if (unit.suffix == "d") return 0;
  if (unit.suffix == "h") return 1;
  if (unit.suffix == "m") return 2;
  if (unit.suffix == "s") return 3;
  return 4;
}

const Unit* match_unit(std::string_view rest) {
  for (const Unit& unit : kUnits) {
    if (rest.starts_with(unit.suffix)) return &unit;
  }
  return nullptr;
}

constexpr std::string_view kExamples = "like 250ms, 5s, 10m, 2h, 3d or 1h30m";

}  // namespace

std::optional<Duration> parse_duration(std::string_view text, DurationError& error) {
  if (text.empty()) {
    error = {0, "empty duration; write one " + std::string(kExamples)};
    return std::nullopt;
  }
  std::int64_t total = 0;
  int previous_rank = -1;
  std::size_t pos = 0;
  const std::string too_long = "duration '" + std::string(text) +
                               "' is longer than the maximum of " + format_duration(kMaxDuration);
  while (pos < text.size()) {
    std::int64_t amount = 0;
    const char* begin = text.data() + pos;
    auto [stop, status] = std::from_chars(begin, text.data() + text.size(), amount);
    if (status == std::errc::result_out_of_range) {
      error = {0, too_long};  // more digits than any integer holds
      return std::nullopt;
    }
    // from_chars also takes a sign: "-0s" is malformed too.
    if (status != std::errc{} || stop == begin || *begin == '-') {
      error = {pos, "malformed duration '" + std::string(text) + "'; write it " +
                        std::string(kExamples)};
      return std::nullopt;
    }
    pos = static_cast<std::size_t>(stop - text.data());
    const Unit* unit = match_unit(text.substr(pos));
    if (unit == nullptr) {
      error = {pos, "duration '" + std::string(text) + "' needs a unit (ms, s, m, h or d), " +
                        std::string(kExamples)};
      return std::nullopt;
    }
    if (rank(*unit) <= previous_rank) {
      error = {pos, "duration units go from the largest to the smallest, like 1h30m"};
      return std::nullopt;
    }
    previous_rank = rank(*unit);
    pos += unit->suffix.size();
    // Divided before multiplying, so that no product can overflow.
    if (amount > (kMaxDuration.count() - total) / unit->milliseconds) {
      error = {0, too_long};
      return std::nullopt;
    }
    total += amount * unit->milliseconds;
  }
  return Duration{total};
}

std::string format_duration(Duration duration) {
  std::int64_t remaining = duration.count();
  if (remaining == 0) return "0s";
  std::string text;
  for (const Unit& unit : {kUnits[0], kUnits[1], kUnits[3], kUnits[4], kUnits[2]}) {
    if (remaining >= unit.milliseconds) {
      text += std::to_string(remaining / unit.milliseconds) + std::string(unit.suffix);
      remaining %= unit.milliseconds;
    }
  }
  return text;
}

}  // namespace sagaflow::flow::detail
