// A broker outage delays sagas and never decides how they end: sagaflowd on PostgreSQL and
// RabbitMQ loses its broker (a proxy between them goes down) for longer than every attempt's
// timeout and retries together, then gets it back. Each saga ends as its input says, no attempt
// times out, and the participants (which reach the broker directly) apply each effect once.
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
  std::vector<std::string> keys;
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 12; ++i) {
    const bool affordable = i % 3 != 2;
    const auto key = "outage-" + std::to_string(i);
    keys.push_back(key);
    expected[key] = affordable ? "completed" : "compensated";
    REQUIRE(d.try_start(
        0, "offer_purchase", key,
        affordable
            ? sagaflow::json::object{{"user_id", "carol"}, {"offer_id", "spa"}, {"price", 10}}
            : sagaflow::json::object{{"user_id", "bob"}, {"offer_id", "spa"}, {"price", 400}}));
  }
  // offer_purchase's steps allow 3 attempts of 5 s each: 20 s is longer than all of them.
  std::this_thread::sleep_for(20s);
  CHECK(d.final_sagas(keys, 1s).empty());  // nothing could move without the broker
  proxy.up();

  auto sagas = d.final_sagas(keys, 90s);
  for (const auto& key : keys) {
    REQUIRE_MESSAGE(sagas.contains(key), "saga " << key << " did not finish");
    const auto story = d.story(sagas[key].id);
    CHECK_MESSAGE(sagas[key].status == expected[key],
                  key << " ended " << sagas[key].status << story);
    CHECK_MESSAGE(story.find("step_timed_out") == std::string::npos,
                  key << " had an attempt time out:" << story);
  }
  // 8 purchases: create and fulfil each (offers), reserve and debit each (points); 4 refused:
  // create and cancel (offers), nothing applied by points.
  auto applied = d.stop_participants();
  CHECK(applied["offers"].first == 8 * 2 + 4 * 2);
  CHECK(applied["points"].first == 8 * 2);
  CHECK(applied["offers"].second == 0);
  CHECK(applied["points"].second == 0);
}
