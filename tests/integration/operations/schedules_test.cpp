// Delayed starts and schedules on the production pair (sagaflowd on RabbitMQ and PostgreSQL),
// driven through sagactl: a delayed start survives sagaflowd killed (SIGKILL) and starts once at
// its time; a schedule on two orchestrators sharing the partitions starts each time once.
#include <doctest/doctest.h>

#include <ctime>
#include <set>

#include "operations.hpp"

using namespace sagaflow::testing::operations;
using sagaflow::testing::run_sagactl;

namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

int count_records(const sagaflow::json::value& shown, std::string_view kind) {
  int n = 0;
  for (const auto& h : shown.at("history").as_array()) {
    if (h.at("kind") == sagaflow::json::value(std::string(kind))) ++n;
  }
  return n;
}

std::string record_time(const sagaflow::json::value& shown, std::string_view kind) {
  for (const auto& h : shown.at("history").as_array()) {
    if (h.at("kind") == sagaflow::json::value(std::string(kind))) {
      return std::string(h.at("at").as_string());
    }
  }
  return {};
}

}  // namespace

TEST_CASE("a delayed start survives sagaflowd killed and starts once, at its time") {
  Deployment d("start-at");
  d.start_daemon({}, 0, {{"SAGAFLOW_FLOWS", operations_flows()}});
  const auto& url = d.url(0);
  const auto start_at = rfc3339(std::chrono::system_clock::now() + 6s);
  auto started = run_sagactl({"start", "signal_wait", "--input", R"({"ref": "later-1"})",
                              "--start-at", start_at, "--url", url, "--json"});
  REQUIRE_MESSAGE(started.status == 0, started.err);
  const auto body = parsed(started.out);
  CHECK(body.at("status") == "pending");
  const std::string id(body.at("id").as_string());

  d.kill_daemon(0);  // the timer is a row in PostgreSQL: nothing of it lived only in memory
  d.start_daemon({}, 0, {{"SAGAFLOW_FLOWS", operations_flows()}});
  auto saga = saga_once(url, id, "waiting");
  REQUIRE(saga.at("status") == "waiting");
  auto shown = run_sagactl({"show", id, "--url", url, "--json"});
  REQUIRE_MESSAGE(shown.status == 0, shown.err);
  const auto story = parsed(shown.out);
  CHECK(count_records(story, "saga_scheduled") == 1);
  CHECK(count_records(story, "saga_started") == 1);
  // Not before its time (the history's times carry milliseconds: compare the seconds).
  CHECK(record_time(story, "saga_started").substr(0, 19) >= start_at.substr(0, 19));
  CHECK(story.at("saga").at("start_at").as_string().subview().substr(0, 19) ==
        start_at.substr(0, 19));
}

TEST_CASE("a schedule on two orchestrators starts each of its times once") {
  Deployment d("schedules", 2);
  const std::map<std::string, std::string> shared{{"SAGAFLOW_PARTITIONS", "8"},
                                                  {"SAGAFLOW_LEASE_TTL_MS", "2000"},
                                                  {"SAGAFLOW_FLOWS", operations_flows()}};
  for (int i = 0; i < 2; ++i) {
    auto settings = shared;
    settings["SAGAFLOW_OWNER"] = "orchestrator-" + std::to_string(i);
    d.start_daemon({}, i, settings);
  }
  // Every minute, overlap allow: each firing starts a saga that waits for its event.
  auto deployed = run_sagactl({"schedules", "deploy", "minutely", "--flow", "signal_wait", "--cron",
                               "* * * * *", "--overlap", "allow", "--input",
                               R"({"ref": "from-schedule"})", "--url", d.url(0), "--json"});
  REQUIRE_MESSAGE(deployed.status == 0, deployed.err);
  CHECK(parsed(deployed.out).at("schedule").at("next_fire").is_string());
  // Refused deploys name what is wrong, through either orchestrator.
  auto bad = run_sagactl({"schedules", "deploy", "broken", "--flow", "signal_wait", "--cron",
                          "61 * * * *", "--url", d.url(1)});
  CHECK(bad.status == 1);
  CHECK(bad.err.find("cron field 1 (minute) '61'") != std::string::npos);
  CHECK(run_sagactl({"schedules", "deploy", "ghost", "--flow", "nope", "--cron", "* * * * *",
                     "--url", d.url(1)})
            .status == 3);

  // Two firings (within about two minutes), each started once, whichever orchestrator owns it.
  std::vector<sagaflow::json::value> sagas;
  const auto deadline = std::chrono::steady_clock::now() + 150s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto listed = run_sagactl({"list", "--flow", "signal_wait", "--url", d.url(1), "--json"});
    REQUIRE_MESSAGE(listed.status == 0, listed.err);
    const auto all = parsed(listed.out).at("sagas").as_array();
    sagas.assign(all.begin(), all.end());
    if (sagas.size() >= 2) break;
    std::this_thread::sleep_for(500ms);
  }
  REQUIRE(sagas.size() >= 2);
  std::set<std::string> keys;
  for (const auto& s : sagas) {
    const std::string key(s.at("key").as_string());
    CHECK(key.starts_with("schedule:minutely:"));
    CHECK(key.ends_with(":00Z"));  // a whole minute
    keys.insert(key);
  }
  CHECK(keys.size() == sagas.size());  // no time started twice

  auto listed = run_sagactl({"schedules", "--url", d.url(1)});
  REQUIRE_MESSAGE(listed.status == 0, listed.err);
  CHECK(listed.out.find("minutely") != std::string::npos);
  CHECK(listed.out.find("started") != std::string::npos);
  auto paused = run_sagactl({"schedules", "pause", "minutely", "--url", d.url(1), "--json"});
  REQUIRE_MESSAGE(paused.status == 0, paused.err);
  CHECK(parsed(paused.out).at("schedule").at("paused") == true);
  auto deleted = run_sagactl({"schedules", "delete", "minutely", "--url", d.url(0)});
  REQUIRE_MESSAGE(deleted.status == 0, deleted.err);
  CHECK(deleted.out == "schedule minutely: deleted\n");
  CHECK(run_sagactl({"schedules", "show", "minutely", "--url", d.url(1)}).status == 3);
}
