// The RabbitMQ transport against a real broker (tools/test-broker). Each case has a topology of
// its own (Scratch), so that ctest may run them side by side.
#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>

#include "integration/rabbitmq/broker.hpp"

namespace sagaflow::rabbitmq {
namespace {

using namespace testing;

Message reply(std::string id, std::string destination) {
  Message m;
  m.kind = MessageKind::reply;
  m.id = std::move(id);
  m.type = "points.reserve";
  m.destination = std::move(destination);
  m.correlation_id = "saga-1";
  m.causation_id = "cmd-1";
  m.outcome = ReplyOutcome::success;
  m.body = "{}";
  return m;
}

std::vector<std::uint64_t> tags_of(const std::vector<Delivery>& ds) {
  std::vector<std::uint64_t> tags;
  for (const auto& d : ds) tags.push_back(d.tag);
  return tags;
}

// Closes, from the broker's side, every connection of the test's topology (their names carry
// its prefix). Returns how many were closed.
int close_connections_from_broker(const Topology& t) {
  const char* build = std::getenv("SAGAFLOW_BUILD_DIR");
  std::string env =
      "SAGAFLOW_BUILD_DIR='" + std::string(build ? build : SAGAFLOW_BINARY_DIR) + "' ";
  std::string ctl = env + SAGAFLOW_SOURCE_DIR "/tools/test-broker ctl";
  std::string command =
      ctl + " -q list_connections pid client_properties | grep -F '[" + t.prefix + "]' | cut -f1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::vector<std::string> pids;
  char line[512];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string pid(line);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    if (!pid.empty()) pids.push_back(pid);
  }
  ::pclose(pipe);
  for (const auto& pid : pids) {
    int rc = std::system(
        (ctl + " -q close_connection '" + pid + "' 'sagaflow test' >/dev/null").c_str());
    REQUIRE_MESSAGE(rc == 0, "rabbitmqctl close_connection failed for " << pid);
  }
  return static_cast<int>(pids.size());
}

}  // namespace

