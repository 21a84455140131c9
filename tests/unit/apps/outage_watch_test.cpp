// The watch over the servers a process needs: one "lost" and one "back" per outage however
// often the adapters report, with how long it was gone on the monotonic clock.
#include <doctest/doctest.h>

#include "outage_watch.hpp"

using namespace std::chrono_literals;
using sagaflow::Timestamp;
using sagaflow::apps::MonotonicTime;
using sagaflow::apps::OutageWatch;

namespace {

const Timestamp kWall = sagaflow::from_millis(1'800'000'000'000);
const MonotonicTime kStart{};

}  // namespace

TEST_CASE("a server that cannot be reached at start is one outage until it answers") {
  OutageWatch watch({"store", "broker"});
  CHECK(watch.status("store").state == OutageWatch::State::unknown);
  CHECK_FALSE(watch.all_up());

  CHECK(watch.failed("store", "connection refused", kWall, kStart));
  CHECK_FALSE(watch.failed("store", "still refused", kWall + 500ms, kStart + 500ms));
  CHECK_FALSE(watch.failed("store", "timeout", kWall + 900ms, kStart + 900ms));
  const auto down = watch.status("store");
  CHECK(down.state == OutageWatch::State::down);
  CHECK(down.down_since == kWall);
  CHECK(down.last_error == "timeout");

  CHECK(watch.answered("store", kStart + 2500ms) == 2500ms);
  CHECK(watch.status("store").state == OutageWatch::State::up);
  CHECK(watch.status("store").last_error.empty());
  CHECK_FALSE(watch.status("store").down_since.has_value());
  CHECK_FALSE(watch.answered("store", kStart + 3s).has_value());  // up already: nothing to say
}

TEST_CASE("a server that answers at once has no outage, a later loss is one") {
  OutageWatch watch({"broker"});
  CHECK_FALSE(watch.answered("broker", kStart).has_value());
  CHECK(watch.all_up());
  CHECK(watch.failed("broker", "connection lost", kWall + 10s, kStart + 10s));
  CHECK_FALSE(watch.all_up());
  CHECK(watch.answered("broker", kStart + 70s) == 60s);
  CHECK(watch.failed("broker", "connection lost", kWall + 80s, kStart + 80s));  // a second one
  CHECK(watch.answered("broker", kStart + 81s) == 1s);
}

TEST_CASE("the durations come from the monotonic clock, not the wall clock") {
  OutageWatch watch({"broker"});
  CHECK(watch.failed("broker", "lost", kWall, kStart));
  // The wall clock jumped back an hour meanwhile; the outage still lasted 2 s.
  CHECK(watch.answered("broker", kStart + 2s) == 2s);
}

TEST_CASE("an unknown dependency is a programming error") {
  OutageWatch watch({"store"});
  CHECK_THROWS_AS(watch.failed("queue", "x", kWall, kStart), std::invalid_argument);
}
