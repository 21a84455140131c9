#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "sagaflow/worker/dispatcher.hpp"

namespace {

using namespace sagaflow;
using worker::Dispatcher;
using worker::Result;

Message command(std::string id, std::string key, std::string body = R"({"points":10})") {
  Message m;
  m.id = std::move(id);
  m.kind = MessageKind::command;
  m.type = "points.reserve";
  m.destination = "points";
  m.correlation_id = "saga-1";
  m.reply_to = "orchestrator";
  m.idempotency_key = std::move(key);
  m.flow = "order";
  m.step = "reserve_points";
  m.attempt = 1;
  m.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  m.body = std::move(body);
  return m;
}

}  // namespace

TEST_CASE("dispatcher: the reply envelope answers the command") {
  Dispatcher d;
  d.on("points.reserve", [](const worker::Command& c) {
    return Result::ok(json::object{{"reserved", c.payload.at("points").as_int64()}});
  });
  CHECK(d.handles("points.reserve"));
  CHECK_FALSE(d.handles("points.release"));

  const Message cmd = command("saga-1/reserve_points/do/1", "saga-1/reserve_points");
  const Message reply = d.handle(cmd);
  CHECK(reply.kind == MessageKind::reply);
  CHECK(reply.id == "saga-1/reserve_points/do/1/reply");
  CHECK(reply.destination == "orchestrator");
  CHECK(reply.causation_id == cmd.id);
  CHECK(reply.correlation_id == "saga-1");
  CHECK(reply.type == "points.reserve");
  CHECK(reply.flow == "order");
  CHECK(reply.step == "reserve_points");
  CHECK(reply.attempt == 1);
  CHECK(reply.traceparent == cmd.traceparent);
  CHECK(reply.idempotency_key == cmd.idempotency_key);
  CHECK(reply.outcome == ReplyOutcome::success);
  CHECK(reply.error_code.empty());
  CHECK(json::parse(reply.body) == json::value(json::object{{"reserved", 10}}));
}

TEST_CASE("dispatcher: a command is applied once per idempotency key") {
  int calls = 0;
  Dispatcher d;
  d.on("points.reserve", [&](const worker::Command&) {
    ++calls;
    return calls == 1 ? Result::ok(json::object{{"hold", "h-1"}})
                      : Result::ok(json::object{{"hold", "h-2"}});
  });

  Message first = command("s/reserve/do/1", "s/reserve");
  const Message r1 = d.handle(first);
  // The saga's retry: another message id and attempt, the same key.
  Message retry = command("s/reserve/do/2", "s/reserve");
  retry.attempt = 2;
  const Message r2 = d.handle(retry);
  CHECK(calls == 1);
  CHECK(r2.body == r1.body);
  CHECK(r2.outcome == ReplyOutcome::success);
  // Addressed to the retry, so the orchestrator matches it to the current attempt.
  CHECK(r2.id == "s/reserve/do/2/reply");
  CHECK(r2.causation_id == "s/reserve/do/2");
  CHECK(r2.attempt == 2);

  // Another key is another command.
  d.handle(command("t/reserve/do/1", "t/reserve"));
  CHECK(calls == 2);

  SUBCASE("without a key, a redelivery of the same message is still recognised") {
    d.handle(command("u/1", ""));
    d.handle(command("u/1", ""));
    CHECK(calls == 3);
    d.handle(command("u/2", ""));
    CHECK(calls == 4);
  }
}

