// Backpressure on the production pair: sagaflowd on PostgreSQL and RabbitMQ with one command
// in flight per service at a time. Every saga still ends as its input says, and none of the
// commands that waited their turn in the outbox timed out meanwhile.
#include <doctest/doctest.h>

#include "production.hpp"

using namespace std::chrono_literals;
using sagaflow::testing::recovery::Deployment;

TEST_CASE("one command in flight per service: every saga ends as its input says, none timed out") {
  Deployment d("limit");
  d.start_daemon({}, 0, {{"SAGAFLOW_MAX_IN_FLIGHT_PER_SERVICE", "1"}});
  d.check_ends(d.start_purchases("limit", 9), 60s);
  auto applied = d.stop_participants();
  CHECK(applied["offers"].first == 6 * 2 + 3 * 2);
  CHECK(applied["points"].first == 6 * 2);
  CHECK(applied["offers"].second == 0);
  CHECK(applied["points"].second == 0);
}
