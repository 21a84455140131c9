// The external data platform participant, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "sagaflow/sagas/platform.hpp"
#include "support/send_command.hpp"

using namespace sagaflow;
using sagaflow::testing::body_of;

namespace {

struct Platform {
  Platform() { service.register_handlers(dispatcher); }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    return sagaflow::testing::send_command(dispatcher, type, std::move(payload), key);
  }
  Message order(const std::string& order, const std::string& key) {
    return send("platform.send_order",
                json::object{{"order_id", order},
                             {"user_id", "ann"},
                             {"product_id", "mug"},
                             {"quantity", 2},
                             {"amount", 30}},
                key);
  }
  Message cancel(const std::string& order, const std::string& key) {
    return send("platform.send_cancel", json::object{{"order_id", order}}, key);
  }
  sagas::PlatformService service;
  worker::Dispatcher dispatcher;
};

}  // namespace

TEST_CASE("platform: send_order stores one record per order, whoever sends it again") {
  Platform p;
  auto first = p.order("o1", "s1/send_to_platform/do");
  REQUIRE(first.outcome == ReplyOutcome::success);
  CHECK(body_of(first).at("duplicate") == false);
  p.order("o1", "s1/send_to_platform/do");  // a redelivery: answered from the record
  auto again = p.order("o1", "s9/send_to_platform/do");
  CHECK(body_of(again).at("duplicate") == true);
  CHECK(body_of(again).at("receipt_id") == body_of(first).at("receipt_id"));
  CHECK(p.service.records().size() == 1);
  CHECK(p.service.ledger().size() == 1);
  CHECK(p.service.consistent());
}

TEST_CASE("platform: while unavailable it answers a technical error, then accepts the retry") {
  Platform p;
  p.service.fail_next_calls(2);
  auto down = p.order("o1", "k1");
  CHECK(down.outcome == ReplyOutcome::technical_error);
  CHECK(down.error_code == "PlatformUnavailable");
  CHECK(p.order("o1", "k1").outcome == ReplyOutcome::technical_error);  // not remembered
  CHECK(p.order("o1", "k1").outcome == ReplyOutcome::success);
  p.service.go_down();
  CHECK(p.cancel("o1", "k2").outcome == ReplyOutcome::technical_error);
  p.service.come_back();
  CHECK(p.cancel("o1", "k2").outcome == ReplyOutcome::success);
  CHECK(p.service.calls() == 5);
  CHECK(p.service.records().size() == 2);
}

TEST_CASE("platform: a cancel for an order it never received is UnknownOrder") {
  Platform p;
  auto reply = p.cancel("o404", "k1");
  CHECK(reply.outcome == ReplyOutcome::business_failure);
  CHECK(reply.error_code == "UnknownOrder");
  CHECK(p.service.records().empty());
  CHECK(p.service.consistent());
}
