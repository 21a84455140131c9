#pragma once
// A RabbitMQ of a test's own (tools/test-broker on other ports and another data folder), for the
// tests that stop and start a broker: the shared one keeps serving the other tests meanwhile.
// Its port is the shared broker's (SAGAFLOW_TEST_AMQP_URL) plus `offset`; the shared broker
// uses its port and the three after it (distribution, epmd, TLS), and so does each own broker,
// so offsets must be 4 or more apart. Stopped at the end.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

namespace sagaflow::testing {

class OwnBroker {
 public:
  // Started at once unless `running` is false (a test that begins with the broker down).
  explicit OwnBroker(int offset, bool running = true) : port_(shared_port() + offset) {
    if (running) {
      REQUIRE_MESSAGE(script("start") == 0, "cannot start the test's own broker on port " << port_);
    } else {
      script("stop");  // one left running by an earlier, interrupted run
    }
  }
  ~OwnBroker() { script("stop"); }
  OwnBroker(const OwnBroker&) = delete;
  OwnBroker& operator=(const OwnBroker&) = delete;

  std::string url() const { return "amqp://guest:guest@127.0.0.1:" + std::to_string(port_) + "/"; }
  void stop() { REQUIRE(script("stop") == 0); }
  void start() { REQUIRE(script("start") == 0); }

 private:
  // amqp://user:password@host:PORT/vhost
  static int shared_port() {
    const char* url = std::getenv("SAGAFLOW_TEST_AMQP_URL");
    REQUIRE_MESSAGE(url != nullptr, "SAGAFLOW_TEST_AMQP_URL is not set: run tools/test");
    const std::string text(url);
    const auto host = text.find('@') == std::string::npos ? text.find("//") + 2 : text.find('@');
    const auto colon = text.find(':', host);
    REQUIRE_MESSAGE(colon != std::string::npos, "SAGAFLOW_TEST_AMQP_URL names no port");
    return std::atoi(text.c_str() + colon + 1);
  }

  int script(const char* command) const {
    const std::string line =
        "env -u SAGAFLOW_TEST_AMQP_URL SAGAFLOW_TEST_AMQP_PORT=" + std::to_string(port_) +
        " SAGAFLOW_TEST_BROKER_DIR=" + SAGAFLOW_BINARY_DIR + "/test-servers/rabbitmq-" +
        std::to_string(port_) + " " + SAGAFLOW_SOURCE_DIR + "/tools/test-broker " + command;
    return std::system(line.c_str());
  }

  int port_ = 0;
};

}  // namespace sagaflow::testing