TEST_CASE("connection settings come from an AMQP URL and never show the password") {
  auto s = ConnectionSettings::from_url("amqps://alice:s3cret@broker.example:5671/prod");
  CHECK(s.host == "broker.example");
  CHECK(s.port == 5671);
  CHECK(s.user == "alice");
  CHECK(s.password == "s3cret");
  CHECK(s.vhost == "prod");
  CHECK(s.tls.enabled);
  CHECK(s.redacted_url() == "amqps://alice:****@broker.example:5671/prod");
  CHECK(ConnectionSettings::from_url("amqp://guest:guest@127.0.0.1:5672/").vhost == "/");
  CHECK(mask_password("amqp://bob:hunter2@h/") == "amqp://bob:****@h/");

  try {
    ConnectionSettings::from_url("http://bob:hunter2@host/");
    FAIL("a non-AMQP URL was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
  }

  // A broker that is not there: publish throws at once, naming the broker but not the secret.
  OrchestratorSettings settings;
  settings.connection = ConnectionSettings::from_url("amqp://bob:hunter2@127.0.0.1:1/");
  settings.topology = topology("unreachable");
  OrchestratorTransport transport(settings);
  Message m = command(settings.topology, "points", "cmd-unreachable");
  try {
    transport.publish(std::span(&m, 1));
    FAIL("publish without a connection did not throw");
  } catch (const Error& e) {
    std::string what = e.what();
    CHECK(what.find("not connected") != std::string::npos);
    CHECK(what.find("hunter2") == std::string::npos);
    CHECK(what.find("bob:****@127.0.0.1:1") != std::string::npos);
  }
  CHECK_THROWS_AS(transport.wait_connected(Duration(200)), Error);
}

TEST_CASE("the topology is declared durable, and declaring it again changes nothing") {
  Scratch scratch("topology", {"points"});
  const auto& t = scratch.topology();
  HandlerThread handlers;
  worker::Dispatcher dispatcher;
  {
    OrchestratorTransport first(orchestrator_settings(t, {"points"}, {"payment.succeeded"}));
    first.wait_connected(Duration(10000));
    // A second orchestrator and a worker declare the same names with the same arguments.
    OrchestratorTransport second(orchestrator_settings(t, {"points"}, {"payment.succeeded"}));
    second.wait_connected(Duration(10000));
    Worker worker(handlers.io(), dispatcher, worker_settings(t, "points"));
    worker.wait_connected(Duration(10000));

    // The events binding exists: a mandatory event is routed.
    Message event;
    event.id = "evt-1";
    event.type = "payment.succeeded";
    event.correlation_id = "saga-1";
    event.body = "{}";
    CHECK_NOTHROW(worker.publish_event(event));
  }

  auto& probe = scratch.probe();
  const std::vector<std::pair<std::string, std::string>> work = {
      {"x-queue-type", "quorum"}, {"x-dead-letter-exchange", t.dead_exchange()}};
  for (const auto& q :
       {t.command_queue("points"), t.reply_queue(), t.orchestrator_events_queue()}) {
    CAPTURE(q);
    CHECK(probe.declare_queue(q, true, work, t.delivery_limit) == "");
    // Only a durable queue refuses a non-durable declaration of the same name.
    CHECK(probe.declare_queue(q, false, work, t.delivery_limit).rfind("406", 0) == 0);
  }
  CHECK(probe.declare_queue(t.dead_letter_queue(), true, {{"x-queue-type", "quorum"}}, {}) == "");
  CHECK(probe.declare_queue(t.dead_letter_queue(), false, {{"x-queue-type", "quorum"}}, {})
            .rfind("406", 0) == 0);
  for (auto [e, type] :
       {std::pair{t.commands_exchange(), "topic"}, std::pair{t.events_exchange(), "topic"},
        std::pair{t.dead_exchange(), "fanout"}}) {
    CAPTURE(e);
    CHECK(probe.declare_exchange(e, type, true) == "");
    CHECK(probe.declare_exchange(e, type, false).rfind("406", 0) == 0);
  }
  // The event, kept for the orchestrator (the broker's count settles a moment after the close).
  CHECK(eventually([&] { return probe.ready(t.orchestrator_events_queue()) == 1; }));
}

TEST_CASE("a classic topology declares classic queues without a delivery limit, and works") {
  CHECK(queue_type_from("quorum") == QueueType::quorum);
  CHECK(queue_type_from("classic") == QueueType::classic);
  CHECK_THROWS_AS(queue_type_from("lazy"), Error);

  Scratch scratch("classic", {"points"});
  Topology t = scratch.topology();
  t.queue_type = QueueType::classic;
  HandlerThread handlers;
  worker::Dispatcher dispatcher;
  dispatcher.on("points.do", [](const worker::Command&) { return worker::Result::ok({{"n", 2}}); });
  {
    OrchestratorTransport orchestrator(orchestrator_settings(t, {"points"}));
    Worker worker(handlers.io(), dispatcher, worker_settings(t, "points"));
    orchestrator.wait_connected(Duration(10000));
    worker.wait_connected(Duration(10000));
    Message m = command(t, "points", "cmd-classic-1");
    orchestrator.publish(std::span(&m, 1));
    auto replies = receive_n(orchestrator, 1);
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].message.kind == MessageKind::reply);
    CHECK(replies[0].message.causation_id == m.id);
    orchestrator.ack(std::vector<std::uint64_t>{replies[0].tag});
  }

  // The broker holds classic work queues with the dead-letter exchange and no limit: the same
  // declaration is accepted, a quorum one refused.
  auto& probe = scratch.probe();
  const std::vector<std::pair<std::string, std::string>> classic = {
      {"x-queue-type", "classic"}, {"x-dead-letter-exchange", t.dead_exchange()}};
  const std::vector<std::pair<std::string, std::string>> quorum = {
      {"x-queue-type", "quorum"}, {"x-dead-letter-exchange", t.dead_exchange()}};
  for (const auto& q : {t.command_queue("points"), t.reply_queue()}) {
    CAPTURE(q);
    CHECK(probe.declare_queue(q, true, classic, std::nullopt) == "");
    CHECK(probe.declare_queue(q, true, quorum, t.delivery_limit).rfind("406", 0) == 0);
  }
  CHECK(probe.declare_queue(t.dead_letter_queue(), true, {{"x-queue-type", "classic"}},
                            std::nullopt) == "");
}

