// Dead letters against a real broker (tools/test-broker): whoever makes one - the orchestrator,
// the worker, the adapter on receipt - it is the message as received (every property and
// header, the body) plus the reason headers; and the observers sagaflowd gives its transports
// count each by reason and log one rate-limited line per message.
#include <atomic>
#include <set>
#include <span>

#include "integration/rabbitmq/broker.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/http/dead_letter_log.hpp"
#include "sagaflow/http/log.hpp"
#include "sagaflow/http/prometheus.hpp"
#include "sagaflow/json.hpp"
#include "sagaflow/testing/manual_clock.hpp"
#include "sagaflow/testing/memory_store.hpp"
#include "sagaflow/text/printable.hpp"
#include "support/log_capture.hpp"

namespace sagaflow::rabbitmq {
namespace {

using namespace testing;
using sagaflow::testing::field;
using sagaflow::testing::LogCapture;

constexpr std::string_view kDeadLettered = "message dead-lettered";

// What sagaflowd gives its transports: the metrics and the log, its rate limit measured on a
// time that moves only when the test says.
struct Observers {
  explicit Observers(std::uint32_t lines_per_second = 100)
      : log(lines_per_second, [this] {
          return http::DeadLetterLog::Now::result_type{} + std::chrono::milliseconds(elapsed_ms);
        }) {}

  std::uint64_t count(DeadLetterCode code) const {
    const auto text = metrics.render({});
    const auto series =
        std::string("sagaflow_dead_lettered_total{reason=\"") + to_string(code) + "\"} ";
    const auto at = text.find(series);
    REQUIRE_MESSAGE(at != std::string::npos, "no series for " << to_string(code));
    return std::stoull(text.substr(at + series.size()));
  }
  std::uint64_t total() const {
    std::uint64_t sum = 0;
    for (auto code : kDeadLetterCodes) sum += count(code);
    return sum;
  }

