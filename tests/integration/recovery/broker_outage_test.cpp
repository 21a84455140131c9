// A broker outage delays sagas and never decides how they end: sagaflowd on PostgreSQL and
// RabbitMQ loses its broker (a proxy between them goes down) for longer than every attempt's
// timeout and retries together, then gets it back. Each saga ends as its input says, no attempt
// times out, and the participants (which reach the broker directly) apply each effect once.
// With several orchestrators, a live one keeps its leases through the outage: heartbeats never
// wait on the broker.
#include <doctest/doctest.h>

#include "production.hpp"
#include "support/tcp_proxy.hpp"

using namespace std::chrono_literals;
using sagaflow::testing::TcpProxy;
using sagaflow::testing::recovery::broker_url;
using sagaflow::testing::recovery::Deployment;

namespace {

// The port of an amqp://user:password@host:port/ URL.
int port_of(const std::string& url) {
  const auto at = url.rfind('@');
  const auto colon = url.find(':', at == std::string::npos ? 0 : at);
  REQUIRE_MESSAGE(colon != std::string::npos, "no port in " << url);
  return std::stoi(url.substr(colon + 1));
}

std::string through(const std::string& url, int port) {
  const auto at = url.rfind('@');
  const auto colon = url.find(':', at == std::string::npos ? 0 : at);
  const auto end = url.find('/', colon);
  return url.substr(0, colon + 1) + std::to_string(port) +
         (end == std::string::npos ? "" : url.substr(end));
}

}  // namespace

TEST_CASE("the broker gone for longer than every attempt's timeout: sagas wait, none compensates") {
  TcpProxy proxy(port_of(broker_url()));
  Deployment d("outage");
  d.start_daemon({}, 0, {{"SAGAFLOW_AMQP_URL", through(broker_url(), proxy.port())}});

  proxy.down();  // sagaflowd can reach PostgreSQL but not the broker
  const auto expected = d.start_purchases("outage", 12);
  std::vector<std::string> keys;
  for (const auto& entry : expected) keys.push_back(entry.first);
  // offer_purchase's steps allow 3 attempts of 5 s each: 20 s is longer than all of them.
  std::this_thread::sleep_for(20s);
  CHECK(d.final_sagas(keys, 1s).empty());  // nothing could move without the broker
  proxy.up();
  d.check_ends(expected, 90s);
  // 8 purchases: create and fulfil each (offers), reserve and debit each (points); 4 refused:
  // create and cancel (offers), nothing applied by points.
  auto applied = d.stop_participants();
  CHECK(applied["offers"].first == 8 * 2 + 4 * 2);
  CHECK(applied["points"].first == 8 * 2);
  CHECK(applied["offers"].second == 0);
  CHECK(applied["points"].second == 0);
}

TEST_CASE("a live orchestrator keeps its leases, same epochs, while its broker is gone") {
  TcpProxy proxy(port_of(broker_url()));
  Deployment d("keeper");
  d.start_daemon({}, 0,
                 {{"SAGAFLOW_AMQP_URL", through(broker_url(), proxy.port())},
                  {"SAGAFLOW_PARTITIONS", "4"},
                  {"SAGAFLOW_LEASE_TTL_MS", "2000"},
                  {"SAGAFLOW_OWNER", "keeper"}});
  std::map<int, std::pair<std::string, std::uint64_t>> before;
  for (int i = 0; i < 100 && before.size() < 4; ++i) {
    before = d.live_leases();
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(before.size() == 4);

  // Sagas started while the broker is gone: their commands wait in the outbox and are sent
  // again round after round, which once delayed the heartbeats.
  proxy.down();
  const auto expected = d.start_purchases("keeper", 4);
  // Three times the leases' ttl without the broker; the leases never lapse meanwhile.
  const auto until = std::chrono::steady_clock::now() + 6s;
  while (std::chrono::steady_clock::now() < until) {
    const auto now = d.live_leases();
    REQUIRE_MESSAGE(now == before, "the leases changed while the broker was gone");
    std::this_thread::sleep_for(200ms);
  }
  proxy.up();

  d.check_ends(expected, 60s);
  CHECK(d.live_leases() == before);  // the same owner and epoch for every partition
  d.stop_participants();
}
