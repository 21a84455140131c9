#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "sagaflow/inproc/bus.hpp"

namespace {

using namespace sagaflow;
using namespace std::chrono_literals;
using worker::Result;

Message command(std::string id, std::string service = "points") {
  Message m;
  m.id = std::move(id);
  m.kind = MessageKind::command;
  m.type = "points.reserve";
  m.destination = std::move(service);
  m.correlation_id = "saga-1";
  m.reply_to = "orchestrator";
  m.idempotency_key = m.id;
  m.body = R"({"points":5})";
  return m;
}

Message event(std::string type, std::string id) {
  Message m;
  m.id = std::move(id);
  m.kind = MessageKind::event;
  m.type = std::move(type);
  m.body = R"({"payment":"p-1"})";
  return m;
}

// Runs the workers' io_context on its own thread for the test's lifetime.
struct WorkerThread {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~WorkerThread() {
    guard.reset();
    io.stop();
    thread.join();
  }
};

// Receives until `n` deliveries arrived or a second passed.
std::vector<Delivery> receive_n(Transport& t, std::size_t n) {
  std::vector<Delivery> out;
  const auto deadline = std::chrono::steady_clock::now() + 1s;
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    t.receive(out, n - out.size(), 50ms);
  }
  return out;
}

}  // namespace

TEST_CASE("bus: a command reaches its participant and the reply the orchestrator's inbox") {
  WorkerThread workers;
  worker::Dispatcher points;
  std::atomic<std::thread::id> ran_on{};
  points.on("points.reserve", [&](const worker::Command& c) {
    ran_on = std::this_thread::get_id();
    return Result::ok(json::object{{"reserved", c.payload.at("points")}});
  });
  inproc::Bus bus(workers.io);
  bus.serve("points", points);

  const std::vector<Message> out{command("c/1"), command("c/2")};
  bus.orchestrator().publish(out);
  auto got = receive_n(bus.orchestrator(), 2);
  REQUIRE(got.size() == 2);
  CHECK(ran_on.load() == workers.thread.get_id());
  std::set<std::string> causes;
  for (const Delivery& d : got) {
    CHECK(d.message.kind == MessageKind::reply);
    CHECK(d.message.outcome == ReplyOutcome::success);
    CHECK(json::parse(d.message.body) == json::value(json::object{{"reserved", 5}}));
    causes.insert(d.message.causation_id);
  }
  CHECK(causes == std::set<std::string>{"c/1", "c/2"});
  CHECK(got[0].tag != got[1].tag);

  // Delivered inputs wait for their ack.
  CHECK(bus.unacknowledged() == 2);
  const std::vector<std::uint64_t> first{got[0].tag};
  bus.orchestrator().ack(first);
  CHECK(bus.unacknowledged() == 1);
  const std::vector<std::uint64_t> second{got[1].tag, 999'999};  // unknown tags are ignored
  bus.orchestrator().ack(second);
  CHECK(bus.unacknowledged() == 0);
}

TEST_CASE("bus: a command counts as sent when a worker takes it, not when it is queued") {
  boost::asio::io_context io;  // not running: posted commands wait, as behind a busy worker
  worker::Dispatcher points;
  std::vector<std::string> taken_before_handling;
  inproc::Bus bus(io);
  points.on("points.reserve", [&](const worker::Command&) {
    std::vector<CommandSent> sent;
    bus.orchestrator().take_handed_over(sent);
    for (const auto& c : sent) taken_before_handling.push_back(c.command_id);
    return Result::ok();
  });
  bus.serve("points", points);
  CHECK(bus.orchestrator().reports_hand_over());

  Message other_saga = command("c/2");
  other_saga.correlation_id = "saga-2";
  const std::vector<Message> out{command("c/1"), other_saga};
  bus.orchestrator().publish(out);
  std::vector<CommandSent> sent;
  bus.orchestrator().take_handed_over(sent);
  CHECK(sent.empty());  // queued, not taken

  // Reported as the worker takes each, before its handler runs; each report is given once.
  CHECK(io.run_one() == 1);
  CHECK(taken_before_handling == std::vector<std::string>{"c/1"});
  CHECK(io.run_one() == 1);
  CHECK(taken_before_handling == std::vector<std::string>{"c/1", "c/2"});
  bus.orchestrator().take_handed_over(sent);
  CHECK(sent.empty());

  // Work lost before a worker took it is never reported.
  bus.orchestrator().publish(out);
  bus.lose_in_flight();
  io.restart();
  io.poll();
  bus.orchestrator().take_handed_over(sent);
  CHECK(sent.empty());
  CHECK(taken_before_handling.size() == 2);
}

TEST_CASE("bus: a command for a service no one serves counts as sent when dead-lettered") {
  boost::asio::io_context io;
  inproc::Bus bus(io);
  const std::vector<Message> out{command("c/1", "inventory")};
  bus.orchestrator().publish(out);
  std::vector<CommandSent> sent;
  bus.orchestrator().take_handed_over(sent);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].saga_id == "saga-1");
  CHECK(sent[0].command_id == "c/1");
  CHECK(bus.dead_letters().size() == 1);
}