TEST_CASE("a command goes to the worker and its reply comes back with every envelope field") {
  Scratch scratch("roundtrip", {"points"});
  const auto& t = scratch.topology();
  HandlerThread handlers;
  worker::Dispatcher dispatcher;
  std::mutex seen_mutex;
  std::vector<Message> seen;
  dispatcher.on("points.reserve", [&](const worker::Command& c) {
    std::lock_guard lock(seen_mutex);
    seen.push_back(c.message);
    if (c.payload.as_object().at("amount").as_int64() > 100) {
      return worker::Result::business_failure("InsufficientPoints", {{"balance", 100}});
    }
    return worker::Result::ok({{"reserved", c.payload.as_object().at("amount")}});
  });
  OrchestratorTransport orchestrator(orchestrator_settings(t, {"points"}));
  Worker worker(handlers.io(), dispatcher, worker_settings(t, "points"));
  orchestrator.wait_connected(Duration(10000));
  worker.wait_connected(Duration(10000));

  Message ok;
  ok.kind = MessageKind::command;
  ok.id = "saga-7/reserve/do/2";
  ok.type = "points.reserve";
  ok.destination = "points";
  ok.correlation_id = "saga-7";
  ok.reply_to = t.reply_queue();
  ok.causation_id = "start-7";
  ok.idempotency_key = "saga-7/reserve/do";
  ok.flow = "points_charge";
  ok.step = "reserve";
  ok.attempt = 2;
  ok.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  ok.body = R"({"amount":40,"user":"u1"})";
  Message refused = ok;
  refused.id = "saga-7/reserve/do/3";
  refused.idempotency_key = "saga-7/reserve/do/x";
  refused.attempt = 3;
  refused.body = R"({"amount":400})";
  std::vector<Message> both{ok, refused};
  orchestrator.publish(both);

  auto replies = receive_n(orchestrator, 2);
  REQUIRE(replies.size() == 2);
  std::sort(replies.begin(), replies.end(),
            [](const Delivery& a, const Delivery& b) { return a.message.id < b.message.id; });
  {
    std::lock_guard lock(seen_mutex);
    REQUIRE(seen.size() == 2);
    std::sort(seen.begin(), seen.end(),
              [](const Message& a, const Message& b) { return a.id < b.id; });
    const auto& c = seen[0];
    CHECK(c.id == ok.id);
    CHECK(c.kind == MessageKind::command);
    CHECK(c.type == ok.type);
    CHECK(c.destination == "points");
    CHECK(c.correlation_id == ok.correlation_id);
    CHECK(c.reply_to == ok.reply_to);
    CHECK(c.causation_id == ok.causation_id);
    CHECK(c.idempotency_key == ok.idempotency_key);
    CHECK(c.flow == ok.flow);
    CHECK(c.step == ok.step);
    CHECK(c.attempt == 2);
    CHECK(c.traceparent == ok.traceparent);
    CHECK(c.body == ok.body);
    CHECK(seen[1].attempt == 3);
  }
  const auto& r = replies[0].message;
  CHECK(r.id == ok.id + "/reply");
  CHECK(r.kind == MessageKind::reply);
  CHECK(r.type == ok.type);
  CHECK(r.destination == t.reply_queue());
  CHECK(r.correlation_id == "saga-7");
  CHECK(r.causation_id == ok.id);
  CHECK(r.outcome == ReplyOutcome::success);
  CHECK(r.error_code.empty());
  CHECK(r.flow == ok.flow);
  CHECK(r.step == ok.step);
  CHECK(r.attempt == 2);
  CHECK(r.traceparent == ok.traceparent);
  CHECK(json::parse(r.body) == json::parse(R"({"reserved":40})"));
  const auto& f = replies[1].message;
  CHECK(f.id == refused.id + "/reply");
  CHECK(f.outcome == ReplyOutcome::business_failure);
  CHECK(f.error_code == "InsufficientPoints");
  CHECK(f.attempt == 3);
  CHECK(json::parse(f.body) == json::parse(R"({"balance":100})"));

  orchestrator.ack(tags_of(replies));
  // The worker acked both commands (after their replies were confirmed).
  CHECK(eventually([&] { return scratch.probe().ready(t.command_queue("points")) == 0; }));
}

