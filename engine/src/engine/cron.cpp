// Cron expressions: parsing and matching in local civil time (pure; the zones are in
// cron_zone.cpp).
#include "sagaflow/engine/cron.hpp"

#include <array>
#include <cctype>
#include <vector>

namespace sagaflow::cron {
namespace {

using namespace std::chrono;

struct FieldSpec {
  const char* name;
  int min;
  int max;
  // Three-letter names for min.. (empty: numbers only).
  std::array<std::string_view, 12> names{};
  int names_from = 0;
};

constexpr std::array<FieldSpec, 5> kFields{{
    {"minute", 0, 59},
    {"hour", 0, 23},
    {"day-of-month", 1, 31},
    {"month",
     1,
     12,
     {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"},
     1},
    // 7 is Sunday too (folded to 0 below).
    {"day-of-week", 0, 7, {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}, 0},
}};

[[noreturn]] void refuse(std::size_t field, std::string_view text, const std::string& why) {
  throw InvalidCron("cron field " + std::to_string(field + 1) + " (" + kFields[field].name + ") '" +
                    std::string(text) + "': " + why);
}

// Quartz's and others' extensions, refused by name once a token is neither a number nor a name
// (JUL holds an L).
void refuse_extension(std::size_t field, std::string_view field_text, std::string_view token) {
  if (token.find_first_of("?LW#") != std::string_view::npos) {
    refuse(field, field_text, "'?', 'L', 'W' and '#' are not supported");
  }
}

// A number or (for month and day-of-week) a name, within the field's range.
int value_of(std::size_t field, std::string_view field_text, std::string_view token) {
  const auto& spec = kFields[field];
  if (token.empty()) refuse(field, field_text, "a value is missing");
  if (std::isdigit(static_cast<unsigned char>(token[0]))) {
    int v = 0;
    for (char c : token) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        refuse_extension(field, field_text, token);
        refuse(field, field_text, "'" + std::string(token) + "' is not a number");
      }
      v = v * 10 + (c - '0');
      if (v > 1000) break;
    }
    if (v < spec.min || v > spec.max) {
      refuse(field, field_text,
             std::string(token) + " is out of range " + std::to_string(spec.min) + "-" +
                 std::to_string(spec.max));
    }
    return v;
  }
  if (token.size() == 3) {
    std::string upper;
    for (char c : token) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (std::size_t i = 0; i < spec.names.size(); ++i) {
      if (!spec.names[i].empty() && spec.names[i] == upper) {
        return static_cast<int>(i) + spec.names_from;
      }
    }
  }
  refuse_extension(field, field_text, token);
  refuse(field, field_text,
         "'" + std::string(token) + "' is not " +
             (spec.names[0].empty()
                  ? std::string("a number")
                  : std::string("a number or a name such as ") + std::string(spec.names[0])));
}

// One field into the set of values it allows (bit v for value v).
std::bitset<64> parse_field(std::size_t field, std::string_view text) {
  const auto& spec = kFields[field];
  std::bitset<64> allowed;
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const auto item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (item.empty()) refuse(field, text, "an empty list item");
    auto range = item;
    int step = 1;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      const auto step_text = item.substr(slash + 1);
      if (step_text.empty() || step_text.find_first_not_of("0123456789") != step_text.npos ||
          step_text.size() > 3) {
        refuse(field, text, "the step after '/' must be a positive number");
      }
      step = std::stoi(std::string(step_text));
      if (step < 1 || step > spec.max) {
        refuse(field, text,
               "the step " + std::string(step_text) + " is out of range 1-" +
                   std::to_string(spec.max));
      }
    }
    int low = spec.min;
    int high = spec.max;
    if (range != "*") {
      const auto dash = range.find('-');
      low = value_of(field, text, range.substr(0, dash));
      if (dash != std::string_view::npos) {
        high = value_of(field, text, range.substr(dash + 1));
        if (high < low) {
          refuse(field, text, "the range " + std::string(range) + " goes backwards");
        }
      } else if (step == 1) {
        high = low;  // a single value; `a/n` runs from a to the field's end
      }
    }
    for (int v = low; v <= high; v += step) allowed.set(static_cast<std::size_t>(v));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return allowed;
}

template <std::size_t N>
std::bitset<N> narrow(const std::bitset<64>& wide) {
  std::bitset<N> out;
  for (std::size_t i = 0; i < N; ++i) out[i] = wide[i];
  return out;
}

}  // namespace

