#pragma once
// The daemon's JSON log lines written while a LogCapture lives (from any thread), parsed, instead
// of stderr: what a test checks of sagaflow/http/log.hpp's output.
#include <doctest/doctest.h>

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/http/log.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow::testing {

class LogCapture {
 public:
  LogCapture() {
    log::set_sink([this](std::string_view line) {
      auto parsed = json::parse(line);
      std::lock_guard lock(mutex_);
      lines_.push_back(std::move(parsed.as_object()));
    });
  }
  ~LogCapture() { log::set_sink({}); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // The lines whose "msg" is `msg` (every line when empty), in the order written.
  std::vector<json::object> lines(std::string_view msg = {}) const {
    std::lock_guard lock(mutex_);
    std::vector<json::object> found;
    for (const auto& line : lines_) {
      if (msg.empty() || line.at("msg").as_string() == msg) found.push_back(line);
    }
    return found;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<json::object> lines_;
};

// A string field of a log line.
inline std::string field(const json::object& line, std::string_view key) {
  REQUIRE_MESSAGE(line.contains(key), "no field " << key << " in " << json::serialize(line));
  return std::string(line.at(key).as_string());
}

}  // namespace sagaflow::testing
