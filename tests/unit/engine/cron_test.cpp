// Cron expressions for schedules (engine/cron.hpp): the parser, the day rule, and the times in
// real zones across daylight saving changes (Europe/Berlin, America/New_York, from tzdata).
#include <doctest/doctest.h>

#include <string>

#include "sagaflow/engine/cron.hpp"

using namespace sagaflow;
using namespace std::chrono;

namespace {

Timestamp utc(year_month_day date, int hour, int minute) {
  return time_point_cast<Duration>(sys_days(date) + hours(hour) + minutes(minute));
}

std::string refusal(std::string_view text) {
  try {
    cron::parse(text);
  } catch (const cron::InvalidCron& e) {
    return e.what();
  }
  return "accepted";
}

Timestamp next(std::string_view expression, std::string_view zone, Timestamp after) {
  auto t = cron::next_fire(cron::parse(expression), cron::Zone(zone), after);
  REQUIRE(t.has_value());
  return *t;
}

}  // namespace

TEST_CASE("cron refuses what it does not support, naming the field") {
  CHECK(refusal("* * * *").find("has 5 fields") != std::string::npos);
  CHECK(refusal("0 * * * * *").find("this one has 6") != std::string::npos);
  CHECK(refusal("@daily").find("not supported") != std::string::npos);
  CHECK(refusal("60 * * * *") == "cron field 1 (minute) '60': 60 is out of range 0-59");
  CHECK(refusal("0 5-2 * * *") == "cron field 2 (hour) '5-2': the range 5-2 goes backwards");
  CHECK(refusal("*/0 * * * *").find("step 0 is out of range") != std::string::npos);
  CHECK(refusal("0 0 L * *").find("'L'") != std::string::npos);
  CHECK(refusal("0 0 * FOO *").find("'FOO' is not a number or a name such as JAN") !=
        std::string::npos);
  CHECK(refusal("0 0 1,,2 * *").find("empty list item") != std::string::npos);
  CHECK(refusal("0 0 0 * *").find("out of range 1-31") != std::string::npos);
  CHECK(refusal("0 0 * * MON#2").find("not supported") != std::string::npos);
  CHECK(refusal("").find("has 0") != std::string::npos);
}

TEST_CASE("cron reads lists, ranges, steps and names") {
  auto e = cron::parse("5/20 9-17/4 * jan,JUL MON-FRI");
  CHECK(e.minutes.count() == 3);  // 5, 25, 45
  CHECK(e.minutes[5]);
  CHECK(e.minutes[25]);
  CHECK(e.minutes[45]);
  CHECK(e.hours.count() == 3);  // 9, 13, 17
  CHECK(e.hours[13]);
  CHECK(e.months.count() == 2);
  CHECK(e.months[1]);
  CHECK(e.months[7]);
  CHECK(e.weekdays.count() == 5);
  CHECK_FALSE(e.weekdays[0]);
  CHECK(cron::parse("0 0 * * 7").weekdays[0]);  // 7 is Sunday
}

TEST_CASE("cron matches either day field when both are restricted, and both otherwise") {
  // 2026-02-13 is a Friday; 2026-02-20 a Friday; 2026-03-13 a Friday too; 2026-05-13 a Wednesday.
  const auto either = cron::parse("0 0 13 * FRI");
  CHECK(either.matches_day(2026y / 5 / 13));  // the 13th
  CHECK(either.matches_day(2026y / 2 / 20));  // a Friday
  CHECK_FALSE(either.matches_day(2026y / 2 / 19));
  // A day field that starts with * does not restrict: the other decides alone.
  const auto fridays = cron::parse("0 0 */2 * FRI");
  CHECK(fridays.matches_day(2026y / 2 / 20));
  CHECK_FALSE(fridays.matches_day(2026y / 2 / 21));
  CHECK_FALSE(fridays.matches_day(2026y / 2 / 19));
}

TEST_CASE("cron finds the next time in UTC, strictly after the instant given") {
  const auto t = utc(2026y / 1 / 1, 10, 0);
  CHECK(next("0 * * * *", "UTC", t) == utc(2026y / 1 / 1, 11, 0));
  CHECK(next("0 * * * *", "UTC", t - milliseconds(1)) == t);
  CHECK(next("0 9 * * MON", "UTC", t) == utc(2026y / 1 / 5, 9, 0));  // 2026-01-01 is a Thursday
  CHECK(next("0 0 29 2 *", "UTC", t) == utc(2028y / 2 / 29, 0, 0));
  CHECK_FALSE(cron::next_fire(cron::parse("0 0 30 2 *"), cron::Zone("UTC"), t).has_value());
}

