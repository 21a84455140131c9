#include "dependencies.hpp"

#include <chrono>
#include <vector>

#include "sagaflow/http/log.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagaflowd {
namespace {

namespace log = sagaflow::log;

std::vector<std::string> names_of(const std::map<std::string, std::string>& where) {
  std::vector<std::string> names;
  for (const auto& [name, address] : where) names.push_back(name);
  return names;
}

sagaflow::Timestamp wall_now() {
  return std::chrono::time_point_cast<sagaflow::Duration>(std::chrono::system_clock::now());
}

}  // namespace

Dependencies::Dependencies(std::map<std::string, std::string> where)
    : where_(where.begin(), where.end()), watch_(names_of(where)) {}

void Dependencies::report(std::string_view name, bool up, const std::string& error) {
  const auto at = where_.find(name);
  if (at == where_.end()) return;
  const auto now = std::chrono::steady_clock::now();
  if (up) {
    if (auto gone = watch_.answered(name, now)) {
      log::info(std::string(name) + " back",
                {{"dependency", name}, {"at", at->second}, {"down_ms", gone->count()}});
    }
    return;
  }
  // Server text may carry anything: escaped before it reaches a log or an answer.
  auto text = sagaflow::text::printable(error);
  if (watch_.failed(name, text, wall_now(), now)) {
    log::warn(std::string(name) + " unreachable",
              {{"dependency", name}, {"at", at->second}, {"error", text}});
  } else {
    log::debug(std::string(name) + " still unreachable", {{"dependency", name}, {"error", text}});
  }
}

bool Dependencies::up(std::string_view name) const {
  if (!where_.contains(name)) return true;
  return watch_.status(name).state == sagaflow::apps::OutageWatch::State::up;
}

std::string Dependencies::reason(std::string_view name) const {
  if (!where_.contains(name)) return {};
  const auto status = watch_.status(name);
  switch (status.state) {
    case sagaflow::apps::OutageWatch::State::up:
      return {};
    case sagaflow::apps::OutageWatch::State::unknown:
      return "not connected yet";
    case sagaflow::apps::OutageWatch::State::down:
      return status.last_error.empty() ? "unreachable" : status.last_error;
  }
  return {};
}

sagaflow::http::Readiness Dependencies::readiness() const {
  sagaflow::http::Readiness r;
  r.store = reason("store");
  r.broker = reason("broker");
  if (where_.contains("store")) r.store_down_since = watch_.status("store").down_since;
  if (where_.contains("broker")) r.broker_down_since = watch_.status("broker").down_since;
  return r;
}

}  // namespace sagaflowd
