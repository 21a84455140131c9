// Delayed starts and schedules over HTTP on the embedded pair (SQLite, in-process bus, the
// example participants): POST /api/sagas with start_at, and /api/schedules.
#include <doctest/doctest.h>

#include <ctime>
#include <thread>

#include "admin_world.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

constexpr std::string_view kPurchase =
    R"("flow": "offer_purchase", "input": {"user_id": "carol", "offer_id": "spa", "price": 10})";

}  // namespace

TEST_CASE("a start with start_at is stored pending and starts at its time") {
  AdminWorld world;
  Client client(world.endpoint());
  const auto at = rfc3339(std::chrono::system_clock::now() + std::chrono::seconds(2));
  auto res = client.request(verb::post, "/api/sagas",
                            "{" + std::string(kPurchase) + R"(, "start_at": ")" + at + "\"}");
  REQUIRE_MESSAGE(res.result() == status::created, res.body());
  CHECK(body_of(res).at("status") == "pending");
  const std::string id(body_of(res).at("id").as_string());
  auto shown = body_of(client.request(verb::get, "/api/sagas/" + id));
  CHECK(shown.at("saga").at("status") == "pending");
  CHECK(std::string(shown.at("saga").at("start_at").as_string()).substr(0, 19) == at.substr(0, 19));
  CHECK(shown.at("history").at(0).at("kind") == "saga_scheduled");

  json::value saga;
  for (int i = 0; i < 200; ++i) {
    saga = body_of(client.request(verb::get, "/api/sagas/" + id));
    if (saga.at("saga").at("status") == "completed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(saga.at("saga").at("status") == "completed");

  // A start_at that is no time is refused, and starts nothing.
  auto bad = client.request(verb::post, "/api/sagas",
                            "{" + std::string(kPurchase) + R"(, "start_at": "tomorrow"})");
  CHECK(bad.result() == status::bad_request);
  CHECK(std::string(body_of(bad).at("error").at("message").as_string()).find("RFC 3339") !=
        std::string::npos);
}

TEST_CASE("schedules are deployed, listed, paused, resumed and deleted over HTTP") {
  AdminWorld world;
  Client client(world.endpoint());
  CHECK(body_of(client.request(verb::get, "/api/schedules")).at("schedules").as_array().empty());

  const std::string deploy =
      R"({"flow": "offer_purchase", "cron": "0 9 * * MON-FRI", "zone": "America/New_York",
          "input": {"user_id": "carol", "offer_id": "spa", "price": 10}})";
  auto created = client.request(verb::put, "/api/schedules/weekday-spa", deploy);
  REQUIRE_MESSAGE(created.result() == status::created, created.body());
  auto s = body_of(created).at("schedule");
  CHECK(s.at("name") == "weekday-spa");
  CHECK(s.at("overlap") == "skip");
  CHECK(s.at("paused") == false);
  CHECK(s.at("last_fire").is_null());
  CHECK(s.at("last_outcome").is_null());
  // 09:00 in New York is 13:00Z or 14:00Z, depending on daylight saving time.
  const std::string next(s.at("next_fire").as_string());
  CHECK((next.substr(10) == "T13:00:00.000Z" || next.substr(10) == "T14:00:00.000Z"));
  CHECK(client.request(verb::put, "/api/schedules/weekday-spa", deploy).result() == status::ok);

  // Refusals: what is wrong is named.
  auto bad_cron = client.request(verb::put, "/api/schedules/x",
                                 R"({"flow": "offer_purchase", "cron": "0 24 * * *"})");
  CHECK(bad_cron.result() == status::unprocessable_entity);
  CHECK(std::string(body_of(bad_cron).at("error").at("message").as_string())
            .find("cron field 2 (hour) '24': 24 is out of range 0-23") != std::string::npos);
  CHECK(client
            .request(verb::put, "/api/schedules/x",
                     R"({"flow": "offer_purchase", "cron": "* * * * *", "zone": "Mars/Base"})")
            .result() == status::unprocessable_entity);
  CHECK(client
            .request(verb::put, "/api/schedules/x",
                     R"({"flow": "offer_purchase", "cron": "* * * * *", "overlap": "queue"})")
            .result() == status::unprocessable_entity);
  CHECK(client.request(verb::put, "/api/schedules/x", R"({"flow": "nope", "cron": "* * * * *"})")
            .result() == status::not_found);
  CHECK(client.request(verb::put, "/api/schedules/x", R"({"flow": "offer_purchase"})").result() ==
        status::bad_request);
  CHECK(client
            .request(verb::put, "/api/schedules/x",
                     R"({"flow": "offer_purchase", "cron": "* * * * *", "when": 1})")
            .result() == status::bad_request);
  CHECK(client.request(verb::post, "/api/schedules/x").result() == status::method_not_allowed);

  auto paused = client.request(verb::post, "/api/schedules/weekday-spa/pause", "");
  REQUIRE_MESSAGE(paused.result() == status::ok, paused.body());
  CHECK(body_of(paused).at("schedule").at("paused") == true);
  CHECK(body_of(paused).at("schedule").at("next_fire").is_null());
  auto list = body_of(client.request(verb::get, "/api/schedules")).at("schedules").as_array();
  REQUIRE(list.size() == 1);
  CHECK(list[0].at("paused") == true);
  auto resumed = client.request(verb::post, "/api/schedules/weekday-spa/resume", "");
  CHECK(body_of(resumed).at("schedule").at("paused") == false);
  CHECK(client.request(verb::post, "/api/schedules/nope/pause", "").result() == status::not_found);

  auto deleted = client.request(verb::delete_, "/api/schedules/weekday-spa");
  REQUIRE_MESSAGE(deleted.result() == status::ok, deleted.body());
  CHECK(body_of(deleted).at("deleted") == "weekday-spa");
  CHECK(client.request(verb::get, "/api/schedules/weekday-spa").result() == status::not_found);
  CHECK(client.request(verb::delete_, "/api/schedules/weekday-spa").result() == status::not_found);
}
