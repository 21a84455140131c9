#pragma once
// The servers sagaflowd needs (PostgreSQL as "store", RabbitMQ as "broker"), as their adapters
// report them: one log line when one is lost or cannot be reached at start, one when it is back
// (with how long it was gone), and what /readyz says meanwhile. The embedded SQLite file and
// in-process bus are not watched: they cannot be unreachable.
//
// Threading: report() comes from the adapters' threads, readiness() from the admin endpoint's.
#include <map>
#include <string>
#include <string_view>

#include "outage_watch.hpp"
#include "sagaflow/http/admin_api.hpp"

namespace sagaflowd {

class Dependencies {
 public:
  // `where`: each watched dependency by name, with its address as the logs may show it
  // (password masked).
  explicit Dependencies(std::map<std::string, std::string> where);

  // A connection made (`up`) or an attempt failed / a connection lost (`error`).
  void report(std::string_view name, bool up, const std::string& error);

  bool all_up() const { return watch_.all_up(); }
  bool up(std::string_view name) const;
  // Why each watched dependency is not usable, and since when; "ok" ones are left empty.
  sagaflow::http::Readiness readiness() const;

 private:
  std::string reason(std::string_view name) const;

  std::map<std::string, std::string, std::less<>> where_;
  sagaflow::apps::OutageWatch watch_;
};

}  // namespace sagaflowd
