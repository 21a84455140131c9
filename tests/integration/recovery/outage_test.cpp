// sagaflowd and its participants started while RabbitMQ or PostgreSQL is down, as an operator
// meets it: the processes start anyway, /healthz answers, /readyz says which server is missing,
// since when and why (never a password), SIGTERM stops them at once with exit status 0, and as
// soon as the server comes they serve and every saga runs to its end. Each outage is logged
// once when it starts and once when it ends, with how long it lasted.
#include <doctest/doctest.h>

#include <signal.h>

#include "http_client.hpp"
#include "production.hpp"
#include "support/own_broker.hpp"

using namespace std::chrono_literals;
using sagaflow::testing::OwnBroker;
using sagaflow::testing::recovery::Deployment;

namespace {

// Offsets from the shared servers' ports for the servers these tests stop; other test programs
// use +1 (PostgreSQL) and +5 (RabbitMQ).
constexpr int kBrokerOffset = 10;
constexpr int kPostgresOffset = 2;

// One GET to the admin endpoint; status 0 when nothing answers.
sagactl::HttpResponse get(const std::string& url, const std::string& path) {
  std::string error;
  auto endpoint = sagactl::parse_url(url, error);
  REQUIRE_MESSAGE(endpoint, error);
  try {
    return sagactl::http_request(*endpoint, {.target = path}, 2s);
  } catch (const sagactl::HttpError&) {
    return {};
  }
}

// Polls `path` until its status is `status`; returns the last answer.
sagactl::HttpResponse await_status(const std::string& url, const std::string& path, int status,
                                   std::chrono::seconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  auto response = get(url, path);
  while (response.status != status && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    response = get(url, path);
  }
  return response;
}

std::string text(const sagaflow::json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : sagaflow::json::serialize(v);
}

// /readyz's error details {"store", "broker", "since": {...}} once `dependency` has failed (not
// merely "not connected yet").
sagaflow::json::object not_ready_details(const Deployment& d, const std::string& dependency) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (true) {
    auto ready = await_status(d.url(0), "/readyz", 503, 30s);
    REQUIRE_MESSAGE(ready.status == 503, "/readyz answered " << ready.status << ": " << ready.body);
    auto details = sagaflow::json::parse(ready.body).at("error").at("details").as_object();
    const auto reason = text(details.at(dependency));
    if (reason != "ok" && reason != "not connected yet") return details;
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                    dependency << " never failed: " << ready.body);
    std::this_thread::sleep_for(100ms);
  }
}

// Starts offer_purchase sagas that should complete, then checks that each did.
void run_sagas(Deployment& d, const std::string& prefix, int count) {
  std::vector<std::string> keys;
  for (int i = 0; i < count; ++i) {
    keys.push_back(prefix + "-" + std::to_string(i));
    REQUIRE(d.try_start(0, "offer_purchase", keys.back(),
                        {{"user_id", "carol"}, {"offer_id", "spa"}, {"price", 10}}));
  }
  auto sagas = d.final_sagas(keys, 60s);
  for (const auto& key : keys) {
    REQUIRE_MESSAGE(sagas.contains(key), "saga " << key << " did not finish");
    CHECK_MESSAGE(sagas[key].status == "completed",
                  key << " ended " << sagas[key].status << d.story(sagas[key].id));
  }
}

// The down_ms of each "<dependency> back" line.
std::vector<std::int64_t> outage_lengths(const Deployment& d, const std::string& msg) {
  std::vector<std::int64_t> out;
  for (const auto& line : d.log_lines(0)) {
    if (text(line.at("msg")) == msg) out.push_back(line.at("down_ms").as_int64());
  }
  return out;
}

// SIGTERM while the daemon waits for a server: it ends at once, with status 0.
void check_stops_at_once(Deployment& d) {
  const auto sent = std::chrono::steady_clock::now();
  d.daemon(0).signal(SIGTERM);
  CHECK(d.daemon(0).wait_for_end(5s) == 0);
  const auto took = std::chrono::steady_clock::now() - sent;
  CHECK_MESSAGE(
      took < 3s,
      "SIGTERM took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms");
  CHECK(d.daemon(0).exit_code() == 0);
}

}  // namespace