  http::PrometheusMetrics metrics;
  std::atomic<std::int64_t> elapsed_ms{0};
  http::DeadLetterLog log;
  DeadLetterObservers both{&metrics, &log};
};

// An orchestrator's transport telling `observers` of its dead letters.
OrchestratorSettings settings_for(const Topology& t, Observers& observers) {
  OrchestratorSettings s;
  s.connection = connection();
  s.topology = t;
  s.dead_letters = &observers.both;
  return s;
}

// A message with what a real publisher may add: properties the protocol does not use, headers
// of its own, of several field types. A dead letter must keep all of it.
RawMessage dressed(std::string id, std::vector<std::pair<std::string, std::string>> headers,
                   std::string body) {
  RawMessage m{std::move(id), "points.reserve", "application/json", std::move(headers),
               std::move(body)};
  m.app_id = "billing-gateway";
  m.user_id = connection().user;
  m.content_encoding = "identity";
  m.expiration = "600000";  // kept by the source queue; a dead letter drops it
  m.priority = 3;
  m.timestamp = 1764000000;
  m.headers.emplace_back("x-tenant", "acme");
  m.headers.emplace_back("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  m.integer_headers.emplace_back("x-retry-budget", 7);
  m.boolean_headers.emplace_back("x-audited", true);
  return m;
}

// `dead` is `sent` as it was received, whole, with delivery_mode 2, no expiration and the
// three reason headers; routed by the queue it came from.
void check_dead_letter(Got dead, const RawMessage& sent, const std::string& queue,
                       DeadLetterCode code, std::string_view detail) {
  CAPTURE(sent.message_id);
  auto expected = envelope_of(sent);
  expected.erase("expiration");
  expected["delivery_mode"] = "2";
  // As received: the quorum queue counts the first delivery as 0 returns (docs/protocol.md §3).
  expected["header x-delivery-count"] = "l:0";
  expected["header x-sagaflow-reason-code"] = std::string("S:") + to_string(code);
  expected["header x-sagaflow-queue"] = "S:" + queue;
  const auto reason = dead.envelope["header x-sagaflow-reason"];
  CHECK_MESSAGE(reason.find(detail) != std::string::npos, "reason: " << reason);
  dead.envelope.erase("header x-sagaflow-reason");
  std::set<std::string> names;
  for (const auto& [name, value] : expected) names.insert(name);
  for (const auto& [name, value] : dead.envelope) names.insert(name);
  for (const auto& name : names) {
    CHECK_MESSAGE(dead.envelope[name] == expected[name], name);
  }
  CHECK(dead.body == sent.body);
  CHECK(dead.routing_key == queue);
}

// Takes `count` dead letters, by message id, calling `between` while none is there.
std::map<std::string, Got> take_dead_letters(Probe& probe, const Topology& t, std::size_t count,
                                             const std::function<void()>& between = {}) {
  std::map<std::string, Got> dead;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (dead.size() < count && std::chrono::steady_clock::now() < deadline) {
    if (auto d = probe.get(t.dead_letter_queue())) {
      dead[d->message_id] = *d;
    } else if (between) {
      between();
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }
  REQUIRE_MESSAGE(dead.size() == count, "only " << dead.size() << " dead letters arrived");
  return dead;
}

// One log line per message, with its code and queue, and never its body.
void check_logged(const LogCapture& captured,
                  const std::map<std::string, std::pair<DeadLetterCode, std::string>>& expected,
                  const std::map<std::string, Got>& dead) {
  auto lines = captured.lines(kDeadLettered);
  REQUIRE(lines.size() == expected.size());
  std::set<std::string> ids;
  for (const auto& line : lines) {
    const auto id = field(line, "message_id");
    CAPTURE(id);
    REQUIRE(expected.contains(id));
    ids.insert(id);
    CHECK(field(line, "level") == "warn");
    CHECK(field(line, "reason") == to_string(expected.at(id).first));
    CHECK(field(line, "queue") == expected.at(id).second);
    CHECK(field(line, "detail") == text::printable(dead.at(id).headers.at("x-sagaflow-reason")));
    CHECK(line.at("suppressed").as_int64() == 0);
    CHECK(json::serialize(line).find(dead.at(id).body) == std::string::npos);
  }
  CHECK(ids.size() == expected.size());
}

}  // namespace

TEST_CASE("a command, a reply and an event the orchestrator dead-letters keep everything") {
  Scratch scratch("dl-orchestrator", {});
  const auto& t = scratch.topology();
  auto& probe = scratch.probe();
  Observers observers;
  LogCapture captured;
  auto settings = settings_for(t, observers);
  settings.event_types = {"parcel.lost"};
  OrchestratorTransport transport(settings);
  transport.wait_connected(Duration(10000));
  FlowRegistry flows;
  sagaflow::testing::MemoryStore store;
  sagaflow::testing::ManualClock clock;
  Orchestrator orchestrator(flows, store, transport, clock,
                            OrchestratorOptions{.engine = {.reply_to = t.reply_queue()}});

  auto command = dressed("saga-1/reserve/do/1",
                         {{"sagaflow-kind", "command"}, {"flow", "order"}, {"step", "reserve"}},
                         R"({"points":5})");
  command.reply_to = t.reply_queue();
  command.correlation_id = "saga-1";
  command.integer_headers.emplace_back("attempt", 1);
  auto reply = dressed("saga-2/reserve/do/1/reply",
                       {{"sagaflow-kind", "reply"},
                        {"outcome", "business_failure"},
                        {"error-code", "InsufficientPoints"},
                        {"causation-id", "saga-2/reserve/do/1"}},
                       R"({"balance":2})");
  reply.correlation_id = "saga-2";
  auto event = dressed("parcel.lost/p-9", {{"sagaflow-kind", "event"}}, R"({"parcel":"p-9"})");
  event.type = "parcel.lost";
  probe.publish("", t.reply_queue(), command);
  probe.publish("", t.reply_queue(), reply);
  probe.publish(t.events_exchange(), "parcel.lost", event);

  auto dead =
      take_dead_letters(probe, t, 3, [&] { orchestrator.run_once(std::chrono::milliseconds(50)); });
  check_dead_letter(dead[command.message_id], command, t.reply_queue(), DeadLetterCode::wrong_kind,
                    "the orchestrator takes replies and events, not commands");
  check_dead_letter(dead[reply.message_id], reply, t.reply_queue(), DeadLetterCode::unknown_saga,
                    "reply for unknown saga 'saga-2'");
  check_dead_letter(dead[event.message_id], event, t.orchestrator_events_queue(),
                    DeadLetterCode::unmatched_event, "no saga waits for event parcel.lost");

  // Acknowledged once the copies were confirmed: nothing is left or comes back.
  CHECK(eventually([&] {
    return probe.ready(t.reply_queue()) == 0 && probe.ready(t.orchestrator_events_queue()) == 0;
  }));
  orchestrator.run_once(std::chrono::milliseconds(200));
  CHECK_FALSE(probe.get(t.dead_letter_queue()));

  CHECK(eventually([&] { return observers.total() == 3; }));
  CHECK(observers.count(DeadLetterCode::wrong_kind) == 1);
  CHECK(observers.count(DeadLetterCode::unknown_saga) == 1);
  CHECK(observers.count(DeadLetterCode::unmatched_event) == 1);
  check_logged(
      captured,
      {{command.message_id, {DeadLetterCode::wrong_kind, t.reply_queue()}},
       {reply.message_id, {DeadLetterCode::unknown_saga, t.reply_queue()}},
       {event.message_id, {DeadLetterCode::unmatched_event, t.orchestrator_events_queue()}}},
      dead);
}

TEST_CASE(
    "a malformed, a non-JSON and an oversized input the adapter dead-letters keep everything") {
  Scratch scratch("dl-adapter", {});
  const auto& t = scratch.topology();
  auto& probe = scratch.probe();
  Observers observers;
  LogCapture captured;
  auto settings = settings_for(t, observers);
  settings.max_message_bytes = 1024;
  OrchestratorTransport transport(settings);
  transport.wait_connected(Duration(10000));

  auto malformed = dressed("odd-kind", {{"sagaflow-kind", "query\x1b[2K"}}, R"({"ok":true})");
  auto not_json =
      dressed("not-json", {{"sagaflow-kind", "reply"}, {"outcome", "success"}}, "{not json");
  auto oversized = dressed("too-big", {{"sagaflow-kind", "reply"}, {"outcome", "success"}},
                           R"({"pad":")" + std::string(2000, 'x') + R"("})");
  for (const auto* m : {&malformed, &not_json, &oversized}) probe.publish("", t.reply_queue(), *m);

  auto dead = take_dead_letters(probe, t, 3);
  check_dead_letter(dead["odd-kind"], malformed, t.reply_queue(),
                    DeadLetterCode::malformed_envelope, "unknown sagaflow-kind 'query\x1b[2K'");
  check_dead_letter(dead["not-json"], not_json, t.reply_queue(), DeadLetterCode::not_json,
                    "body is not JSON: ");
  check_dead_letter(dead["too-big"], oversized, t.reply_queue(), DeadLetterCode::oversized,
                    "message of 2010 bytes is over the limit of 1024 bytes");
  std::vector<Delivery> none;
  CHECK(transport.receive(none, 10, Duration(300)) == 0);  // the engine never saw them
  CHECK(eventually([&] { return probe.ready(t.reply_queue()) == 0; }));

  CHECK(eventually([&] { return observers.total() == 3; }));
  CHECK(observers.count(DeadLetterCode::malformed_envelope) == 1);
  CHECK(observers.count(DeadLetterCode::not_json) == 1);
  CHECK(observers.count(DeadLetterCode::oversized) == 1);
  check_logged(captured,
               {{"odd-kind", {DeadLetterCode::malformed_envelope, t.reply_queue()}},
                {"not-json", {DeadLetterCode::not_json, t.reply_queue()}},
                {"too-big", {DeadLetterCode::oversized, t.reply_queue()}}},
               dead);
  // The escape sequence from the message reached the header as it was, the log escaped.
  for (const auto& line : captured.lines(kDeadLettered)) {
    if (field(line, "message_id") != "odd-kind") continue;
    CHECK(field(line, "detail") == "unknown sagaflow-kind 'query\\x1b[2K'");
  }
}

TEST_CASE("commands the worker dead-letters keep everything") {
  Scratch scratch("dl-worker", {"points"});
  const auto& t = scratch.topology();
  auto& probe = scratch.probe();
  Observers observers;
  LogCapture captured;
  HandlerThread handlers;
  worker::Dispatcher dispatcher;
  dispatcher.on("points.reserve", [](const worker::Command&) { return worker::Result::ok(); });
  auto settings = worker_settings(t, "points");
  settings.dead_letters = &observers.both;
  Worker worker(handlers.io(), dispatcher, settings);
  worker.wait_connected(Duration(10000));

  auto no_reply_to =
      dressed("saga-3/reserve/do/1", {{"sagaflow-kind", "command"}}, R"({"points":5})");
  no_reply_to.correlation_id = "saga-3";
  auto stray_reply = dressed("saga-4/reserve/do/1/reply",
                             {{"sagaflow-kind", "reply"}, {"outcome", "success"}}, "{}");
  auto unroutable =
      dressed("saga-5/reserve/do/1", {{"sagaflow-kind", "command"}}, R"({"points":5})");
  unroutable.reply_to = "t.dl-worker.nobody-listens";
  for (const auto* m : {&no_reply_to, &stray_reply, &unroutable}) {
    probe.publish(t.commands_exchange(), "points", *m);
  }

  const auto queue = t.command_queue("points");
  auto dead = take_dead_letters(probe, t, 3);
  check_dead_letter(dead[no_reply_to.message_id], no_reply_to, queue, DeadLetterCode::no_reply_to,
                    "command has no reply_to: nowhere to send the reply");
  check_dead_letter(dead[stray_reply.message_id], stray_reply, queue, DeadLetterCode::wrong_kind,
                    "a command queue takes only commands, this is a reply");
  check_dead_letter(dead[unroutable.message_id], unroutable, queue, DeadLetterCode::unroutable,
                    "the reply cannot be delivered: unroutable: ");
  CHECK(eventually([&] { return probe.ready(queue) == 0; }));

  CHECK(eventually([&] { return observers.total() == 3; }));
  CHECK(observers.count(DeadLetterCode::no_reply_to) == 1);
  CHECK(observers.count(DeadLetterCode::wrong_kind) == 1);
  CHECK(observers.count(DeadLetterCode::unroutable) == 1);
  check_logged(captured,
               {{no_reply_to.message_id, {DeadLetterCode::no_reply_to, queue}},
                {stray_reply.message_id, {DeadLetterCode::wrong_kind, queue}},
                {unroutable.message_id, {DeadLetterCode::unroutable, queue}}},
               dead);
}

TEST_CASE("under a burst of dead letters the log is rate-limited and says what it held back") {
  Scratch scratch("dl-burst", {});
  const auto& t = scratch.topology();
  auto& probe = scratch.probe();
  Observers observers(3);  // 3 lines a second; the test's time stands still until it moves it
  LogCapture captured;
  auto settings = settings_for(t, observers);
  OrchestratorTransport transport(settings);
  transport.wait_connected(Duration(10000));

  const auto malformed = [](int i) {
    return RawMessage{"burst-" + std::to_string(i), "points.reserve", "application/json", {}, "{}"};
  };
  for (int i = 0; i < 10; ++i) probe.publish("", t.reply_queue(), malformed(i));
  take_dead_letters(probe, t, 10);
  REQUIRE(eventually([&] { return observers.total() == 10; }));  // the metric counts them all
  auto lines = captured.lines(kDeadLettered);
  REQUIRE(lines.size() == 3);
  for (const auto& line : lines) {
    CHECK(field(line, "reason") == "malformed_envelope");
    CHECK(field(line, "message_id").starts_with("burst-"));
    CHECK(line.at("suppressed").as_int64() == 0);
  }

  // A second later the next one is written, saying how many were held back.
  observers.elapsed_ms += 1000;
  probe.publish("", t.reply_queue(), malformed(10));
  take_dead_letters(probe, t, 1);
  REQUIRE(eventually([&] { return captured.lines(kDeadLettered).size() == 4; }));
  const auto last = captured.lines(kDeadLettered).back();
  CHECK(field(last, "message_id") == "burst-10");
  CHECK(last.at("suppressed").as_int64() == 7);
  CHECK(observers.total() == 11);
}

TEST_CASE("a dead letter whose copy is returned is rejected once, and the worker goes on") {
  Scratch scratch("dl-refused", {"points"});
  const auto& t = scratch.topology();
  auto& probe = scratch.probe();
  Observers observers;
  const auto queue = t.command_queue("points");
  {
    HandlerThread handlers;
    worker::Dispatcher dispatcher;
    dispatcher.on("points.do", [](const worker::Command&) { return worker::Result::ok(); });
    auto settings = worker_settings(t, "points");
    settings.dead_letters = &observers.both;
    Worker worker(handlers.io(), dispatcher, settings);
    OrchestratorTransport orchestrator(orchestrator_settings(t, {"points"}));
    worker.wait_connected(Duration(10000));
    orchestrator.wait_connected(Duration(10000));

    // Nothing is bound to the dead exchange: the copy comes back (mandatory, 312 NO_ROUTE), and
    // the queue's own dead-lettering, to the same exchange, drops the original.
    probe.delete_queue(t.dead_letter_queue());
    auto orphan = dressed("saga-6/reserve/do/1", {{"sagaflow-kind", "command"}}, "{}");
    probe.publish(t.commands_exchange(), "points", orphan);
    CHECK(eventually([&] { return observers.count(DeadLetterCode::no_reply_to) == 1; }));
    std::this_thread::sleep_for(500ms);  // a requeued original would come back meanwhile
    CHECK(observers.total() == 1);
    CHECK(probe.ready(queue) == 0);

    // The link is still up: the next command is answered.
    const auto next = command(t, "points", "saga-7/do/1");
    orchestrator.publish(std::span(&next, 1));
    const auto replies = receive_n(orchestrator, 1);
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].message.causation_id == next.id);
    CHECK(replies[0].message.outcome == ReplyOutcome::success);
  }
  // Closed: an original left unacknowledged would be ready again now.
  CHECK(probe.ready(queue) == 0);
  CHECK(observers.total() == 1);
  // Nobody declared the dead-letter queue again meanwhile: the copy had nowhere to go.
  CHECK_FALSE(queues_named(t.dead_letter_queue()).contains(t.dead_letter_queue()));
}

}  // namespace sagaflow::rabbitmq
