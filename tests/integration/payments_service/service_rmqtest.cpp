// payments_service end to end over the test broker (SAGAFLOW_TEST_AMQP_URL; unset fails, never
// skips): the payments participant answers a command from its queue, and the gateway's webhook
// over HTTP puts payment.succeeded on the events exchange.
#include <chrono>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include "http_client.hpp"
#include "integration/rabbitmq/broker.hpp"
#include "server.hpp"

namespace payments_service {
namespace {

namespace json = boost::json;
namespace rmq = sagaflow::rabbitmq;
using namespace std::chrono_literals;
using sagaflow::Message;
using sagaflow::MessageKind;

TEST_CASE("payments_service answers payments.create and publishes the webhook's payment event") {
  rmq::testing::Scratch scratch("payments_service_e2e", {"payments"});
  const auto& topology = scratch.topology();

  // The orchestrator's side: sends the command, reads the reply and the events bound to it.
  rmq::OrchestratorTransport orchestrator({.connection = rmq::testing::connection(),
                                           .topology = topology,
                                           .event_types = {"payment.*"},
                                           .services = {"payments"}});
  orchestrator.wait_connected(10s);

  Options options;
  options.connection = rmq::testing::connection();
  options.prefix = topology.prefix;
  options.listen_port = 0;
  Service service(options);
  service.worker().wait_connected(10s);
  std::thread http_thread([&service] { service.run(); });
  struct Join {
    Service& s;
    std::thread& t;
    ~Join() {
      s.stop();
      t.join();
    }
  } join{service, http_thread};

  const Message create{.id = "saga-e2e/pay/command/1",
                       .kind = MessageKind::command,
                       .type = "payments.create",
                       .destination = "payments",
                       .correlation_id = "saga-e2e",
                       .reply_to = topology.reply_queue(),
                       .idempotency_key = "saga-e2e/pay",
                       .flow = "booking_payment",
                       .step = "pay",
                       .attempt = 1,
                       .body = R"({"reference":"saga-e2e","booking_id":"b-1","amount":1500})"};
  orchestrator.publish({&create, 1});
  auto replies = rmq::testing::receive_n(orchestrator, 1);
  REQUIRE(replies.size() == 1);
  const auto& reply = replies[0].message;
  CHECK(reply.kind == MessageKind::reply);
  CHECK(reply.causation_id == create.id);
  REQUIRE(reply.outcome == sagaflow::ReplyOutcome::success);
  const std::string payment_id(json::parse(reply.body).at("payment_id").as_string());
  orchestrator.ack(std::vector<std::uint64_t>{replies[0].tag});

  auto webhook = testing::request(
      service.endpoint(), http::verb::post, "/payments/webhook",
      sagaflow::sagas::PaymentsService::webhook_body(payment_id, "succeeded", 1500));
  REQUIRE_MESSAGE(webhook.result() == http::status::ok, webhook.body());

  auto events = rmq::testing::receive_n(orchestrator, 1);
  REQUIRE(events.size() == 1);
  const auto& event = events[0].message;
  CHECK(event.kind == MessageKind::event);
  CHECK(event.type == "payment.succeeded");
  CHECK(event.id == "payment.succeeded/" + payment_id);
  auto body = json::parse(event.body).as_object();
  CHECK(body.at("payment_id").as_string() == payment_id);
  CHECK(body.at("reference").as_string() == "saga-e2e");
  orchestrator.ack(std::vector<std::uint64_t>{events[0].tag});

  auto payment = testing::request(service.endpoint(), http::verb::get, "/payments/" + payment_id);
  CHECK(payment.result() == http::status::ok);
  CHECK(json::parse(payment.body()).at("status").as_string() == "succeeded");
  CHECK(testing::request(service.endpoint(), http::verb::get, "/healthz").result() ==
        http::status::ok);
}

}  // namespace
}  // namespace payments_service