TEST_CASE("1000 messages are published persistent and confirmed, all in flight at once") {
  Scratch scratch("bulk", {"bulk"});
  const auto& t = scratch.topology();
  OrchestratorTransport orchestrator(orchestrator_settings(t, {"bulk"}));
  orchestrator.wait_connected(Duration(10000));
  std::vector<Message> batch;
  for (int i = 0; i < 1000; ++i) batch.push_back(command(t, "bulk", "bulk-" + std::to_string(i)));
  auto start = std::chrono::steady_clock::now();
  orchestrator.publish(batch);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start);
  MESSAGE("1000 confirmed publishes took " << ms.count() << " ms");
  // Confirmed means enqueued: every one is in the queue now, no waiting.
  CHECK(scratch.probe().ready(t.command_queue("bulk")) == 1000);
  auto first = scratch.probe().get(t.command_queue("bulk"));
  REQUIRE(first);
  CHECK(first->delivery_mode == 2);
  CHECK(first->content_type == "application/json");
  CHECK(first->message_id == "bulk-0");
  CHECK(first->headers["sagaflow-kind"] == "command");
  CHECK(first->headers["attempt"] == "1");
}

TEST_CASE("publishing an unroutable command throws, naming the message") {
  Scratch scratch("unroutable", {"points"});
  const auto& t = scratch.topology();
  OrchestratorTransport orchestrator(orchestrator_settings(t, {"points"}));
  orchestrator.wait_connected(Duration(10000));
  std::vector<Message> batch{command(t, "points", "routed-1"), command(t, "nobody", "lost-1")};
  try {
    orchestrator.publish(batch);
    FAIL("an unroutable command was published");
  } catch (const Error& e) {
    std::string what = e.what();
    CHECK(what.find("unroutable") != std::string::npos);
    CHECK(what.find("lost-1") != std::string::npos);
    CHECK(what.find("NO_ROUTE") != std::string::npos);
    CHECK(what.find("routed-1") == std::string::npos);
  }
  // The transport is still usable, and the routable one arrived.
  Message again = command(t, "points", "routed-2");
  CHECK_NOTHROW(orchestrator.publish(std::span(&again, 1)));
  CHECK(scratch.probe().ready(t.command_queue("points")) == 2);
  CHECK(orchestrator.connections() == 1);
}

