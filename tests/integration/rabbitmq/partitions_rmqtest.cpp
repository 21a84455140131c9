// Several orchestrators' transports on one broker (tools/test-broker): each partition's replies
// reach only the transport that consumes that partition, and what one held unacknowledged
// reaches the next consumer when the partition moves.
#include <set>
#include <thread>

#include "integration/rabbitmq/broker.hpp"

namespace sagaflow::rabbitmq {
namespace {

using namespace testing;

constexpr int kPartitions = 4;
constexpr std::string_view kEvent = "parcel.delivered";

OrchestratorSettings partitioned(const Topology& t) {
  OrchestratorSettings s;
  s.connection = connection();
  s.topology = t;
  s.event_types = {std::string(kEvent)};
  s.partitions = kPartitions;
  return s;
}

Message reply_for(const Topology& t, int partition, std::string id) {
  Message m;
  m.kind = MessageKind::reply;
  m.id = std::move(id);
  m.type = "points.reserve";
  m.destination = t.reply_queue(partition);
  m.correlation_id = "saga-" + std::to_string(partition);
  m.causation_id = "cmd-1";
  m.body = "{}";
  return m;
}

Message event(std::string id, std::string destination = {}) {
  Message m;
  m.kind = MessageKind::event;
  m.id = std::move(id);
  m.type = std::string(kEvent);
  m.destination = std::move(destination);
  m.body = R"({"n":1})";
  return m;
}

std::set<std::string> ids_of(const std::vector<Delivery>& ds) {
  std::set<std::string> ids;
  for (const auto& d : ds) ids.insert(d.message.id);
  return ids;
}

std::vector<std::uint64_t> tags_of(const std::vector<Delivery>& ds) {
  std::vector<std::uint64_t> tags;
  for (const auto& d : ds) tags.push_back(d.tag);
  return tags;
}

const std::vector<int> kLow{0, 1};
const std::vector<int> kHigh{2, 3};

}  // namespace

TEST_CASE("with partitions every reply queue is declared, and nothing consumed until told") {
  Scratch scratch("partitions-declared", {}, kPartitions);
  const auto& t = scratch.topology();
  OrchestratorTransport x(partitioned(t));
  x.wait_connected(Duration(10000));
  for (int p = 0; p < kPartitions; ++p) {
    CHECK(scratch.probe().ready(t.reply_queue(p)) == 0);  // ready() requires the queue
  }
  Message early = reply_for(t, 2, "early");
  CHECK_NOTHROW(x.publish(std::span(&early, 1)));  // mandatory: routable
  std::vector<Delivery> none;
  CHECK(x.receive(none, 10, Duration(300)) == 0);
  CHECK(scratch.probe().ready(t.reply_queue(2)) == 1);
}

TEST_CASE("a reply to a partition's queue reaches only the transport consuming that partition") {
  Scratch scratch("partitions-route", {}, kPartitions);
  const auto& t = scratch.topology();
  OrchestratorTransport x(partitioned(t));
  OrchestratorTransport y(partitioned(t));
  x.consume_partitions(kLow);
  y.consume_partitions(kHigh);
  x.wait_connected(Duration(10000));
  y.wait_connected(Duration(10000));

  std::vector<Message> replies{reply_for(t, 3, "to-3"), reply_for(t, 0, "to-0")};
  x.publish(replies);
  auto at_y = receive_n(y, 1);
  REQUIRE(at_y.size() == 1);
  CHECK(at_y[0].message.id == "to-3");
  CHECK(at_y[0].message.destination == t.reply_queue(3));
  auto at_x = receive_n(x, 1);
  REQUIRE(at_x.size() == 1);
  CHECK(at_x[0].message.id == "to-0");
  std::vector<Delivery> more;
  CHECK(x.receive(more, 10, Duration(300)) == 0);
  CHECK(y.receive(more, 10, Duration(300)) == 0);
  x.ack(tags_of(at_x));
  y.ack(tags_of(at_y));

  // An event forwarded to partition 2's owner: through the default exchange to that queue,
  // still an event.
  Message forwarded = event("evt-forwarded", t.reply_queue(2));
  x.publish(std::span(&forwarded, 1));
  auto got = receive_n(y, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].message.id == "evt-forwarded");
  CHECK(got[0].message.kind == MessageKind::event);
  CHECK(got[0].message.type == kEvent);
  CHECK(x.receive(more, 10, Duration(300)) == 0);
  y.ack(tags_of(got));

  // Outside events go to the shared events queue, which both consume.
  Message outside = event("evt-outside");
  x.publish(std::span(&outside, 1));
  std::vector<Delivery> either;
  CHECK(eventually([&] {
    x.receive(either, 1, Duration(20));
    y.receive(either, 1, Duration(20));
    return !either.empty();
  }));
  CHECK(ids_of(either) == std::set<std::string>{"evt-outside"});
}

TEST_CASE("when a partition moves, its unacknowledged deliveries reach the new consumer") {
  Scratch scratch("partitions-move", {}, kPartitions);
  const auto& t = scratch.topology();
  OrchestratorTransport x(partitioned(t));
  OrchestratorTransport y(partitioned(t));
  x.consume_partitions(kLow);
  y.consume_partitions(kHigh);
  x.wait_connected(Duration(10000));
  y.wait_connected(Duration(10000));

  std::vector<Message> batch;
  for (int i = 0; i < 3; ++i) batch.push_back(reply_for(t, 1, "move-" + std::to_string(i)));
  x.publish(batch);
  auto held = receive_n(x, 3);
  REQUIRE(held.size() == 3);
  x.ack(std::span(&held[0].tag, 1));  // done with before the move: it does not come again
  std::set<std::string> unacked{held[1].message.id, held[2].message.id};

  // Partition 1 moves from x to y: x reconnects without it, and what it held goes back.
  const auto before = x.connections();
  x.consume_partitions(std::vector<int>{0});
  CHECK(x.connected());
  CHECK(x.connections() == before + 1);
  y.consume_partitions(std::vector<int>{1, 2, 3});
  auto moved = receive_n(y, 2);
  CHECK(ids_of(moved) == unacked);
  std::vector<Delivery> none;
  CHECK(y.receive(none, 10, Duration(300)) == 0);

  // x's tags of the old connection are ignored on the new one (no channel error).
  x.ack(tags_of(held));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(x.connected());
  CHECK(x.connections() == before + 1);
  CHECK(x.receive(none, 10, Duration(300)) == 0);
  y.ack(tags_of(moved));

  // Owning no partition, x no longer takes outside events either: they all reach y.
  x.consume_partitions(std::vector<int>{});
  std::vector<Message> events;
  for (int i = 0; i < 3; ++i) events.push_back(event("evt-" + std::to_string(i)));
  x.publish(events);
  auto at_y = receive_n(y, 3);
  CHECK(ids_of(at_y) == std::set<std::string>{"evt-0", "evt-1", "evt-2"});
  CHECK(x.receive(none, 10, Duration(300)) == 0);
  y.ack(tags_of(at_y));
}

}  // namespace sagaflow::rabbitmq
