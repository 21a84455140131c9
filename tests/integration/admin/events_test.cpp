// POST /api/events over a real socket, on sagaflowd's embedded setup: an outside event sent by
// an operator or a gateway reaches the saga waiting for it, as a participant's event would.
#include <doctest/doctest.h>

#include "admin_world.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

namespace {

// Waits (on the store, a condition) until the saga has the status, up to 10 s.
std::string status_within(AdminWorld& world, const std::string& id, std::string_view wanted) {
  std::string status;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto row = world.store.load(id)) status = row->status;
    if (status == wanted) break;
    std::this_thread::sleep_for(5ms);
  }
  return status;
}

}  // namespace

TEST_CASE("a booking waiting for its payment completes after POST /api/events") {
  AdminWorld world;
  Client client(world.endpoint());
  auto started = client.request(
      verb::post, "/api/sagas",
      R"({"flow": "booking_payment", "input": {"customer_id": "dan", "slot_id": "mon-10",)"
      R"( "amount": 1500}, "wait": {"step": "create_payment"}})");
  REQUIRE(started.result() == status::created);
  const auto id = std::string(body_of(started).at("id").as_string());
  const auto payment = std::string(body_of(started).at("result").at("payment_id").as_string());
  REQUIRE(status_within(world, id, "waiting") == "waiting");

  const json::object event{
      {"type", "payment.succeeded"},
      {"message_id", "payment.succeeded/" + payment},
      {"payload",
       json::object{{"payment_id", payment}, {"amount", 1500}, {"status", "succeeded"}}}};
  auto sent = client.request(verb::post, "/api/events", json::serialize(event));
  CHECK(sent.result() == status::accepted);
  CHECK(body_of(sent).at("message_id") == json::value("payment.succeeded/" + payment));
  CHECK(body_of(sent).at("type") == "payment.succeeded");
  CHECK(status_within(world, id, "completed") == "completed");

  // The event is in the saga's history with the id it was sent under.
  bool received = false;
  for (const auto& h : world.store.history(id)) {
    if (h.detail.find("payment.succeeded/" + payment) != std::string::npos) received = true;
  }
  CHECK(received);
}

TEST_CASE("an event without message_id gets one, and its answer names it") {
  AdminWorld world;
  Client client(world.endpoint());
  auto sent = client.request(verb::post, "/api/events",
                             R"({"type": "payment.failed", "payload": {"payment_id": "none"}})");
  CHECK(sent.result() == status::accepted);
  const auto id = std::string(body_of(sent).at("message_id").as_string());
  CHECK(id.starts_with("api-event/"));
  CHECK(id.size() == std::string("api-event/").size() + 32);
}

TEST_CASE("bad event bodies are refused with 4xx and a JSON error, and nothing is sent") {
  AdminWorld world;
  Client client(world.endpoint());
  auto refused = [&](std::string body, status expected, std::string_view words) {
    auto res = client.request(verb::post, "/api/events", std::move(body));
    CHECK_MESSAGE(res.result() == expected, res.body());
    CHECK(res[field::content_type] == "application/json");
    const auto message = std::string(body_of(res).at("error").at("message").as_string());
    CHECK_MESSAGE(message.find(words) != std::string::npos, message);
  };
  refused("not json", status::bad_request, "not JSON");
  refused("[]", status::bad_request, "JSON object");
  refused(R"({"payload": {}})", status::bad_request, "type is required");
  refused(R"({"type": ""})", status::bad_request, "type is required");
  refused(R"({"type": 7})", status::bad_request, "type must be a string");
  refused(R"({"type": "payment.succeeded", "payload": [1]})", status::bad_request,
          "payload must be a JSON object");
  refused(R"({"type": "payment.succeeded", "id": "x"})", status::bad_request, "unknown field 'id'");
  refused(R"({"type": "payment.succeeded", "message_id": ""})", status::bad_request,
          "message_id must not be empty");
  refused(R"({"type": "payment.succ\u0001eeded"})", status::bad_request, "control characters");
  refused(R"({"type": ")" + std::string(300, 'x') + R"("})", status::bad_request,
          "longer than 255 bytes");
  // Nothing listens to that type: the bus takes it nowhere, as a broker returns it.
  refused(R"({"type": "nobody.listens", "payload": {}})", status::unprocessable_entity,
          "no one listens to event type nobody.listens");

  auto get = client.request(verb::get, "/api/events");
  CHECK(get.result() == status::method_not_allowed);
  CHECK(get[field::allow] == "POST");
  CHECK(world.bus.dead_letters().empty());
}
