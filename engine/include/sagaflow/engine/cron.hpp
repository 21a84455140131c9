#pragma once
// Cron expressions for schedules (docs/schedules.md): five fields, minute hour day-of-month month
// day-of-week, each `*`, a number, a name (JAN..DEC, SUN..SAT), a range `a-b`, a step `*/n` or
// `a-b/n` or `a/n`, or a comma-separated list of those. Day of week 0 and 7 are Sunday. When
// both day fields are restricted (neither is `*`), a day matches when either does (the usual
// cron rule). Anything else (six fields, `@daily`, `L`, `W`, `#`, `?`) is refused with a message
// that names the field.
//
// Pure: parsing and matching work in local civil time (no zone). next_fire() turns a schedule's
// local times into instants in an IANA time zone (engine/src/engine/cron_zone.cpp, the only file
// that reads the system's tzdata), with a rule for the hours that daylight saving time skips or
// repeats: a local time that does not exist fires at the first instant after the gap (once, even
// when several of its times fall into the gap); a local time that occurs twice fires once, at
// its first occurrence.
#include <bitset>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sagaflow/engine/ports.hpp"

namespace sagaflow::cron {

class InvalidCron : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

using LocalMinutes = std::chrono::local_time<std::chrono::minutes>;

struct Expression {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;              // 1..31
  std::bitset<13> months;            // 1..12
  std::bitset<7> weekdays;           // 0 = Sunday
  bool days_restricted = false;      // the day-of-month field is not `*`
  bool weekdays_restricted = false;  // the day-of-week field is not `*`

  bool matches_day(std::chrono::year_month_day date) const;
  bool matches(LocalMinutes t) const;
};

// Throws InvalidCron, the message naming the field and what is wrong with it.
Expression parse(std::string_view text);

// The first local minute strictly after `after` that the expression matches; none within eight
// years (an expression that never matches, e.g. `0 0 30 2 *`).
std::optional<LocalMinutes> next_local(const Expression& expression, LocalMinutes after);

// An IANA time zone from the system's tzdata. Throws InvalidCron for an unknown name.
class Zone {
 public:
  explicit Zone(std::string_view name);
  const std::string& name() const { return name_; }
  // The local civil time of an instant, cut to the minute.
  LocalMinutes local(Timestamp t) const;

 private:
  friend std::optional<Timestamp> next_fire(const Expression&, const Zone&, Timestamp);
  std::string name_;
  const void* zone_ = nullptr;  // date::time_zone, kept out of this header
};

// The first instant strictly after `after` at which the schedule fires in `zone`, with the
// daylight saving rule above; none when the expression never matches.
std::optional<Timestamp> next_fire(const Expression& expression, const Zone& zone, Timestamp after);

// The latest instant in (after, now] at which the schedule fires (what a schedule that missed
// firings catches up with, once); none when it does not fire in that interval.
std::optional<Timestamp> latest_fire(const Expression& expression, const Zone& zone,
                                     Timestamp after, Timestamp now);

}  // namespace sagaflow::cron
