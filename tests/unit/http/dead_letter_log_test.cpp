// The dead-letter log: one line per message, rate-limited on a manual time, text escaped, and
// the limit itself as pure logic.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "sagaflow/http/dead_letter_log.hpp"
#include "sagaflow/http/log.hpp"
#include "sagaflow/http/rate_limit.hpp"
#include "sagaflow/json.hpp"
#include "support/log_capture.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using sagaflow::testing::field;
using sagaflow::testing::LogCapture;

namespace {

using Time = log::RateLimit::Time;
const Time kStart = Time{} + 1000s;

}  // namespace

TEST_CASE("the rate limit lets N lines a second through and counts the rest") {
  log::RateLimit limit(3);
  for (int i = 0; i < 3; ++i) {
    auto verdict = limit.admit(kStart + std::chrono::milliseconds(100 * i));
    CHECK(verdict.write);
    CHECK(verdict.suppressed == 0);
  }
  for (int i = 0; i < 5; ++i) CHECK_FALSE(limit.admit(kStart + 999ms).write);
  CHECK(limit.suppressed() == 5);

  // The window started with the first line: a second after it, the next line goes, and says so.
  auto next = limit.admit(kStart + 1000ms);
  CHECK(next.write);
  CHECK(next.suppressed == 5);
  CHECK(limit.suppressed() == 0);
  CHECK(limit.admit(kStart + 1001ms).write);
  CHECK(limit.admit(kStart + 1002ms).write);
  CHECK_FALSE(limit.admit(kStart + 1003ms).write);

  // A quiet spell: the next window starts with the next line, whenever it comes.
  auto later = limit.admit(kStart + 60s);
  CHECK(later.write);
  CHECK(later.suppressed == 1);
}

TEST_CASE("a rate limit of 0 lines holds every line back") {
  log::RateLimit limit(0);
  CHECK_FALSE(limit.admit(kStart).write);
  CHECK_FALSE(limit.admit(kStart + 10s).write);
  CHECK(limit.suppressed() == 2);
}

TEST_CASE("a dead letter is one warn line: its code, reason, queue and id, escaped, no body") {
  LogCapture captured;
  Time now = kStart;
  http::DeadLetterLog dead_letters(10, [&] { return now; });
  dead_letters.dead_lettered({DeadLetterCode::malformed_envelope,
                              "unknown sagaflow-kind 'a\x1b[2Kb\nc'", "sagaflow.replies",
                              "id\x07-1\xff"});
  REQUIRE(captured.lines().size() == 1);
  const auto line = captured.lines()[0];
  CHECK(field(line, "level") == "warn");
  CHECK(field(line, "msg") == "message dead-lettered");
  CHECK(field(line, "reason") == "malformed_envelope");
  CHECK(field(line, "detail") == "unknown sagaflow-kind 'a\\x1b[2Kb\\nc'");
  CHECK(field(line, "queue") == "sagaflow.replies");
  CHECK(field(line, "message_id") == "id\\x07-1\\xff");
  CHECK(line.at("suppressed").as_int64() == 0);
  CHECK(line.size() == 8);  // ts, level, msg and the five fields: nothing else, no body
}

TEST_CASE(
    "under a burst the dead-letter log writes N lines a second and then says how many it held") {
  LogCapture captured;
  Time now = kStart;
  {
    http::DeadLetterLog dead_letters(2, [&] { return now; });
    const auto tell = [&](int i) {
      const auto id = "m-" + std::to_string(i);
      dead_letters.dead_lettered({DeadLetterCode::oversized, "too big", "q", id});
    };
    for (int i = 0; i < 6; ++i) tell(i);
    REQUIRE(captured.lines().size() == 2);
    CHECK(field(captured.lines()[0], "message_id") == "m-0");
    CHECK(field(captured.lines()[1], "message_id") == "m-1");

    now += 1s;
    tell(6);
    REQUIRE(captured.lines().size() == 3);
    CHECK(field(captured.lines()[2], "message_id") == "m-6");
    CHECK(captured.lines()[2].at("suppressed").as_int64() == 4);

    tell(7);
    tell(8);  // held back; told when the log goes away
    REQUIRE(captured.lines().size() == 4);
    CHECK(captured.lines()[3].at("suppressed").as_int64() == 0);
  }
  REQUIRE(captured.lines().size() == 5);
  CHECK(field(captured.lines()[4], "msg") == "dead letters not logged");
  CHECK(captured.lines()[4].at("suppressed").as_int64() == 1);
}

TEST_CASE("a dead-letter log with nothing held back writes nothing when it goes away") {
  LogCapture captured;
  {
    http::DeadLetterLog dead_letters(1, [] { return kStart; });
    dead_letters.dead_lettered({DeadLetterCode::not_json, "body is not JSON", "q", "m-1"});
  }
  CHECK(captured.lines().size() == 1);
}