TEST_CASE("malformed and oversize inputs are dead-lettered with their reason, the queue flows on") {
  Scratch scratch("malformed", {});
  const auto& t = scratch.topology();
  auto settings = orchestrator_settings(t, {});
  settings.max_message_bytes = 1024;
  OrchestratorTransport orchestrator(settings);
  orchestrator.wait_connected(Duration(10000));
  auto& probe = scratch.probe();
  const std::vector<std::pair<std::string, std::string>> reply_headers = {
      {"sagaflow-kind", "reply"}, {"outcome", "success"}};
  probe.publish("", t.reply_queue(),
                {"bad-json", "points.reserve", "application/json", reply_headers, "{not json"});
  probe.publish("", t.reply_queue(), {"no-kind", "points.reserve", "application/json", {}, "{}"});
  probe.publish("", t.reply_queue(),
                {"too-big", "points.reserve", "application/json", reply_headers,
                 R"({"pad":")" + std::string(2000, 'x') + R"("})"});
  probe.publish("", t.reply_queue(),
                {"good", "points.reserve", "application/json", reply_headers, R"({"ok":true})"});

  auto got = receive_n(orchestrator, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].message.id == "good");
  orchestrator.ack(tags_of(got));
  std::vector<Delivery> more;
  CHECK(orchestrator.receive(more, 10, Duration(300)) == 0);

  std::map<std::string, Got> dead;
  for (int i = 0; i < 3; ++i) {
    auto d = probe.get_within(t.dead_letter_queue(), 5000ms);
    REQUIRE_MESSAGE(d, "only " << i << " dead letters arrived");
    dead[d->message_id] = *d;
  }
  REQUIRE(dead.size() == 3);
  CHECK(dead["bad-json"].headers["x-sagaflow-reason"].find("not JSON") != std::string::npos);
  CHECK(dead["no-kind"].headers["x-sagaflow-reason"].find("sagaflow-kind") != std::string::npos);
  CHECK(dead["too-big"].headers["x-sagaflow-reason"].find("over the limit of 1024 bytes") !=
        std::string::npos);
  CHECK(dead["bad-json"].headers["x-sagaflow-reason-code"] == "not_json");
  CHECK(dead["no-kind"].headers["x-sagaflow-reason-code"] == "malformed_envelope");
  CHECK(dead["too-big"].headers["x-sagaflow-reason-code"] == "oversized");
  for (auto& [id, d] : dead) {
    CAPTURE(id);
    CHECK(d.headers["x-sagaflow-queue"] == t.reply_queue());
    CHECK(d.delivery_mode == 2);
  }
  CHECK(dead["too-big"].body.size() > 2000);  // kept whole, for whoever looks at it
  CHECK(eventually([&] { return probe.ready(t.reply_queue()) == 0; }));
}

TEST_CASE("the orchestrator's dead_letter sends the input with its reason and acks it") {
  Scratch scratch("dead-letter", {});
  const auto& t = scratch.topology();
  OrchestratorTransport orchestrator(orchestrator_settings(t, {}));
  orchestrator.wait_connected(Duration(10000));
  Message r = reply("r-unknown", t.reply_queue());
  orchestrator.publish(std::span(&r, 1));
  auto got = receive_n(orchestrator, 1);
  REQUIRE(got.size() == 1);
  orchestrator.dead_letter(got[0], DeadLetterCode::unknown_saga, "reply for unknown saga 'saga-1'");
  auto d = scratch.probe().get_within(t.dead_letter_queue(), 5000ms);
  REQUIRE(d);
  CHECK(d->message_id == "r-unknown");
  CHECK(d->headers["x-sagaflow-reason"] == "reply for unknown saga 'saga-1'");
  CHECK(d->headers["x-sagaflow-reason-code"] == "unknown_saga");
  CHECK(d->headers["x-sagaflow-queue"] == t.reply_queue());
  CHECK(d->headers["sagaflow-kind"] == "reply");
  // Acked: it does not come back, not even after a reconnect.
  orchestrator.interrupt();
  CHECK(eventually([&] { return orchestrator.connections() == 2 && orchestrator.connected(); }));
  std::vector<Delivery> again;
  CHECK(orchestrator.receive(again, 10, Duration(500)) == 0);
}

// Takes the one input of the queue again and again, handing each delivery (numbered from 1) to
// `each`, which returns it somehow, until none comes within 2 s; returns how many came.
namespace {
int deliver_until_gone(OrchestratorTransport& orchestrator,
                       const std::function<void(const std::vector<Delivery>&, int)>& each) {
  int deliveries = 0;
  while (true) {
    auto got = receive_n(orchestrator, 1, 2000ms);
    if (got.empty()) return deliveries;
    ++deliveries;
    REQUIRE(deliveries < 10);
    each(got, deliveries);
  }
}
}  // namespace

