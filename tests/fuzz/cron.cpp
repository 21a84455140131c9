// Fuzz target: cron expressions for schedules (engine/cron.hpp). The first line is parsed as an
// expression; the second, when present, names a time zone. The parser may only throw
// InvalidCron; an accepted expression's next times, in the zone (UTC when none or unknown), come
// strictly after the instant asked from, match the expression in local time unless they end a
// daylight saving gap, and latest_fire() finds nothing after `now`.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "sagaflow/engine/cron.hpp"

namespace {

namespace cron = sagaflow::cron;
using sagaflow::Timestamp;

void check(bool holds) {
  if (!holds) std::abort();  // a broken promise: libFuzzer keeps the input
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto eol = text.find('\n');
  const auto line = text.substr(0, eol);
  std::optional<cron::Zone> zone;
  if (eol != std::string_view::npos) {
    try {
      zone.emplace(text.substr(eol + 1, 64));
    } catch (const cron::InvalidCron&) {
    }
  }
  if (!zone) zone.emplace("UTC");
  cron::Expression expression;
  try {
    expression = cron::parse(line);
  } catch (const cron::InvalidCron& e) {
    check(std::string_view(e.what()).size() > 0);
    return 0;
  }
  // 2026-03-29T00:30:00Z: half an hour before Europe's spring gap, so zones' gaps are crossed.
  const auto from = sagaflow::from_millis(1774744200000);
  auto at = from;
  for (int i = 0; i < 8; ++i) {
    const auto next = cron::next_fire(expression, *zone, at);
    if (!next) break;
    check(*next > at);
    const auto local = zone->local(*next);
    // It matches in local time, or it ends a gap (a time that did not exist fires then): the
    // minute before it is not the local minute before.
    const bool after_gap =
        zone->local(*next - std::chrono::minutes(1)) != local - std::chrono::minutes(1);
    check(expression.matches(local) || after_gap);
    at = *next;
  }
  const auto now = at;
  check(!cron::latest_fire(expression, *zone, now, now));
  if (now > from) check(cron::latest_fire(expression, *zone, from, now) == now);
  return 0;
}
