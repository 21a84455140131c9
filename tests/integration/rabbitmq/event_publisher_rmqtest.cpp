// rabbitmq::EventPublisher against the live broker: an outside event it publishes reaches a saga
// waiting for it (the saga goes on to its end), in the envelope docs/protocol.md 8 gives, and the
// publisher declares no queue: the broker's queue list (rabbitmqctl) holds only the
// orchestrator's.
#include <string>

#include "integration/rabbitmq/broker.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/rabbitmq/event_publisher.hpp"
#include "sagaflow/testing/memory_store.hpp"

namespace sagaflow::rabbitmq {
namespace {

using namespace testing;

// A saga that only waits for its parcel's delivery, then ends.
constexpr std::string_view kDelivery = R"(
name: delivery
version: 1
input:
  parcel_id: string
steps:
  - name: await_delivery
    wait:
      events: [parcel.delivered]
      correlate: $input.parcel_id
      key: $event.parcel_id
      timeout: 1h
    output: { signed_by: $event.signed_by }
)";

EventPublisherSettings publisher_settings(const Topology& t) {
  return {.connection = connection(), .topology = t, .confirm_timeout = Duration(10000)};
}

}  // namespace

TEST_CASE("an event from the EventPublisher reaches the waiting saga, and no queue is declared") {
  Scratch scratch("event-publisher", {});
  const auto& t = scratch.topology();
  EventPublisher publisher(publisher_settings(t));
  publisher.wait_connected(Duration(10000));
  CHECK(scratch.probe().exchange_exists(t.events_exchange()));
  CHECK_FALSE(scratch.probe().exchange_exists(t.commands_exchange()));

  // Mandatory: before the orchestrator binds its queue, nobody receives the type.
  auto delivered = worker::make_event("parcel.delivered/p-7", "parcel.delivered",
                                      json::object{{"parcel_id", "p-7"}, {"signed_by", "Ann"}});
  delivered.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  CHECK_THROWS_WITH_AS(publisher.publish(delivered), doctest::Contains("unroutable"), Error);

  FlowRegistry flows;
  auto loaded = flow::load_flow_text(kDelivery, "delivery.yaml");
  REQUIRE(loaded.ok());
  flows.add(loaded.flow);
  SystemClock clock;
  sagaflow::testing::MemoryStore store(clock);
  OrchestratorTransport transport(
      {.connection = connection(), .topology = t, .event_types = {"parcel.delivered"}});
  transport.wait_connected(Duration(10000));
  OrchestratorOptions options;
  options.engine.reply_to = t.reply_queue();
  Orchestrator orchestrator(flows, store, transport, clock, options);
  std::jthread rounds([&](std::stop_token stop) { orchestrator.run(stop); });
  auto id = orchestrator.start({.flow = "delivery", .input = json::object{{"parcel_id", "p-7"}}})
                .get()
                .saga_id;
  REQUIRE(eventually([&] { return store.load(id)->status == "waiting"; }));

  // A subscriber of the test's own sees the envelope as the orchestrator gets it.
  const std::string subscriber = t.prefix + ".subscriber";
  REQUIRE(scratch.probe().declare_queue(subscriber, false, {}, std::nullopt).empty());
  scratch.probe().bind(subscriber, t.events_exchange(), "parcel.delivered");
  publisher.publish(delivered);
  CHECK(eventually([&] { return store.load(id)->status == "completed"; }));
  CHECK(step_result(*store.load(id), "await_delivery").at("signed_by").as_string() == "Ann");
  auto got = scratch.probe().get_within(subscriber, 5000ms);
  scratch.probe().delete_queue(subscriber);
  REQUIRE(got.has_value());
  CHECK(got->routing_key == "parcel.delivered");
  CHECK(got->envelope == Envelope{{"message_id", "parcel.delivered/p-7"},
                                  {"type", "parcel.delivered"},
                                  {"content_type", "application/json"},
                                  {"delivery_mode", "2"},
                                  {"header sagaflow-kind", "S:event"},
                                  {"header attempt", "l:0"},
                                  {"header traceparent", "S:" + delivered.traceparent}});
  CHECK(json::parse(got->body) ==
        json::value(json::object{{"parcel_id", "p-7"}, {"signed_by", "Ann"}}));
  rounds.request_stop();
  rounds.join();

  // What the broker holds under the prefix: the orchestrator's queues, none of the publisher's.
  CHECK(queues_named(t.prefix + ".") == std::set<std::string>{t.reply_queue(),
                                                              t.orchestrator_events_queue(),
                                                              t.dead_letter_queue()});
  CHECK(scratch.probe().ready(t.dead_letter_queue()) == 0);
  CHECK(publisher.connections() == 1);
}

TEST_CASE("the EventPublisher reconnects after its connection drops and publishes again") {
  Scratch scratch("event-publisher-reconnect", {});
  const auto& t = scratch.topology();
  const std::string queue = t.prefix + ".subscriber";
  REQUIRE(scratch.probe().declare_queue(queue, false, {}, std::nullopt).empty());
  EventPublisher publisher(publisher_settings(t));
  publisher.wait_connected(Duration(10000));
  scratch.probe().bind(queue, t.events_exchange(), "tick");

  publisher.interrupt();
  REQUIRE(eventually([&] { return publisher.connections() == 2 && publisher.connected(); }));
  publisher.publish(worker::make_event("tick/1", "tick", json::object{{"n", 1}}));
  auto got = scratch.probe().get_within(queue, 5000ms);
  scratch.probe().delete_queue(queue);
  REQUIRE(got.has_value());
  CHECK(got->message_id == "tick/1");
}

}  // namespace sagaflow::rabbitmq