TEST_CASE("an input returned more than 3 times ends in the dead-letter queue") {
  Scratch scratch("poison", {});
  const auto& t = scratch.topology();
  OrchestratorTransport orchestrator(orchestrator_settings(t, {}));
  orchestrator.wait_connected(Duration(10000));
  Message r = reply("poison-1", t.reply_queue());
  orchestrator.publish(std::span(&r, 1));
  const int deliveries = deliver_until_gone(
      orchestrator,
      [&](const std::vector<Delivery>& got, int) { orchestrator.requeue(tags_of(got)); });
  MESSAGE("delivered " << deliveries << " times before the broker dead-lettered it");
  CHECK(deliveries == 1 + static_cast<int>(t.delivery_limit));
  auto d = scratch.probe().get_within(t.dead_letter_queue(), 5000ms);
  REQUIRE(d);
  CHECK(d->message_id == "poison-1");
}

TEST_CASE("on classic queues the adapter counts returns: past the limit, a dead letter") {
  // Classic queues count no deliveries; the adapter does, on the message. A return is a requeue
  // or a connection lost with the input unacknowledged (a crash, as the broker sees it).
  Scratch scratch("poison-classic", {});
  Topology t = scratch.topology();
  t.queue_type = QueueType::classic;
  OrchestratorTransport orchestrator(orchestrator_settings(t, {}));
  orchestrator.wait_connected(Duration(10000));
  Message r = reply("poison-classic-1", t.reply_queue());
  r.body = R"({"poison":true})";
  orchestrator.publish(std::span(&r, 1));
  const int deliveries =
      deliver_until_gone(orchestrator, [&](const std::vector<Delivery>& got, int delivery) {
        CHECK(got[0].message.id == r.id);
        CHECK(got[0].message.body == r.body);
        if (delivery % 2 == 1) {
          orchestrator.requeue(tags_of(got));
        } else {
          const auto before = orchestrator.connections();
          orchestrator.interrupt();
          REQUIRE(eventually([&] { return orchestrator.connections() > before; }));
        }
      });
  CHECK(deliveries == 1 + static_cast<int>(t.delivery_limit));
  auto& probe = scratch.probe();
  auto d = probe.get_within(t.dead_letter_queue(), 5000ms);
  REQUIRE(d);
  CHECK(d->message_id == r.id);
  CHECK(d->body == r.body);
  CHECK(d->headers["x-sagaflow-reason-code"] == "delivery_limit");
  CHECK(d->headers["x-sagaflow-reason"] ==
        "returned 4 times to '" + t.reply_queue() + "', over the delivery limit of 3");
  CHECK(d->headers["x-sagaflow-queue"] == t.reply_queue());
  CHECK(d->headers["x-sagaflow-returns"] == "3");
  CHECK(d->headers["causation-id"] == r.causation_id);
  CHECK(probe.ready(t.reply_queue()) == 0);

  // Below the limit a returned input comes back once per return, the same message, and is
  // gone once acked: no copy is left behind.
  Message fine = reply("fine-classic-1", t.reply_queue());
  orchestrator.publish(std::span(&fine, 1));
  auto first = receive_n(orchestrator, 1);
  REQUIRE(first.size() == 1);
  orchestrator.requeue(tags_of(first));
  auto second = receive_n(orchestrator, 1);
  REQUIRE(second.size() == 1);
  CHECK(second[0].message.id == fine.id);
  CHECK(second[0].message.body == fine.body);
  orchestrator.ack(tags_of(second));
  std::vector<Delivery> more;
  CHECK(orchestrator.receive(more, 10, Duration(1000)) == 0);
  CHECK(eventually([&] { return probe.ready(t.reply_queue()) == 0; }));
  CHECK_FALSE(probe.get_within(t.dead_letter_queue(), 500ms));
}

