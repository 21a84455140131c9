#pragma once
// What the operations tests share: a sagaflowd of the production pair (recovery/production.hpp)
// driven through sagactl, and the waits on a saga's status they need.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "../recovery/production.hpp"

namespace sagaflow::testing::operations {

using namespace std::chrono_literals;
using recovery::Deployment;

// The flows of tests/data/operations (signal_wait: no service, one outside event).
inline std::string operations_flows() {
  return std::string(SAGAFLOW_SOURCE_DIR) + "/tests/data/operations";
}

inline sagaflow::json::value parsed(const std::string& text) {
  boost::system::error_code ec;
  auto value = sagaflow::json::parse(text, ec);
  REQUIRE_MESSAGE(!ec, "not JSON: " << text);
  return value;
}

// The saga as `sagactl show --json` prints it, once its status is `wanted` (or after 30 s).
inline sagaflow::json::value saga_once(const std::string& url, const std::string& id,
                                       std::string_view wanted) {
  sagaflow::json::value saga;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto shown = run_sagactl({"show", id, "--url", url, "--json"});
    if (shown.status == 0) {
      saga = parsed(shown.out).at("saga");
      if (saga.at("status") == sagaflow::json::value(std::string(wanted))) break;
    }
    std::this_thread::sleep_for(50ms);
  }
  return saga;
}

// Starts a saga through sagactl; its id.
inline std::string start_saga(const std::string& url, const std::string& flow,
                              const std::string& input) {
  auto started = run_sagactl({"start", flow, "--input", input, "--url", url, "--json"});
  REQUIRE_MESSAGE(started.status == 0, started.err);
  return std::string(parsed(started.out).at("id").as_string());
}

}  // namespace sagaflow::testing::operations
