// Crash recovery of the production pair: sagaflowd on PostgreSQL and RabbitMQ, killed with
// SIGKILL at each named point of a round (SAGAFLOW_FAULT_AT), then started again. Every saga
// must finish as its input says, every start keeps its one saga (idempotency key), and the
// participants, separate processes that live through the crash, apply each effect at most once.
#include <doctest/doctest.h>

#include "production.hpp"

using namespace std::chrono_literals;
using sagaflow::testing::recovery::Deployment;

namespace {

// carol can afford every purchase; bob (100 points) none of the 400-point ones, so those
// compensate: the compensation rounds are where mid_compensation strikes.
void drill(const std::string& point, const std::string& queue_type = "quorum") {
  Deployment d(point + (queue_type == "quorum" ? "" : "-" + queue_type), 1, {}, {}, queue_type);
  // The third pass, so that sagas are in flight when it strikes; compensations are fewer.
  d.start_daemon(point + (point == "mid_compensation" ? ":1" : ":3"));
  std::vector<std::string> keys;
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 12; ++i) {
    const bool affordable = i % 3 != 2;
    const auto key = point + "-" + std::to_string(i);
    keys.push_back(key);
    expected[key] = affordable ? "completed" : "compensated";
    d.start_saga(
        key, affordable
                 ? sagaflow::json::object{{"user_id", "carol"}, {"offer_id", "spa"}, {"price", 10}}
                 : sagaflow::json::object{{"user_id", "bob"}, {"offer_id", "spa"}, {"price", 400}});
  }
  d.restart_after_crash(10s);
  CHECK_MESSAGE(d.crashes() == 1, "the fault point " << point << " was not reached");

  auto sagas = d.final_sagas(keys, 90s);
  for (const auto& key : keys) {
    REQUIRE_MESSAGE(sagas.contains(key), "saga " << key << " did not finish");
    CHECK_MESSAGE(sagas[key].status == expected[key],
                  key << " ended " << sagas[key].status << d.story(sagas[key].id));
  }
  // 8 purchases: create and fulfil each (offers), reserve and debit each (points); 4 refused:
  // create and cancel (offers), nothing applied by points.
  auto applied = d.stop_participants();
  CHECK(applied["offers"].first == 8 * 2 + 4 * 2);
  CHECK(applied["points"].first == 8 * 2);
  CHECK(applied["offers"].second == 0);
  CHECK(applied["points"].second == 0);
}

}  // namespace

TEST_CASE("sagaflowd killed before a commit: every saga finishes, each effect once") {
  drill("before_commit");
}
TEST_CASE("sagaflowd killed after a commit, before publishing: every saga finishes, each once") {
  drill("after_commit");
}
TEST_CASE("sagaflowd killed after publishing, before acking: every saga finishes, each once") {
  drill("after_publish");
}
TEST_CASE("sagaflowd killed in the middle of compensating: every saga finishes, each once") {
  drill("mid_compensation");
}
// Classic queues count no deliveries: the adapter counts the replies returned by the kill on
// each message and stays under the limit, so nothing is dead-lettered and nothing changes.
TEST_CASE("on classic queues, sagaflowd killed after publishing: every saga finishes, each once") {
  drill("after_publish", "classic");
}