TEST_CASE("unacknowledged inputs come back after the transport is closed and reopened") {
  Scratch scratch("reopen", {});
  const auto& t = scratch.topology();
  std::vector<Message> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(reply("r" + std::to_string(i), t.reply_queue()));
  std::set<std::string> unacked;
  {
    OrchestratorTransport first(orchestrator_settings(t, {}));
    first.wait_connected(Duration(10000));
    first.publish(batch);
    auto got = receive_n(first, 5);
    REQUIRE(got.size() == 5);
    std::sort(got.begin(), got.end(),
              [](const Delivery& a, const Delivery& b) { return a.message.id < b.message.id; });
    std::vector<std::uint64_t> acked{got[0].tag, got[3].tag};
    first.ack(acked);
    for (int i : {1, 2, 4}) unacked.insert(got[i].message.id);
    // The acks are posted to the I/O thread, which sends them before it closes the connection.
  }
  OrchestratorTransport second(orchestrator_settings(t, {}));
  second.wait_connected(Duration(10000));
  auto again = receive_n(second, 5, 3000ms);
  std::set<std::string> ids;
  for (const auto& d : again) ids.insert(d.message.id);
  CHECK(ids == unacked);
  second.ack(tags_of(again));
}

TEST_CASE("acking a tag from an earlier connection does nothing harmful") {
  Scratch scratch("stale-tag", {});
  const auto& t = scratch.topology();
  OrchestratorTransport orchestrator(orchestrator_settings(t, {}));
  orchestrator.wait_connected(Duration(10000));
  Message r = reply("stale-1", t.reply_queue());
  orchestrator.publish(std::span(&r, 1));
  auto before = receive_n(orchestrator, 1);
  REQUIRE(before.size() == 1);

  orchestrator.interrupt();  // the network drops; the delivery goes back to the queue
  REQUIRE(eventually([&] { return orchestrator.connections() == 2 && orchestrator.connected(); }));
  auto after = receive_n(orchestrator, 1);
  REQUIRE(after.size() == 1);
  CHECK(after[0].message.id == "stale-1");
  CHECK(after[0].tag != before[0].tag);

  // The stale tag could name another delivery on this connection: it must not ack anything.
  orchestrator.ack(tags_of(before));
  orchestrator.ack(tags_of(before));
  std::this_thread::sleep_for(300ms);
  CHECK(orchestrator.connected());
  CHECK(orchestrator.connections() == 2);  // no channel error (acking an unknown tag is one)
  orchestrator.ack(tags_of(after));
  orchestrator.ack(tags_of(after));  // twice: the second is ignored, not a channel error
  std::this_thread::sleep_for(300ms);
  CHECK(orchestrator.connections() == 2);
  orchestrator.interrupt();
  REQUIRE(eventually([&] { return orchestrator.connections() == 3 && orchestrator.connected(); }));
  std::vector<Delivery> none;
  CHECK(orchestrator.receive(none, 1, Duration(500)) == 0);
}

TEST_CASE("after the broker closes the connections, both sides reconnect and messages flow") {
  Scratch scratch("reconnect", {"points"});
  const auto& t = scratch.topology();
  HandlerThread handlers;
  worker::Dispatcher dispatcher;
  dispatcher.on("points.do", [](const worker::Command&) { return worker::Result::ok(); });
  OrchestratorTransport orchestrator(orchestrator_settings(t, {"points"}));
  Worker worker(handlers.io(), dispatcher, worker_settings(t, "points"));
  orchestrator.wait_connected(Duration(10000));
  worker.wait_connected(Duration(10000));

  Message first = command(t, "points", "before-close");
  orchestrator.publish(std::span(&first, 1));
  auto got = receive_n(orchestrator, 1);
  REQUIRE(got.size() == 1);
  orchestrator.ack(tags_of(got));

  REQUIRE(close_connections_from_broker(t) == 2);
  REQUIRE(eventually([&] {
    return orchestrator.connections() == 2 && orchestrator.connected() &&
           worker.connections() == 2 && worker.connected();
  }));

  Message second = command(t, "points", "after-close");
  orchestrator.publish(std::span(&second, 1));
  auto again = receive_n(orchestrator, 1);
  REQUIRE(again.size() == 1);
  CHECK(again[0].message.id == "after-close/reply");
  orchestrator.ack(tags_of(again));
}

