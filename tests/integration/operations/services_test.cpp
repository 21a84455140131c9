// Services you can see, on RabbitMQ and PostgreSQL: a service with a command waiting in its
// queue and no worker shows 0 consumers and the warning (GET /api/services through sagactl,
// /readyz, /metrics, the log); once its worker runs, it has a consumer and no warning.
#include <doctest/doctest.h>

#include "http_client.hpp"
#include "operations.hpp"

using namespace sagaflow::testing::operations;
using sagaflow::testing::Process;
using sagaflow::testing::run_sagactl;

namespace {

// The service's entry in `sagactl services --json`, with sagactl's exit status.
struct Seen {
  int status = -1;
  sagaflow::json::object service;
  sagaflow::json::array unserved;
};

Seen service_seen(const std::string& url, const std::string& name) {
  auto run = run_sagactl({"services", "--url", url, "--json"});
  Seen seen{run.status, {}, {}};
  if (run.status != 0 && run.status != 1) return seen;
  const auto answer = parsed(run.out);
  seen.unserved = answer.at("without_consumer").as_array();
  for (const auto& s : answer.at("services").as_array()) {
    if (s.at("service") == sagaflow::json::value(name)) seen.service = s.as_object();
  }
  return seen;
}

// Asks until `done` holds (or 30 s passed); the last answer.
template <class Done>
Seen service_once(const std::string& url, const std::string& name, Done done) {
  Seen seen;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    seen = service_seen(url, name);
    if (done(seen)) break;
    std::this_thread::sleep_for(100ms);
  }
  return seen;
}

std::string get(const std::string& url, const std::string& path) {
  std::string error;
  auto endpoint = sagactl::parse_url(url, error);
  REQUIRE_MESSAGE(endpoint, error);
  return sagactl::http_request(*endpoint, {.method = "GET", .target = path}, 5s).body;
}

}  // namespace

TEST_CASE("a service with a waiting command and no consumer is a warning until a worker comes") {
  Deployment d("services");
  d.start_daemon({}, 0, {{"SAGAFLOW_FLOWS", operations_flows()}});
  const auto& url = d.url(0);

  // users, billing and notifications: no worker runs for them.
  auto deployed = run_sagactl(
      {"deploy", std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/user_registration.yaml", "--url",
       url, "--json"});
  REQUIRE_MESSAGE(deployed.status == 0, deployed.err);
  const auto id = start_saga(
      url, "user_registration",
      R"({"user_id": "u-svc-1", "username": "u-svc-1", "email": "u-svc-1@example.test"})");

  auto unserved = service_once(url, "users", [](const Seen& s) {
    const auto* warned = s.service.if_contains("without_consumer");
    return warned != nullptr && warned->as_bool();
  });
  REQUIRE_MESSAGE(!unserved.service.empty(), "users is not listed; see " << d.dir());
  CHECK(unserved.status == 1);  // sagactl's exit status for the warning
  CHECK(unserved.service.at("consumers").to_number<std::int64_t>() == 0);
  CHECK(unserved.service.at("without_consumer") == true);
  CHECK(unserved.service.at("in_flight").to_number<std::int64_t>() +
            unserved.service.at("queued").to_number<std::int64_t>() >=
        1);
  CHECK(unserved.service.at("last_reply_at").is_null());
  CHECK(std::find(unserved.unserved.begin(), unserved.unserved.end(),
                  sagaflow::json::value("users")) != unserved.unserved.end());

  // The same warning on /readyz (still 200: the daemon serves), in the metrics and in the log,
  // as of the daemon's check every 2 s.
  std::string ready;
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    ready = get(url, "/readyz");
    metrics = get(url, "/metrics");
    if (ready.find("\"users\"") != std::string::npos &&
        metrics.find("sagaflow_service_consumers{service=\"users\"} 0") != std::string::npos &&
        d.count_logged(0, "service without consumer") >= 1) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  const auto readyz = parsed(ready);
  CHECK(readyz.at("status") == "ready");
  const auto& listed = readyz.at("services_without_consumer").as_array();
  CHECK(std::find(listed.begin(), listed.end(), sagaflow::json::value("users")) != listed.end());
  CHECK_MESSAGE(
      metrics.find("sagaflow_service_consumers{service=\"users\"} 0") != std::string::npos,
      metrics);
  CHECK_MESSAGE(metrics.find("\nsagaflow_services_without_consumer 0\n") == std::string::npos,
                metrics);
  CHECK(d.count_logged(0, "service without consumer") >= 1);

  // The worker starts: users has a consumer, its command is answered, the warning is gone.
  Process worker(
      std::vector<std::string>{std::string(SAGAFLOW_BINARY_DIR) + "/apps/sagaflow-participant",
                               "users", "--amqp", d.broker(), "--amqp-prefix", d.prefix(),
                               "--demo-data"},
      std::map<std::string, std::string>{}, (d.dir() / "users.log").string());
  auto served = service_once(url, "users", [](const Seen& s) {
    const auto* consumers = s.service.if_contains("consumers");
    const auto* replied = s.service.if_contains("last_reply_at");
    return consumers != nullptr && consumers->is_number() &&
           consumers->to_number<std::int64_t>() >= 1 && replied != nullptr && !replied->is_null();
  });
  REQUIRE_MESSAGE(!served.service.empty(), "users is not listed; see " << d.dir());
  CHECK(served.service.at("consumers").to_number<std::int64_t>() >= 1);
  CHECK(served.service.at("without_consumer") == false);
  CHECK(served.service.at("last_reply_at").is_string());
  CHECK(std::find(served.unserved.begin(), served.unserved.end(), sagaflow::json::value("users")) ==
        served.unserved.end());
  // /readyz no longer names it, as of the daemon's next check.
  for (int i = 0; i < 100 && get(url, "/readyz").find("\"users\"") != std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
  }
  CHECK(get(url, "/readyz").find("\"users\"") == std::string::npos);
  (void)id;
}
