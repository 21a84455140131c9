// Pause and resume, the bulk actions and the audit log on the production pair (a real sagaflowd
// on RabbitMQ and PostgreSQL), driven through sagactl as an operator would.
#include <doctest/doctest.h>

#include "operations.hpp"

using namespace sagaflow::testing::operations;
using sagaflow::testing::run_sagactl;

namespace {

bool has_record(const sagaflow::json::value& shown, std::string_view kind) {
  for (const auto& h : shown.at("history").as_array()) {
    if (h.at("kind") == sagaflow::json::value(std::string(kind))) return true;
  }
  return false;
}

sagaflow::json::value shown(const std::string& url, const std::string& id) {
  auto r = run_sagactl({"show", id, "--url", url, "--json"});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  return parsed(r.out);
}

}  // namespace

TEST_CASE("a paused saga holds an event that came through the broker until it is resumed") {
  Deployment d("pause");
  d.start_daemon({}, 0, {{"SAGAFLOW_FLOWS", operations_flows()}});
  const auto& url = d.url(0);
  const std::map<std::string, std::string> as_ops{{"SAGAFLOW_ACTOR", "ops-1"}};
  const auto id = start_saga(url, "signal_wait", R"({"ref": "p-1"})");
  REQUIRE(saga_once(url, id, "waiting").at("status") == "waiting");

  auto paused = run_sagactl({"pause", id, "--reason", "checking", "--url", url}, as_ops);
  REQUIRE_MESSAGE(paused.status == 0, paused.err);
  CHECK(paused.out == "saga " + id + ": paused, status paused\n");

  auto sent = run_sagactl({"send-event", "signal.given", "--payload",
                           R"({"ref": "p-1", "note": "while paused"})", "--url", url});
  REQUIRE_MESSAGE(sent.status == 0, sent.err);
  // The event is recorded (held) and the saga stays paused.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!has_record(shown(url, id), "input_held") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  auto held = shown(url, id);
  CHECK(has_record(held, "input_held"));
  CHECK(held.at("saga").at("status") == "paused");

  auto resumed = run_sagactl({"resume", id, "--url", url}, as_ops);
  REQUIRE_MESSAGE(resumed.status == 0, resumed.err);
  auto done = saga_once(url, id, "completed");
  CHECK(done.at("status") == "completed");
  CHECK(done.at("steps").at("await_signal").at("note") == "while paused");
  CHECK(run_sagactl({"resume", id, "--url", url}).status == 1);  // not paused: refused

  // The audit log in PostgreSQL names who did what.
  auto audit = run_sagactl({"audit", "--json", "--url", url});
  REQUIRE_MESSAGE(audit.status == 0, audit.err);
  const auto entries = parsed(audit.out).at("entries").as_array();
  REQUIRE(entries.size() >= 3);
  CHECK(entries[0].at("status") == 409);
  CHECK(entries[1].at("actor") == "ops-1");
  CHECK(entries[1].at("action") == sagaflow::json::value("POST /api/sagas/" + id + "/resume"));
  CHECK(entries[2].at("reason") == "checking");
}

TEST_CASE("a paused flow stores its starts and starts them when resumed, bulk actions by filter") {
  Deployment d("pause-flow");
  d.start_daemon({}, 0, {{"SAGAFLOW_FLOWS", operations_flows()}});
  const auto& url = d.url(0);
  auto paused = run_sagactl({"pause", "--flow", "signal_wait", "--url", url});
  REQUIRE_MESSAGE(paused.status == 0, paused.err);
  const auto held = start_saga(url, "signal_wait", R"({"ref": "f-1"})");
  CHECK(saga_once(url, held, "paused").at("status") == "paused");
  CHECK(has_record(shown(url, held), "saga_held"));

  auto resumed = run_sagactl({"resume", "--flow", "signal_wait", "--url", url});
  REQUIRE_MESSAGE(resumed.status == 0, resumed.err);
  CHECK(saga_once(url, held, "waiting").at("status") == "waiting");

  // Bulk: a dry run changes nothing, then the pause and the cancel take every waiting saga.
  const auto other = start_saga(url, "signal_wait", R"({"ref": "f-2"})");
  REQUIRE(saga_once(url, other, "waiting").at("status") == "waiting");
  auto dry = run_sagactl(
      {"bulk", "pause", "--flow", "signal_wait", "--status", "waiting", "--dry-run", "--url", url});
  REQUIRE_MESSAGE(dry.status == 0, dry.err);
  CHECK(dry.out.starts_with("dry run: pause would take 2 sagas\n"));
  CHECK(shown(url, other).at("saga").at("status") == "waiting");
  auto bulk = run_sagactl({"bulk", "pause", "--flow", "signal_wait", "--url", url, "--json"});
  REQUIRE_MESSAGE(bulk.status == 0, bulk.err);
  CHECK(parsed(bulk.out).at("paused").as_array().size() == 2);
  CHECK(shown(url, other).at("saga").at("status") == "paused");
  auto cancel = run_sagactl({"bulk", "cancel", "--status", "paused", "--url", url});
  REQUIRE_MESSAGE(cancel.status == 0, (cancel.out + cancel.err));
  CHECK(saga_once(url, other, "cancelled").at("status") == "cancelled");
  CHECK(saga_once(url, held, "cancelled").at("status") == "cancelled");
}
