// What makes a service a warning on GET /api/services, /readyz, /metrics and the log: commands
// in flight, waiting or queued, and a consumer count known to be 0.
#include <doctest/doctest.h>

#include "sagaflow/engine/service_health.hpp"

using sagaflow::Duration;
using sagaflow::ServiceHealth;
using sagaflow::ServiceLoad;
using sagaflow::ServiceQueue;
using sagaflow::Timestamp;

TEST_CASE("a service with commands and no consumer is a warning") {
  ServiceHealth h{.service = "points", .consumers = 0u, .in_flight = 1};
  CHECK(sagaflow::service_lacks_consumer(h));
  h.in_flight = 0;
  h.waiting = 2;
  CHECK(sagaflow::service_lacks_consumer(h));
  h.waiting = 0;
  h.queued = 3u;
  CHECK(sagaflow::service_lacks_consumer(h));
}

TEST_CASE("no warning with a consumer, with nothing to do, or while the consumers are unknown") {
  CHECK_FALSE(sagaflow::service_lacks_consumer(
      ServiceHealth{.service = "points", .consumers = 1u, .queued = 5u, .in_flight = 3}));
  CHECK_FALSE(sagaflow::service_lacks_consumer(
      ServiceHealth{.service = "points", .consumers = 0u, .queued = 0u}));
  // The broker is away: nothing is known, nothing is claimed.
  CHECK_FALSE(sagaflow::service_lacks_consumer(
      ServiceHealth{.service = "points", .in_flight = 4, .waiting = 4}));
}

TEST_CASE("service_health merges the flows' services, the loads, the queues and the replies") {
  const Timestamp replied{Duration{1000}};
  const auto health = sagaflow::service_health(
      {"offers", "points", "stock"},
      {ServiceLoad{
          .service = "points", .in_flight = 2, .waiting = 1, .oldest_waiting_age = Duration{250}}},
      {{"offers", ServiceQueue{.consumers = 1}},
       {"points", ServiceQueue{.consumers = 0, .messages = 2}}},
      {{"offers", replied}, {"legacy", replied}});
  REQUIRE(health.size() == 4);
  CHECK(health[0] == ServiceHealth{.service = "legacy", .last_reply = replied});
  CHECK(health[1] ==
        ServiceHealth{.service = "offers", .consumers = 1u, .queued = 0u, .last_reply = replied});
  CHECK(health[2] == ServiceHealth{.service = "points",
                                   .consumers = 0u,
                                   .queued = 2u,
                                   .in_flight = 2,
                                   .waiting = 1,
                                   .oldest_waiting_age = Duration{250},
                                   .without_consumer = true});
  CHECK(health[3] == ServiceHealth{.service = "stock"});  // no queue yet: unknown, no warning
  CHECK(sagaflow::services_without_consumer(health) == std::vector<std::string>{"points"});
}