TEST_CASE("cron in Europe/Berlin: a time in the spring gap fires once, at the gap's end") {
  // 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC; 02:30 does not exist that day.
  CHECK(next("30 2 * * *", "Europe/Berlin", utc(2026y / 3 / 28, 0, 0)) ==
        utc(2026y / 3 / 28, 1, 30));
  CHECK(next("30 2 * * *", "Europe/Berlin", utc(2026y / 3 / 28, 1, 30)) ==
        utc(2026y / 3 / 29, 1, 0));
  CHECK(next("30 2 * * *", "Europe/Berlin", utc(2026y / 3 / 29, 1, 0)) ==
        utc(2026y / 3 / 30, 0, 30));
  // Every quarter hour: 02:00, 02:15, 02:30, 02:45 all fall into the gap and fire once.
  const auto gap_end = utc(2026y / 3 / 29, 1, 0);
  CHECK(next("*/15 * * * *", "Europe/Berlin", utc(2026y / 3 / 29, 0, 45)) == gap_end);
  CHECK(next("*/15 * * * *", "Europe/Berlin", gap_end) == utc(2026y / 3 / 29, 1, 15));
}

TEST_CASE("cron in Europe/Berlin: a time the autumn repeats fires once, at its first occurrence") {
  // 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:30 occurs at 00:30 and 01:30 UTC.
  const auto first = utc(2026y / 10 / 25, 0, 30);
  CHECK(next("30 2 * * *", "Europe/Berlin", utc(2026y / 10 / 24, 12, 0)) == first);
  CHECK(next("30 2 * * *", "Europe/Berlin", first) == utc(2026y / 10 / 26, 1, 30));
  // Asked from inside the second pass, it does not fire the repeated time again.
  CHECK(next("30 2 * * *", "Europe/Berlin", utc(2026y / 10 / 25, 1, 10)) ==
        utc(2026y / 10 / 26, 1, 30));
}

TEST_CASE("cron in America/New_York: the spring gap and the autumn repeat") {
  // 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00 UTC.
  CHECK(next("0 2 * * *", "America/New_York", utc(2026y / 3 / 7, 12, 0)) ==
        utc(2026y / 3 / 8, 7, 0));
  CHECK(next("0 9 * * *", "America/New_York", utc(2026y / 3 / 8, 7, 0)) ==
        utc(2026y / 3 / 8, 13, 0));
  // 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00 UTC; 01:30 occurs at 05:30 and 06:30 UTC.
  const auto first = utc(2026y / 11 / 1, 5, 30);
  CHECK(next("30 1 * * *", "America/New_York", utc(2026y / 10 / 31, 12, 0)) == first);
  CHECK(next("30 1 * * *", "America/New_York", first) == utc(2026y / 11 / 2, 6, 30));
}

TEST_CASE("cron's latest firing in an interval is what a schedule that missed some catches up") {
  const auto e = cron::parse("0 * * * *");
  const cron::Zone zone("UTC");
  const auto from = utc(2026y / 1 / 1, 10, 0);
  CHECK(cron::latest_fire(e, zone, from, from + minutes(330)) == utc(2026y / 1 / 1, 15, 0));
  CHECK_FALSE(cron::latest_fire(e, zone, from, from + minutes(59)).has_value());
  CHECK(cron::latest_fire(e, zone, from, from + minutes(60)) == utc(2026y / 1 / 1, 11, 0));
  // Down for a year: still one answer, found quickly.
  CHECK(cron::latest_fire(cron::parse("*/5 * * * *"), zone, from,
                          from + hours(24 * 365) + minutes(7)) ==
        from + hours(24 * 365) + minutes(5));
  CHECK(cron::latest_fire(cron::parse("0 0 1 1 *"), zone, from, from + hours(24 * 800)) ==
        utc(2028y / 1 / 1, 0, 0));
}

TEST_CASE("cron refuses an unknown time zone") {
  CHECK_THROWS_AS(cron::Zone("Mars/Olympus_Mons"), cron::InvalidCron);
  CHECK(cron::Zone("Europe/Berlin").name() == "Europe/Berlin");
}
