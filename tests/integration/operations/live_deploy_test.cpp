// A flow deployed while sagaflowd runs on RabbitMQ, commanding services the daemon had never
// heard of: their queues are declared at the deploy, which warns that nothing consumes them;
// sagas started then wait in the queues, and complete once the workers start.
#include <doctest/doctest.h>

#include <set>

#include "operations.hpp"

using namespace sagaflow::testing::operations;
using sagaflow::testing::Process;
using sagaflow::testing::run_sagactl;

TEST_CASE("a flow with new services deployed at run time runs once its workers start") {
  Deployment d("live-deploy");
  d.start_daemon({}, 0, {{"SAGAFLOW_FLOWS", operations_flows()}});
  const auto& url = d.url(0);

  // users, billing and notifications: no flow of the daemon commands them, no worker runs.
  const auto flow = std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/user_registration.yaml";
  auto deployed = run_sagactl({"deploy", flow, "--url", url, "--json"});
  REQUIRE_MESSAGE(deployed.status == 0, deployed.err);
  std::set<std::string> warned;
  const auto answer = parsed(deployed.out);
  for (const auto& w : answer.at("warnings").as_array()) {
    warned.insert(std::string(w.at("service").as_string()));
  }
  CHECK(warned == std::set<std::string>{"billing", "notifications", "users"});
  CHECK(d.count_logged(0, "flow deploy warning") == 3);
  CHECK_MESSAGE(
      deployed.err.find("sagactl deploy: warning: flow user_registration sends commands "
                        "to service users, which no flow used before") != std::string::npos,
      deployed.err);

  std::vector<std::string> ids;
  for (const char* user : {"u-live-1", "u-live-2"}) {
    ids.push_back(start_saga(url, "user_registration",
                             std::string(R"({"user_id": ")") + user + R"(", "username": ")" + user +
                                 R"(", "email": ")" + user + R"(@example.test"})"));
  }
  // The workers come after the sagas: the commands waited in the queues declared at the deploy.
  std::vector<std::unique_ptr<Process>> workers;
  for (const char* service : {"users", "billing", "notifications"}) {
    workers.push_back(std::make_unique<Process>(
        std::vector<std::string>{std::string(SAGAFLOW_BINARY_DIR) + "/apps/sagaflow-participant",
                                 service, "--amqp", d.broker(), "--amqp-prefix", d.prefix(),
                                 "--demo-data"},
        std::map<std::string, std::string>{}, (d.dir() / "workers.log").string()));
  }
  for (const auto& id : ids) {
    CHECK_MESSAGE(saga_once(url, id, "completed").at("status") == "completed", d.story(id));
  }

  // offers and points are new to this daemon too, but their workers run (the Deployment's):
  // their queues have consumers, so no warning.
  auto served =
      run_sagactl({"deploy", std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/offer_purchase.yaml",
                   "--url", url, "--json"});
  REQUIRE_MESSAGE(served.status == 0, served.err);
  CHECK(parsed(served.out).at("warnings").as_array().empty());
  CHECK(d.count_logged(0, "flow deploy warning") == 3);
}
