#include "sagaflow/engine/schedule.hpp"

#include <cstdio>

#include "sagaflow/engine/cron.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow {

void check_schedule(const ScheduleRow& s) {
  if (s.name.empty() || s.name.size() > 128 ||
      s.name.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
          std::string::npos) {
    throw InvalidSchedule("a schedule's name is 1 to 128 letters, digits, '_', '-' or '.'");
  }
  if (s.flow.empty()) throw InvalidSchedule("schedule " + s.name + ": flow is required");
  try {
    cron::parse(s.cron);
    cron::Zone zone(s.zone);
  } catch (const cron::InvalidCron& e) {
    throw InvalidSchedule("schedule " + s.name + ": " + e.what());
  }
  if (s.overlap != "skip" && s.overlap != "allow") {
    throw InvalidSchedule("schedule " + s.name + ": overlap must be skip or allow, not '" +
                          s.overlap + "'");
  }
  boost::system::error_code ec;
  auto input = json::parse(s.input, ec);
  if (ec || !input.is_object()) {
    throw InvalidSchedule("schedule " + s.name + ": input must be a JSON object");
  }
}

std::optional<Timestamp> schedule_due(const ScheduleRow& s, Timestamp now) {
  const auto from = s.last_fire.value_or(s.deployed_at);
  return cron::latest_fire(cron::parse(s.cron), cron::Zone(s.zone), from, now);
}

std::optional<Timestamp> schedule_next_fire(const ScheduleRow& s, Timestamp now) {
  const auto expression = cron::parse(s.cron);
  const cron::Zone zone(s.zone);
  const auto from = s.last_fire.value_or(s.deployed_at);
  auto next = cron::next_fire(expression, zone, from);
  if (next && *next <= now) return now;  // missed: it fires at once
  return next;
}

std::string schedule_key(std::string_view name, Timestamp fire) {
  using namespace std::chrono;
  const auto day = floor<days>(fire);
  const year_month_day date(day);
  const hh_mm_ss time(floor<seconds>(fire - day));
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return "schedule:" + std::string(name) + ":" + text;
}

}  // namespace sagaflow
