// `sagactl send-event` against a real sagaflowd on RabbitMQ and PostgreSQL: the event goes
// through the broker's events exchange, as a participant's would, to the saga waiting for it.
#include <doctest/doctest.h>

#include "operations.hpp"

using namespace sagaflow::testing::operations;
using sagaflow::testing::run_sagactl;

TEST_CASE("sagactl send-event reaches a saga waiting on RabbitMQ and PostgreSQL") {
  Deployment d("send-event");
  d.start_daemon({}, 0, {{"SAGAFLOW_FLOWS", operations_flows()}});
  const auto& url = d.url(0);
  const auto id = start_saga(url, "signal_wait", R"({"ref": "r-1"})");
  REQUIRE(saga_once(url, id, "waiting").at("status") == "waiting");

  auto sent =
      run_sagactl({"send-event", "signal.given", "--payload", R"({"ref": "r-1", "note": "hello"})",
                   "--id", "signal.given/r-1", "--url", url});
  REQUIRE_MESSAGE(sent.status == 0, sent.err);
  CHECK(sent.out == "event signal.given sent, message id signal.given/r-1\n");
  const auto saga = saga_once(url, id, "completed");
  CHECK(saga.at("status") == "completed");
  CHECK(saga.at("steps").at("await_signal").at("note") == "hello");

  // With --json: the server's answer as it came.
  auto again = run_sagactl({"send-event", "signal.given", "--payload", R"({"ref": "nobody-waits"})",
                            "--url", url, "--json"});
  REQUIRE_MESSAGE(again.status == 0, again.err);
  CHECK(parsed(again.out).at("type") == "signal.given");

  // A type no queue is bound to comes back from the broker: refused, exit 1.
  auto nobody = run_sagactl({"send-event", "nobody.listens", "--url", url});
  CHECK(nobody.status == 1);
  CHECK_MESSAGE(nobody.err.find("no one listens to event type nobody.listens") != std::string::npos,
                nobody.err);
  // A payload that is not an object never leaves sagactl.
  CHECK(run_sagactl({"send-event", "signal.given", "--payload", "[1]", "--url", url}).status == 2);
}
