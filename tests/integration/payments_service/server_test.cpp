// payments_service's HTTP server (examples/payments_service/server.hpp) over a real socket,
// with a broker that is not there: what the session answers before handle_request is reached.
#include <chrono>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <boost/asio/write.hpp>

#include "http_client.hpp"
#include "server.hpp"

namespace payments_service {
namespace {

using namespace std::chrono_literals;

// Nothing listens on port 1: the Worker keeps reconnecting in the background meanwhile.
Options offline_options() {
  Options o;
  o.connection =
      sagaflow::rabbitmq::ConnectionSettings::from_url("amqp://guest:guest@127.0.0.1:1/");
  o.connection.connect_timeout = 200ms;
  o.listen_port = 0;
  o.limits.body_bytes = 1024;
  o.limits.timeout = 1s;
  return o;
}

class Running {
 public:
  explicit Running(Options options)
      : service_(std::move(options)), thread_([this] { service_.run(); }) {}
  ~Running() {
    service_.stop();
    thread_.join();
  }
  Service& service() { return service_; }

 private:
  Service service_;
  std::thread thread_;
};

TEST_CASE("the server answers over HTTP, and says it is unhealthy without its broker") {
  Running running(offline_options());
  auto endpoint = running.service().endpoint();
  CHECK(endpoint.port() != 0);
  running.service().payments().open_payment("pay-1", 700);

  auto payment = testing::request(endpoint, http::verb::get, "/payments/pay-1");
  CHECK(payment.result() == http::status::ok);
  CHECK(payment.body().find("\"pending\"") != std::string::npos);

  auto health = testing::request(endpoint, http::verb::get, "/healthz");
  CHECK(health.result() == http::status::service_unavailable);

  // Not connected: the event publisher throws, the webhook asks for a retry.
  auto webhook =
      testing::request(endpoint, http::verb::post, "/payments/webhook",
                       sagaflow::sagas::PaymentsService::webhook_body("pay-1", "succeeded", 700));
  CHECK(webhook.result() == http::status::service_unavailable);
  CHECK(webhook.body().find("EventNotPublished") != std::string::npos);
}

TEST_CASE("a request over the body limit is refused with 413 and a JSON error") {
  Running running(offline_options());
  auto res = testing::request(running.service().endpoint(), http::verb::post, "/payments/webhook",
                              std::string(4096, 'x'));
  CHECK(res.result() == http::status::payload_too_large);
  CHECK(res.body().find("\"PayloadTooLarge\"") != std::string::npos);
  CHECK_FALSE(res.keep_alive());
}

TEST_CASE("what is not HTTP gets a 400, and a silent client is dropped after the time limit") {
  Running running(offline_options());
  boost::asio::io_context io;

  boost::asio::ip::tcp::socket garbage(io);
  garbage.connect(running.service().endpoint());
  boost::asio::write(garbage, boost::asio::buffer(std::string("HELLO\r\n\r\n")));
  boost::beast::flat_buffer buffer;
  Response res;
  http::read(garbage, buffer, res);
  CHECK(res.result() == http::status::bad_request);
  CHECK(res.body().find("\"BadRequest\"") != std::string::npos);

  boost::asio::ip::tcp::socket silent(io);
  silent.connect(running.service().endpoint());
  const auto start = std::chrono::steady_clock::now();
  char byte = 0;
  boost::system::error_code ec;
  silent.read_some(boost::asio::buffer(&byte, 1), ec);  // returns when the server closes
  CHECK(ec);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

}  // namespace
}  // namespace payments_service