TEST_CASE("bus: receive waits at most `wait` and respects `max`") {
  boost::asio::io_context io;
  inproc::Bus bus(io);
  std::vector<Delivery> out;
  const auto start = std::chrono::steady_clock::now();
  CHECK(bus.orchestrator().receive(out, 10, 10ms) == 0);
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= 10ms);
  CHECK(waited < 500ms);
  CHECK(out.empty());

  bus.route_events_to_orchestrator("payment.succeeded");
  for (int i = 0; i < 5; ++i) bus.publish_event(event("payment.succeeded", std::to_string(i)));
  CHECK(bus.orchestrator().receive(out, 3, 0ms) == 3);
  CHECK(bus.orchestrator().receive(out, 10, 0ms) == 2);
  REQUIRE(out.size() == 5);
  // In publication order.
  for (int i = 0; i < 5; ++i)
    CHECK(out[static_cast<std::size_t>(i)].message.id == std::to_string(i));
  CHECK(bus.orchestrator().receive(out, 0, 10ms) == 0);
}

TEST_CASE("bus: a blocked receive wakes when a reply arrives") {
  WorkerThread workers;
  worker::Dispatcher points;
  points.on("points.reserve", [](const worker::Command&) { return Result::ok(); });
  inproc::Bus bus(workers.io);
  bus.serve("points", points);

  std::thread publisher([&] {
    std::this_thread::sleep_for(20ms);
    const std::vector<Message> out{command("c/1")};
    bus.orchestrator().publish(out);
  });
  std::vector<Delivery> got;
  const auto start = std::chrono::steady_clock::now();
  const std::size_t n = bus.orchestrator().receive(got, 10, 5s);
  publisher.join();
  CHECK(n == 1);
  CHECK(std::chrono::steady_clock::now() - start < 4s);
}

namespace {

// Every field of the envelope and the body: what "whole" means for a dead letter.
void check_whole(const Message& got, const Message& sent) {
  CHECK(got.id == sent.id);
  CHECK(got.kind == sent.kind);
  CHECK(got.type == sent.type);
  CHECK(got.destination == sent.destination);
  CHECK(got.correlation_id == sent.correlation_id);
  CHECK(got.reply_to == sent.reply_to);
  CHECK(got.causation_id == sent.causation_id);
  CHECK(got.idempotency_key == sent.idempotency_key);
  CHECK(got.outcome == sent.outcome);
  CHECK(got.error_code == sent.error_code);
  CHECK(got.flow == sent.flow);
  CHECK(got.step == sent.step);
  CHECK(got.attempt == sent.attempt);
  CHECK(got.traceparent == sent.traceparent);
  CHECK(got.body == sent.body);
}

// What the bus told its observer, copied (the notice's views live only during the call).
struct RecordedNotice {
  DeadLetterCode code;
  std::string detail, queue, message_id;
};
struct RecordingObserver final : DeadLetterObserver {
  void dead_lettered(const DeadLetterNotice& n) override {
    notices.push_back(
        {n.code, std::string(n.detail), std::string(n.queue), std::string(n.message_id)});
  }
  std::vector<RecordedNotice> notices;
};

}  // namespace

