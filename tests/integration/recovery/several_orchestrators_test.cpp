// Several orchestrators on one PostgreSQL and one RabbitMQ: three sagaflowd processes share the
// partitions through leases; one is killed with SIGKILL mid-run and the other two take its
// partitions over within seconds, finishing every saga, each effect applied once.
#include <doctest/doctest.h>

#include "production.hpp"

using namespace std::chrono_literals;
using sagaflow::testing::recovery::Deployment;

TEST_CASE("three orchestrators share the sagas, when one is killed the others finish its sagas") {
  Deployment d("three", 3);
  const std::map<std::string, std::string> shared{{"SAGAFLOW_PARTITIONS", "8"},
                                                  {"SAGAFLOW_LEASE_TTL_MS", "2000"}};
  for (int i = 0; i < 3; ++i) {
    auto settings = shared;
    settings["SAGAFLOW_OWNER"] = "orchestrator-" + std::to_string(i);
    d.start_daemon({}, i, settings);
  }
  // Every process gets its fair share (8 over 3: at most 3 each) within a few heartbeats.
  // The third one may be seen with its first partition before the first gave its extra one up:
  // the shares settle at the next heartbeats.
  std::map<std::string, int> leases;
  const auto fair = [&] {
    if (leases.size() < 3) return false;
    for (const auto& [owner, count] : leases) {
      if (count > 3) return false;
    }
    return true;
  };
  for (int i = 0; i < 100 && !fair(); ++i) {
    leases = d.leases_by_owner();
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(leases.size() == 3);
  for (const auto& [owner, count] : leases) CHECK_MESSAGE(count <= 3, owner << " holds " << count);

  // Sagas started through all three; a start lands in a partition of the process it reached.
  std::vector<std::string> keys;
  auto start = [&](int i, int from) {
    const auto key = "three-" + std::to_string(i);
    keys.push_back(key);
    const sagaflow::json::object input{{"user_id", "carol"}, {"offer_id", "spa"}, {"price", 10}};
    for (int attempt = 0; attempt < 40; ++attempt) {
      for (int k = 0; k < 3; ++k) {
        if (d.try_start((from + k) % 3, "offer_purchase", key, input)) return;
      }
      std::this_thread::sleep_for(250ms);  // none owned a partition at that moment
    }
    FAIL("saga " << key << " could not be started");
  };
  for (int i = 0; i < 18; ++i) start(i, i % 3);

  // One is killed while its sagas run; its partitions expire and the others take them over.
  d.kill_daemon(1);
  const auto killed_at = std::chrono::steady_clock::now();
  for (int i = 18; i < 30; ++i) start(i, (i % 2) * 2);  // through the two that live
  for (int i = 0; i < 150; ++i) {
    leases = d.leases_by_owner();
    if (!leases.contains("orchestrator-1") &&
        leases["orchestrator-0"] + leases["orchestrator-2"] == 8) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  const auto took = std::chrono::steady_clock::now() - killed_at;
  CHECK_FALSE(leases.contains("orchestrator-1"));
  CHECK(leases["orchestrator-0"] + leases["orchestrator-2"] == 8);
  MESSAGE("the survivors held every partition "
          << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
          << " ms after the kill");
  CHECK(took < 10s);
  // Each survivor logged a line per partition it took, the killed one's included: with the fair
  // shares before (at most 3 each) they account for all 8 partitions, plus the ones moved. A
  // line is written just after its lease is committed, so the last may follow the table.
  const auto net_gained = [&] {
    return d.count_logged(0, "lease gained") + d.count_logged(2, "lease gained") -
           d.count_logged(0, "lease lost") - d.count_logged(2, "lease lost");
  };
  for (int i = 0; i < 50 && net_gained() != 8; ++i) std::this_thread::sleep_for(100ms);
  CHECK(net_gained() == 8);
  CHECK(d.count_logged(1, "lease gained") >= 1);  // the killed one had its share too

  auto sagas = d.final_sagas(keys, 90s);
  for (const auto& key : keys) {
    REQUIRE_MESSAGE(sagas.contains(key), "saga " << key << " did not finish");
    CHECK_MESSAGE(sagas[key].status == "completed",
                  key << " ended " << sagas[key].status << d.story(sagas[key].id));
  }
  auto applied = d.stop_participants();
  CHECK(applied["offers"].first == 30 * 2);  // create and fulfil
  CHECK(applied["points"].first == 30 * 2);  // reserve and debit
  CHECK(applied["offers"].second == 0);
  CHECK(applied["points"].second == 0);
}
