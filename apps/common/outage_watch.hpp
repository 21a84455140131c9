#pragma once
// What a process knows of the servers it needs (PostgreSQL, the broker): whether each answers,
// since when it does not, and the last error. Adapters report every failed attempt and every
// connection made; the watch turns those reports into the two events worth a log line, once
// each per outage: the server was lost (or could not be reached at start), and it is back, with
// how long it was gone. Pure: the caller passes the times in, wall time for "since" (shown to
// people) and monotonic time for durations (never wrong when the wall clock jumps).
//
// Threading: every member is safe from any thread (adapters report from their own threads).
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/engine/ports.hpp"

namespace sagaflow::apps {

using MonotonicTime = std::chrono::steady_clock::time_point;

class OutageWatch {
 public:
  enum class State {
    unknown,  // not tried yet
    up,
    down,
  };
  struct Status {
    State state = State::unknown;
    std::optional<Timestamp> down_since;  // the first failure of the current outage
    std::string last_error;               // of the current outage; empty when up
  };

  // The dependencies watched, by name ("store", "broker"), each unknown until reported.
  explicit OutageWatch(std::vector<std::string> names);

  // An attempt failed or a connection was lost. True when this starts an outage (the dependency
  // was up or never tried): log it. Later failures of the same outage only update the error.
  bool failed(std::string_view name, std::string error, Timestamp wall, MonotonicTime now);
  // A connection was made. How long the dependency was gone when this ends an outage (log it);
  // nullopt when it was up already or never failed.
  std::optional<Duration> answered(std::string_view name, MonotonicTime now);

  Status status(std::string_view name) const;
  bool all_up() const;

 private:
  struct Entry {
    Status status;
    MonotonicTime down_at{};
  };
  Entry& entry(std::string_view name);

  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace sagaflow::apps