TEST_CASE("dispatcher: business failures are remembered, technical errors are retried") {
  int calls = 0;
  Dispatcher d;
  d.on("points.reserve", [&](const worker::Command&) {
    ++calls;
    return Result::business_failure("InsufficientPoints", json::object{{"balance", 3}});
  });
  d.on("billing.charge", [&](const worker::Command&) {
    ++calls;
    return calls < 4 ? Result::technical_error("Timeout") : Result::ok();
  });

  const Message refused = d.handle(command("a/1", "a"));
  CHECK(refused.outcome == ReplyOutcome::business_failure);
  CHECK(refused.error_code == "InsufficientPoints");
  const Message again = d.handle(command("a/2", "a"));
  CHECK(calls == 1);
  CHECK(again.outcome == ReplyOutcome::business_failure);
  CHECK(again.error_code == "InsufficientPoints");
  CHECK(again.body == refused.body);

  Message charge = command("b/1", "b");
  charge.type = "billing.charge";
  CHECK(d.handle(charge).outcome == ReplyOutcome::technical_error);  // calls = 2
  charge.id = "b/2";
  const Message broken = d.handle(charge);  // calls = 3
  CHECK(broken.outcome == ReplyOutcome::technical_error);
  CHECK(broken.error_code == "Timeout");
  charge.id = "b/3";
  CHECK(d.handle(charge).outcome == ReplyOutcome::success);  // calls = 4
  CHECK(calls == 4);
  charge.id = "b/4";
  CHECK(d.handle(charge).outcome == ReplyOutcome::success);  // remembered now
  CHECK(calls == 4);
}

TEST_CASE("dispatcher: unknown command, malformed body, throwing handler") {
  int calls = 0;
  Dispatcher d;
  d.on("points.reserve", [&](const worker::Command& c) -> Result {
    ++calls;
    if (c.payload.as_object().contains("explode")) throw std::runtime_error("disk on fire");
    return Result::ok();
  });

  Message unknown = command("x/1", "x");
  unknown.type = "points.teleport";
  const Message r1 = d.handle(unknown);
  CHECK(r1.outcome == ReplyOutcome::business_failure);
  CHECK(r1.error_code == "UnknownCommand");

  const Message r2 = d.handle(command("y/1", "y", "{not json"));
  CHECK(r2.outcome == ReplyOutcome::business_failure);
  CHECK(r2.error_code == "MalformedPayload");
  CHECK(calls == 0);

  const Message r3 = d.handle(command("z/1", "z", R"({"explode":true})"));
  CHECK(r3.outcome == ReplyOutcome::technical_error);
  CHECK(r3.error_code == "HandlerException");
  CHECK(r3.body.find("disk on fire") != std::string::npos);
  // Not remembered: the retry runs the handler again.
  d.handle(command("z/2", "z", R"({"explode":true})"));
  CHECK(calls == 2);
}

TEST_CASE("dispatcher: a shared dedup store remembers across dispatchers") {
  auto dedup = std::make_shared<worker::InMemoryDedupStore>();
  int calls = 0;
  auto handler = [&](const worker::Command&) {
    ++calls;
    return Result::ok();
  };
  Dispatcher one(dedup);
  Dispatcher two(dedup);
  one.on("points.reserve", handler);
  two.on("points.reserve", handler);
  one.handle(command("a/1", "a"));
  two.handle(command("a/2", "a"));
  CHECK(calls == 1);
  auto remembered = dedup->find("a");
  REQUIRE(remembered.has_value());
  CHECK(remembered->causation_id == "a/1");
  CHECK_FALSE(dedup->find("b").has_value());
}

TEST_CASE("two deliveries of one command on two threads run its handler once") {
  // A command published twice (its confirm was lost in a broker restart) reaches a worker with
  // several handler threads as two deliveries at once. The slow handler makes them overlap.
  worker::Dispatcher dispatcher;
  std::atomic<int> runs{0};
  dispatcher.on("points.debit", [&](const worker::Command&) {
    ++runs;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return worker::Result::ok({{"debited", 10}});
  });
  Message command;
  command.kind = MessageKind::command;
  command.id = "saga-1/debit/1";
  command.idempotency_key = "saga-1/debit";
  command.type = "points.debit";
  command.body = "{}";

  Message first, second;
  std::thread a([&] { first = dispatcher.handle(command); });
  std::thread b([&] { second = dispatcher.handle(command); });
  a.join();
  b.join();
  CHECK(runs == 1);
  CHECK(first.outcome == ReplyOutcome::success);
  CHECK(second.outcome == ReplyOutcome::success);
  CHECK(json::parse(second.body) == json::parse(first.body));
}