Expression parse(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i == text.size()) break;
    const auto begin = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    fields.push_back(text.substr(begin, i - begin));
  }
  if (!fields.empty() && fields[0].starts_with('@')) {
    throw InvalidCron("cron shorthands such as " + std::string(fields[0]) +
                      " are not supported: write the five fields (e.g. '0 0 * * *' for daily)");
  }
  if (fields.size() != 5) {
    throw InvalidCron(
        "a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one "
        "has " +
        std::to_string(fields.size()));
  }
  Expression e;
  e.minutes = narrow<60>(parse_field(0, fields[0]));
  e.hours = narrow<24>(parse_field(1, fields[1]));
  e.days = narrow<32>(parse_field(2, fields[2]));
  e.months = narrow<13>(parse_field(3, fields[3]));
  auto weekdays = parse_field(4, fields[4]);
  if (weekdays[7]) weekdays.set(0);  // 7 is Sunday
  e.weekdays = narrow<7>(weekdays);
  // As in Vixie cron: a day field that starts with `*` (`*`, `*/2`) does not restrict.
  e.days_restricted = !fields[2].starts_with('*');
  e.weekdays_restricted = !fields[4].starts_with('*');
  return e;
}

bool Expression::matches_day(year_month_day date) const {
  if (!months[static_cast<unsigned>(date.month())]) return false;
  const bool by_day = days[static_cast<unsigned>(date.day())];
  const bool by_weekday = weekdays[weekday(sys_days(date)).c_encoding()];
  if (days_restricted && weekdays_restricted) return by_day || by_weekday;
  if (days_restricted) return by_day;
  if (weekdays_restricted) return by_weekday;
  return true;
}

bool Expression::matches(LocalMinutes t) const {
  // (The members minutes, hours, days hide std::chrono's names here.)
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const auto in_day = t - day;
  const auto h = std::chrono::duration_cast<std::chrono::hours>(in_day);
  const auto m = std::chrono::duration_cast<std::chrono::minutes>(in_day - h);
  return matches_day(year_month_day(sys_days(day.time_since_epoch()))) &&
         hours[static_cast<std::size_t>(h.count())] && minutes[static_cast<std::size_t>(m.count())];
}

std::optional<LocalMinutes> next_local(const Expression& e, LocalMinutes after) {
  constexpr int kSearchDays = 8 * 366;  // a leap day on a given weekday comes back within 28 y,
                                        // but an expression that matches at all does within 8
  const auto first = after + minutes(1);
  auto day = floor<days>(first);
  auto from = first - day;  // the first minute of the day to look at
  for (int n = 0; n < kSearchDays; ++n, ++day, from = minutes(0)) {
    if (!e.matches_day(year_month_day(sys_days(day.time_since_epoch())))) continue;
    for (auto h = duration_cast<hours>(from).count(); h < 24; ++h) {
      if (!e.hours[static_cast<std::size_t>(h)]) continue;
      const auto m0 = h == duration_cast<hours>(from).count() ? (from - hours(h)).count() : 0;
      for (auto m = m0; m < 60; ++m) {
        if (e.minutes[static_cast<std::size_t>(m)]) return day + hours(h) + minutes(m);
      }
    }
  }
  return std::nullopt;
}

std::optional<Timestamp> latest_fire(const Expression& e, const Zone& zone, Timestamp after,
                                     Timestamp now) {
  if (now <= after) return std::nullopt;
  // Look back over growing windows: the first that holds a firing is walked forward, so the
  // walk is short whatever the schedule (every minute, or once a year) and however long it
  // missed.
  static constexpr std::array<Duration, 6> kWindows{
      Duration(minutes(1)),     Duration(hours(1)),        Duration(hours(24)),
      Duration(hours(24 * 32)), Duration(hours(24 * 367)), Duration(hours(24 * 366 * 9))};
  for (const auto window : kWindows) {
    const auto from = std::max(after, now - window);
    auto t = next_fire(e, zone, from);
    if (!t || *t > now) {
      if (from == after) return std::nullopt;
      continue;
    }
    auto latest = *t;
    while (auto next = next_fire(e, zone, latest)) {
      if (*next > now) break;
      latest = *next;
    }
    return latest;
  }
  return std::nullopt;
}

}  // namespace sagaflow::cron
