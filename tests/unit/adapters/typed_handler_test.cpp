// Typed contracts over the dispatcher: structs in, structs out, JSON on the wire.
#include <doctest/doctest.h>

#include "sagaflow/worker/typed.hpp"

using namespace sagaflow;

namespace {

struct Reserve {
  std::string user_id;
  std::int64_t amount = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(amount));
  }
};

struct Reserved {
  std::string reservation_id;
  std::vector<std::string> holds;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reservation_id), CEREAL_NVP(holds));
  }
};

Message command(std::string body, std::string key = "s1/reserve/do") {
  Message m;
  m.id = key + "/1";
  m.idempotency_key = std::move(key);
  m.type = "points.reserve";
  m.body = std::move(body);
  return m;
}

worker::Dispatcher typed_points() {
  worker::Dispatcher d;
  worker::on<Reserve, Reserved>(
      d, "points.reserve", [](const Reserve& r, const Message&) -> worker::Outcome<Reserved> {
        if (r.amount > 100)
          return worker::Outcome<Reserved>::business_failure("InsufficientPoints");
        if (r.user_id == "flaky") return worker::Outcome<Reserved>::technical_error("Busy");
        return Reserved{"res-" + r.user_id, {"h" + std::to_string(r.amount)}};
      });
  return d;
}

}  // namespace

TEST_CASE("a typed handler reads its struct from the body and answers with its reply struct") {
  auto d = typed_points();
  auto reply = d.handle(command(R"({"amount": 40, "user_id": "ann", "extra": true})"));
  CHECK(reply.outcome == ReplyOutcome::success);
  CHECK(json::parse(reply.body) == json::parse(R"({"reservation_id":"res-ann","holds":["h40"]})"));
}

TEST_CASE("a typed handler's failures keep their kind and code") {
  auto d = typed_points();
  auto refused = d.handle(command(R"({"user_id": "ann", "amount": 500})", "k1"));
  CHECK(refused.outcome == ReplyOutcome::business_failure);
  CHECK(refused.error_code == "InsufficientPoints");
  auto busy = d.handle(command(R"({"user_id": "flaky", "amount": 5})", "k2"));
  CHECK(busy.outcome == ReplyOutcome::technical_error);
  CHECK(busy.error_code == "Busy");
}

TEST_CASE("a payload that does not fit the contract is a business failure naming the field") {
  auto d = typed_points();
  auto missing = d.handle(command(R"({"user_id": "ann"})", "k3"));
  CHECK(missing.outcome == ReplyOutcome::business_failure);
  CHECK(missing.error_code == "MalformedPayload");
  CHECK(missing.body.find("amount") != std::string::npos);
  auto wrong_type = d.handle(command(R"({"user_id": 7, "amount": 1})", "k4"));
  CHECK(wrong_type.error_code == "MalformedPayload");
}

TEST_CASE("typed structs round-trip through their JSON text") {
  Reserved r{"res-1", {"a", "b"}};
  auto text = worker::to_json_text(r);
  CHECK(json::parse(text) == json::parse(R"({"reservation_id":"res-1","holds":["a","b"]})"));
  auto back = worker::from_json_text<Reserved>(text);
  CHECK(back.reservation_id == "res-1");
  CHECK(back.holds == std::vector<std::string>{"a", "b"});
  CHECK_THROWS_AS(worker::from_json_text<Reserved>("{}"), worker::ContractError);
}