TEST_CASE("sagaflowd and its participants started while the broker is down serve once it comes") {
  OwnBroker broker(kBrokerOffset, /*running=*/false);
  Deployment d("no-broker", 1, broker.url());  // the participants start without it too
  const auto launched = std::chrono::steady_clock::now();
  d.launch_daemon();

  auto details = not_ready_details(d, "broker");
  CHECK(text(details.at("store")) == "ok");
  const auto reason = text(details.at("broker"));
  CHECK_MESSAGE(reason.find("cannot connect to amqp://guest:****@127.0.0.1:") != std::string::npos,
                reason);
  CHECK(details.at("since").as_object().contains("broker"));
  CHECK(get(d.url(0), "/healthz").status == 200);
  CHECK(get(d.url(0), "/api/sagas").status == 503);  // nothing is served yet

  // It used to give up after 30 s: it waits as long as it takes.
  std::this_thread::sleep_until(launched + 35s);
  REQUIRE(d.daemon(0).running());
  CHECK(await_status(d.url(0), "/readyz", 503, 1s).status == 503);
  CHECK(d.count_logged(0, "broker unreachable") == 1);
  for (const auto& line : d.log_lines(0)) {
    CHECK_MESSAGE(sagaflow::json::serialize(line).find("guest:guest") == std::string::npos,
                  "a password in the log: " << sagaflow::json::serialize(line));
  }

  broker.start();
  d.wait_until_serving(0, 60s);
  CHECK(await_status(d.url(0), "/readyz", 200, 10s).status == 200);
  run_sagas(d, "after-start", 6);
  auto back = outage_lengths(d, "broker back");
  REQUIRE(back.size() == 1);
  CHECK(back[0] >= 30000);

  // Lost while running, then back: one more line each.
  broker.stop();
  CHECK(not_ready_details(d, "broker").at("since").as_object().contains("broker"));
  broker.start();
  CHECK(await_status(d.url(0), "/readyz", 200, 60s).status == 200);
  run_sagas(d, "after-outage", 6);
  CHECK(d.count_logged(0, "broker unreachable") == 2);
  CHECK(outage_lengths(d, "broker back").size() == 2);

  auto applied = d.stop_participants();
  CHECK(applied["offers"].first == 12 * 2);
  CHECK(applied["points"].first == 12 * 2);
  CHECK(applied["offers"].second == 0);
  CHECK(applied["points"].second == 0);

  // SIGTERM while it runs: a clean stop.
  d.daemon(0).signal(SIGTERM);
  CHECK(d.daemon(0).wait_for_end(10s) == 0);
  CHECK(d.daemon(0).exit_code() == 0);
}

TEST_CASE("sagaflowd started while PostgreSQL is down serves once it comes") {
  sagaflow::postgres::testing::PrivateServer server(kPostgresOffset, "outage");
  Deployment d("no-postgres", 1, {}, server.dsn());
  server.stop();
  d.launch_daemon();

  auto details = not_ready_details(d, "store");
  const auto reason = text(details.at("store"));
  CHECK_MESSAGE(reason.find("postgres") != std::string::npos, reason);
  CHECK(details.at("since").as_object().contains("store"));
  CHECK(get(d.url(0), "/healthz").status == 200);
  std::this_thread::sleep_for(3s);  // several attempts, one line
  CHECK(d.count_logged(0, "store unreachable") == 1);

  server.start();
  d.wait_until_serving(0, 60s);
  CHECK(await_status(d.url(0), "/readyz", 200, 10s).status == 200);
  run_sagas(d, "after-postgres", 6);
  CHECK(outage_lengths(d, "store back").size() == 1);
  CHECK(d.count_logged(0, "store unreachable") == 1);
}

TEST_CASE("SIGTERM stops sagaflowd at once while it waits for the broker") {
  const auto nobody =
      "amqp://guest:secret@127.0.0.1:" + std::to_string(sagaflow::testing::free_port()) + "/";
  Deployment d("sigterm-broker", 1, nobody);
  d.launch_daemon();
  auto details = not_ready_details(d, "broker");
  CHECK(sagaflow::json::serialize(details).find("secret") == std::string::npos);
  check_stops_at_once(d);
}

TEST_CASE("SIGTERM stops sagaflowd at once while it waits for PostgreSQL") {
  Deployment d("sigterm-postgres");
  const auto nobody = "host=127.0.0.1 port=" + std::to_string(sagaflow::testing::free_port()) +
                      " dbname=sagaflow user=sagaflow password=secret connect_timeout=5";
  d.launch_daemon({}, 0, {{"SAGAFLOW_PG_DSN", nobody}});
  auto details = not_ready_details(d, "store");
  CHECK(text(details.at("broker")) == "not connected yet");  // tried once the store answers
  CHECK(sagaflow::json::serialize(details).find("secret") == std::string::npos);
  check_stops_at_once(d);
  for (const auto& line : d.log_lines(0)) {
    CHECK(sagaflow::json::serialize(line).find("secret") == std::string::npos);
  }
}
