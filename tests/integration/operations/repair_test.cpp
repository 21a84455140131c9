// `sagactl skip` and `sagactl edit` on the production pair (RabbitMQ and PostgreSQL, the points
// participant its own process): a saga parked past its pivot is repaired, and the history says
// who did it and why.
#include <doctest/doctest.h>

#include "operations.hpp"

using namespace sagaflow::testing::operations;
using sagaflow::testing::run_sagactl;

namespace {

// points_repair parks on `bonus` when its amount is 0.
std::string parked(const std::string& url, const std::string& reference) {
  const auto id = start_saga(
      url, "points_repair", R"({"user": "alice", "amount": 0, "reference": ")" + reference + "\"}");
  REQUIRE(saga_once(url, id, "failed").at("status") == "failed");
  return id;
}

sagaflow::json::object record(const std::string& url, const std::string& id,
                              std::string_view kind) {
  auto shown = run_sagactl({"show", id, "--url", url, "--json"});
  REQUIRE_MESSAGE(shown.status == 0, shown.err);
  const auto saga = parsed(shown.out);  // kept: the loop reads into it
  for (const auto& row : saga.at("history").as_array()) {
    if (row.at("kind") == sagaflow::json::value(std::string(kind))) return row.as_object();
  }
  FAIL("no history record " << kind);
  return {};
}

}  // namespace

TEST_CASE("sagactl skip and edit repair parked sagas on RabbitMQ and PostgreSQL") {
  Deployment d("repair");
  d.start_daemon({}, 0, {{"SAGAFLOW_FLOWS", operations_flows()}});
  const auto& url = d.url(0);

  // skip: an output without what `confirm` reads is refused, naming the field (exit 1).
  const auto skipped = parked(url, "ops-skip");
  auto refused = run_sagactl({"skip", skipped, "--output", "{}", "--url", url});
  CHECK(refused.status == 1);
  CHECK_MESSAGE(refused.err.find("output.credit_id: missing; the flow reads "
                                 "$steps.bonus.credit_id") != std::string::npos,
                refused.err);
  CHECK(run_sagactl({"skip", skipped, "--url", url}).status == 2);  // no --output
  CHECK(run_sagactl({"skip", "no-such-saga", "--output", "{}", "--url", url}).status == 3);

  auto done = run_sagactl({"skip", skipped, "--output", R"({"credit_id": "manual-1"})", "--actor",
                           "ops-team", "--reason", "credited by hand", "--url", url});
  REQUIRE_MESSAGE(done.status == 0, done.err);
  CHECK(done.out.find("saga " + skipped + ": step skipped, status ") == 0);
  const auto completed = saga_once(url, skipped, "completed");
  CHECK_MESSAGE(completed.at("status") == "completed", d.story(skipped));
  CHECK(completed.at("steps").at("bonus").at("credit_id") == "manual-1");
  const auto skip = record(url, skipped, "operator_skip");
  CHECK(skip.at("detail").at("actor") == "ops-team");
  CHECK(skip.at("detail").at("reason") == "credited by hand");
  // Completed: refused by its status (exit 1).
  CHECK(run_sagactl({"skip", skipped, "--output", "{}", "--url", url}).status == 1);

  // edit: a new input that breaks the contract is refused; a merge of the amount, then retry.
  const auto edited = parked(url, "ops-edit");
  CHECK(run_sagactl({"edit", edited, "--input", R"({"amount": "five"})", "--url", url}).status ==
        1);
  CHECK(run_sagactl({"edit", edited, "--input", "[5]", "--url", url}).status == 2);
  auto fixed = run_sagactl({"edit", edited, "--input", R"({"amount": 5})", "--actor", "ops-team",
                            "--reason", "amount was 0", "--url", url, "--json"});
  REQUIRE_MESSAGE(fixed.status == 0, fixed.err);
  CHECK(parsed(fixed.out).at("id") == sagaflow::json::value(edited));
  const auto retried = saga_once(url, edited, "completed");
  CHECK_MESSAGE(retried.at("status") == "completed", d.story(edited));
  CHECK(retried.at("data").at("amount") == 5);
  const auto edit = record(url, edited, "operator_edit");
  CHECK(edit.at("detail").at("actor") == "ops-team");
  CHECK(edit.at("detail").at("input_before").at("amount") == 0);
}
