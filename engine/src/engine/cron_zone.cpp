// Cron expressions in a time zone: the only file that includes date/tz.h (Howard Hinnant's date
// library, Debian's libhowardhinnant-date-dev, on the system's tzdata: g++ 12's libstdc++ has no
// std::chrono zones yet).
#include <date/tz.h>

#include "sagaflow/engine/cron.hpp"

namespace sagaflow::cron {
namespace {

const date::time_zone& zone_of(const void* zone) {
  return *static_cast<const date::time_zone*>(zone);
}

}  // namespace

Zone::Zone(std::string_view name) : name_(name) {
  try {
    zone_ = date::locate_zone(name_);
  } catch (const std::exception&) {
    throw InvalidCron("unknown time zone '" + name_ +
                      "': give an IANA name such as UTC, Europe/Berlin or America/New_York");
  }
}

LocalMinutes Zone::local(Timestamp t) const {
  const auto local = zone_of(zone_).to_local(t);
  return LocalMinutes(std::chrono::floor<std::chrono::minutes>(local.time_since_epoch()));
}

std::optional<Timestamp> next_fire(const Expression& e, const Zone& zone, Timestamp after) {
  const auto& tz = zone_of(zone.zone_);
  auto cursor = zone.local(after);
  // Bounded: a repeated hour skips at most 60 times of the first pass, a gap at most 60.
  for (int guard = 0; guard < 4096; ++guard) {
    const auto candidate = next_local(e, cursor);
    if (!candidate) return std::nullopt;
    const date::local_seconds local{
        std::chrono::duration_cast<std::chrono::seconds>(candidate->time_since_epoch())};
    const auto info = tz.get_info(local);
    date::sys_seconds at;
    switch (info.result) {
      case date::local_info::unique:
      case date::local_info::ambiguous:  // the first occurrence; the second is not a new time
        at = date::sys_seconds{local.time_since_epoch() - info.first.offset};
        break;
      case date::local_info::nonexistent:  // in a gap: the first instant after it
        at = info.second.begin;
        break;
    }
    const auto fire = std::chrono::time_point_cast<Duration>(at);
    if (fire > after) return Timestamp(fire.time_since_epoch());
    cursor = *candidate;
  }
  return std::nullopt;
}

}  // namespace sagaflow::cron