TEST_CASE("bus: dead letters keep the message whole, with the reason, its code and the queue") {
  boost::asio::io_context io;
  RecordingObserver observer;
  inproc::Bus bus(io, &observer);
  bus.route_events_to_orchestrator("payment.succeeded");

  // A command for a service nobody serves, and a reply the orchestrator should never send.
  Message unserved = command("c/1", "inventory");
  unserved.flow = "order";
  unserved.step = "reserve";
  unserved.attempt = 2;
  unserved.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  Message stray_reply = command("r/1");
  stray_reply.kind = MessageKind::reply;
  stray_reply.causation_id = "c/0";
  stray_reply.outcome = ReplyOutcome::business_failure;
  stray_reply.error_code = "OutOfStock";
  const std::vector<Message> out{unserved, stray_reply};
  bus.orchestrator().publish(out);
  CHECK(io.poll() == 0);  // nothing was handed to a worker

  Message waited_for = event("payment.succeeded", "e/1");
  waited_for.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  bus.publish_event(waited_for);
  std::vector<Delivery> got;
  REQUIRE(bus.orchestrator().receive(got, 10, 0ms) == 1);
  CHECK(bus.unacknowledged() == 1);
  bus.orchestrator().dead_letter(got[0], DeadLetterCode::unmatched_event,
                                 "no saga waits for payment p-1");
  CHECK(bus.unacknowledged() == 0);

  auto dead = bus.dead_letters();
  REQUIRE(dead.size() == 3);
  check_whole(dead[0].message, unserved);
  CHECK(dead[0].code == DeadLetterCode::unroutable);
  CHECK(dead[0].reason == "no participant serves inventory");
  CHECK(dead[0].queue == "commands.inventory");
  check_whole(dead[1].message, stray_reply);
  CHECK(dead[1].code == DeadLetterCode::wrong_kind);
  CHECK(dead[1].reason == "the orchestrator does not publish replies");
  CHECK(dead[1].queue == inproc::kOrchestratorQueue);
  waited_for.kind = MessageKind::event;
  check_whole(dead[2].message, waited_for);
  CHECK(dead[2].code == DeadLetterCode::unmatched_event);
  CHECK(dead[2].reason == "no saga waits for payment p-1");
  CHECK(dead[2].queue == inproc::kOrchestratorQueue);

  // The observer was told of each, once, as kept.
  REQUIRE(observer.notices.size() == dead.size());
  for (std::size_t i = 0; i < dead.size(); ++i) {
    CAPTURE(i);
    CHECK(observer.notices[i].code == dead[i].code);
    CHECK(observer.notices[i].detail == dead[i].reason);
    CHECK(observer.notices[i].queue == dead[i].queue);
    CHECK(observer.notices[i].message_id == dead[i].message.id);
  }
}

TEST_CASE("bus: events reach subscribers and, when routed, the orchestrator") {
  boost::asio::io_context io;
  inproc::Bus bus(io);
  std::vector<std::string> seen_a;
  std::vector<std::string> seen_b;
  bus.subscribe("payment.succeeded", [&](const Message& m) { seen_a.push_back(m.id); });
  bus.subscribe("payment.succeeded", [&](const Message& m) { seen_b.push_back(m.body); });
  bus.route_events_to_orchestrator("payment.succeeded");

  bus.publish_event(event("payment.succeeded", "e/1"));
  bus.publish_event(event("payment.failed", "e/2"));  // nobody listens: no effect
  // Published from the orchestrator's side too (a `publish` step).
  const std::vector<Message> out{event("payment.succeeded", "e/3")};
  bus.orchestrator().publish(out);

  // Callbacks run on the workers' io_context, not on the publishing thread.
  CHECK(seen_a.empty());
  io.poll();
  CHECK(seen_a == std::vector<std::string>{"e/1", "e/3"});
  CHECK(seen_b.size() == 2);
  CHECK(seen_b[0] == R"({"payment":"p-1"})");

  std::vector<Delivery> got;
  CHECK(bus.orchestrator().receive(got, 10, 0ms) == 2);
  REQUIRE(got.size() == 2);
  CHECK(got[0].message.id == "e/1");
  CHECK(got[0].message.kind == MessageKind::event);
  CHECK(got[1].message.id == "e/3");
  CHECK(bus.dead_letters().empty());
}

