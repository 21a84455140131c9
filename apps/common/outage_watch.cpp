#include "outage_watch.hpp"

#include <stdexcept>

namespace sagaflow::apps {

OutageWatch::OutageWatch(std::vector<std::string> names) {
  for (auto& name : names) entries_.emplace(std::move(name), Entry{});
}

namespace {

template <class Entries>
auto& find(Entries& entries, std::string_view name) {
  auto it = entries.find(name);
  if (it == entries.end()) {
    throw std::invalid_argument("outage watch: no dependency named " + std::string(name));
  }
  return it->second;
}

}  // namespace

OutageWatch::Entry& OutageWatch::entry(std::string_view name) {
  return find(entries_, name);
}

bool OutageWatch::failed(std::string_view name, std::string error, Timestamp wall,
                         MonotonicTime now) {
  std::lock_guard lock(mutex_);
  auto& e = entry(name);
  e.status.last_error = std::move(error);
  if (e.status.state == State::down) return false;
  e.status.state = State::down;
  e.status.down_since = wall;
  e.down_at = now;
  return true;
}

std::optional<Duration> OutageWatch::answered(std::string_view name, MonotonicTime now) {
  std::lock_guard lock(mutex_);
  auto& e = entry(name);
  const auto before = e.status.state;
  e.status = Status{.state = State::up};
  if (before != State::down) return std::nullopt;
  return std::chrono::duration_cast<Duration>(now - e.down_at);
}

OutageWatch::Status OutageWatch::status(std::string_view name) const {
  std::lock_guard lock(mutex_);
  return find(entries_, name).status;
}

bool OutageWatch::all_up() const {
  std::lock_guard lock(mutex_);
  for (const auto& [name, e] : entries_) {
    if (e.status.state != State::up) return false;
  }
  return true;
}

}  // namespace sagaflow::apps