TEST_CASE("a worker keeps its heartbeats while its handler is busy") {
  Scratch scratch("heartbeat", {"slow"});
  const auto& t = scratch.topology();
  HandlerThread handlers;
  worker::Dispatcher dispatcher;
  dispatcher.on("slow.do", [](const worker::Command&) {
    std::this_thread::sleep_for(3500ms);  // longer than two heartbeats of 1 s
    return worker::Result::ok();
  });
  auto ws = worker_settings(t, "slow");
  ws.connection.heartbeat = std::chrono::seconds(1);
  auto os = orchestrator_settings(t, {"slow"});
  os.connection.heartbeat = std::chrono::seconds(1);
  OrchestratorTransport orchestrator(os);
  Worker worker(handlers.io(), dispatcher, ws);
  orchestrator.wait_connected(Duration(10000));
  worker.wait_connected(Duration(10000));
  Message c = command(t, "slow", "slow-1");
  orchestrator.publish(std::span(&c, 1));
  auto got = receive_n(orchestrator, 1, 10000ms);
  REQUIRE(got.size() == 1);
  CHECK(got[0].message.id == "slow-1/reply");
  CHECK(worker.connections() == 1);
  CHECK(orchestrator.connections() == 1);
  orchestrator.ack(tags_of(got));
}

namespace {

// The test broker's TLS listener (tools/test-broker tls-url and ca); missing ones fail the test.
ConnectionSettings tls_connection() {
  const char* url = std::getenv("SAGAFLOW_TEST_AMQPS_URL");
  const char* ca = std::getenv("SAGAFLOW_TEST_AMQP_CA");
  if (url == nullptr || *url == '\0' || ca == nullptr || *ca == '\0') {
    FAIL("SAGAFLOW_TEST_AMQPS_URL and SAGAFLOW_TEST_AMQP_CA are not set: run tools/test");
  }
  auto s = ConnectionSettings::from_url(url);
  s.tls.ca_file = ca;
  s.reconnect_min = 50ms;
  s.reconnect_max = 500ms;
  return s;
}

}  // namespace

TEST_CASE("over TLS, a command reaches its worker and the reply comes back") {
  Scratch scratch("tls", {"points"});
  const auto& t = scratch.topology();
  auto settings = orchestrator_settings(t, {"points"});
  settings.connection = tls_connection();
  REQUIRE(settings.connection.tls.enabled);
  auto wsettings = worker_settings(t, "points");
  wsettings.connection = tls_connection();

  HandlerThread handlers;
  worker::Dispatcher dispatcher;
  dispatcher.on("points.do", [](const worker::Command&) {
    return worker::Result::ok({{"ok", 1}});
  });
  OrchestratorTransport orchestrator(settings);
  Worker worker(handlers.io(), dispatcher, wsettings);
  orchestrator.wait_connected(Duration(10000));
  worker.wait_connected(Duration(10000));

  std::vector<Message> one{command(t, "points", "tls-cmd-1")};
  orchestrator.publish(one);
  auto replies = receive_n(orchestrator, 1);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].message.causation_id == "tls-cmd-1");
  CHECK(json::parse(replies[0].message.body) == json::parse(R"({"ok":1})"));
  orchestrator.ack(tags_of(replies));
}

TEST_CASE("over TLS, a broker whose certificate no trusted CA signed is refused") {
  Scratch scratch("tls-untrusted", {});
  auto settings = orchestrator_settings(scratch.topology(), {});
  settings.connection = tls_connection();
  settings.connection.tls.ca_file.clear();  // the system's CAs never signed the test CA
  OrchestratorTransport orchestrator(settings);
  CHECK_THROWS_AS(orchestrator.wait_connected(Duration(2000)), Error);
  CHECK_FALSE(orchestrator.connected());
}

}  // namespace sagaflow::rabbitmq