TEST_CASE("bus: an event not routed to the orchestrator stays out of its inbox") {
  boost::asio::io_context io;
  inproc::Bus bus(io);
  int calls = 0;
  bus.subscribe("order.completed", [&](const Message&) { ++calls; });
  bus.publish_event(event("order.completed", "e/1"));
  CHECK(io.poll() == 1);
  CHECK(calls == 1);
  std::vector<Delivery> got;
  CHECK(bus.orchestrator().receive(got, 10, 0ms) == 0);
}

TEST_CASE("bus: lose_in_flight drops queued work, the inbox and unacked deliveries") {
  boost::asio::io_context io;  // not running: posted commands wait
  int calls = 0;
  worker::Dispatcher points;
  points.on("points.reserve", [&](const worker::Command&) {
    ++calls;
    return Result::ok();
  });
  inproc::Bus bus(io);
  bus.serve("points", points);
  bus.route_events_to_orchestrator("payment.succeeded");
  int observed = 0;
  bus.subscribe("payment.succeeded", [&](const Message&) { ++observed; });

  // One delivered and unacknowledged, one waiting in the inbox, one command not yet run.
  bus.publish_event(event("payment.succeeded", "e/1"));
  bus.publish_event(event("payment.succeeded", "e/2"));
  std::vector<Delivery> got;
  REQUIRE(bus.orchestrator().receive(got, 1, 0ms) == 1);
  const std::vector<Message> out{command("c/1")};
  bus.orchestrator().publish(out);
  CHECK(bus.unacknowledged() == 1);

  bus.lose_in_flight();
  CHECK(bus.unacknowledged() == 0);
  io.poll();
  CHECK(calls == 0);
  CHECK(observed == 0);
  std::vector<Delivery> after;
  CHECK(bus.orchestrator().receive(after, 10, 0ms) == 0);

  // The bus works on afterwards: what is published now is delivered.
  bus.orchestrator().publish(out);
  io.restart();  // poll() ran out of work above, which stops an io_context
  io.poll();
  CHECK(calls == 1);
  REQUIRE(bus.orchestrator().receive(after, 10, 0ms) == 1);
  CHECK(after[0].message.causation_id == "c/1");
}

TEST_CASE("bus: a handler that ran while the bus lost in-flight work does not deliver") {
  boost::asio::io_context io;
  worker::Dispatcher points;
  inproc::Bus bus(io);
  // The handler itself triggers the loss, as a crash during the command would.
  points.on("points.reserve", [&](const worker::Command&) {
    bus.lose_in_flight();
    return Result::ok();
  });
  bus.serve("points", points);
  const std::vector<Message> out{command("c/1")};
  bus.orchestrator().publish(out);
  CHECK(io.poll() == 1);
  std::vector<Delivery> got;
  CHECK(bus.orchestrator().receive(got, 10, 0ms) == 0);
}

TEST_CASE("bus: commands queued when the bus is destroyed do not run") {
  boost::asio::io_context io;
  int calls = 0;
  worker::Dispatcher points;
  points.on("points.reserve", [&](const worker::Command&) {
    ++calls;
    return Result::ok();
  });
  {
    inproc::Bus bus(io);
    bus.serve("points", points);
    const std::vector<Message> out{command("c/1")};
    bus.orchestrator().publish(out);
  }
  CHECK(io.poll() == 1);
  CHECK(calls == 0);
}
