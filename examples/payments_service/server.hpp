#pragma once
// The payment service as a program runs it: the payments participant served over RabbitMQ by a
// rabbitmq::Worker whose handlers run on an io_context of their own (one thread), and the HTTP
// API (http_api.hpp) on another, so that a slow command never holds up the gateway's webhooks
// and the other way round.
//
// Webhooks publish on the HTTP threads through a rabbitmq::EventPublisher, a connection of its
// own that declares no queue, and wait for the broker's confirm (up to
// Options::confirm_timeout); that is why the HTTP side has more than one thread.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "http_api.hpp"
#include "sagaflow/rabbitmq/event_publisher.hpp"
#include "sagaflow/rabbitmq/settings.hpp"
#include "sagaflow/rabbitmq/worker.hpp"
#include "sagaflow/sagas/payments.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace payments_service {

struct HttpLimits {
  std::size_t header_bytes = 8 * 1024;
  std::size_t body_bytes = 64 * 1024;  // a webhook is a few hundred bytes
  // To read one request (from its first byte or from the end of the previous one) and to
  // write one response; an idle keep-alive connection is closed after it too.
  std::chrono::seconds timeout{15};
};

struct Options {
  sagaflow::rabbitmq::ConnectionSettings connection;
  std::string prefix = "sagaflow";  // the topology's names (rabbitmq::Topology)
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 8085;  // 0: any free port (tests), see Service::endpoint()
  int http_threads = 2;
  HttpLimits limits;
  // When not empty, webhooks must be signed (PaymentsService::sign).
  std::string webhook_secret;
  std::chrono::milliseconds confirm_timeout{5000};
};

class Service {
 public:
  // Binds the listener (throws boost::system::system_error when it cannot) and starts the
  // Worker and the EventPublisher, which connect in the background. Nothing is served until run().
  explicit Service(Options options);
  // Stops serving, waits for the command handlers already running, closes the connection.
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Serves HTTP on Options::http_threads threads, the caller's among them, until stop().
  void run();
  // From any thread, a signal handler on http_context() included.
  void stop();

  boost::asio::ip::tcp::endpoint endpoint() const;  // the bound address, its port chosen
  boost::asio::io_context& http_context() { return http_io_; }
  sagaflow::sagas::PaymentsService& payments() { return payments_; }
  sagaflow::rabbitmq::Worker& worker() { return *worker_; }
  sagaflow::rabbitmq::EventPublisher& events() { return *events_; }

 private:
  class Listener;

  Options options_;
  sagaflow::sagas::PaymentsService payments_;
  sagaflow::worker::Dispatcher dispatcher_;
  Backend backend_;

  boost::asio::io_context worker_io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> worker_guard_;
  std::thread worker_thread_;
  std::unique_ptr<sagaflow::rabbitmq::Worker> worker_;
  std::unique_ptr<sagaflow::rabbitmq::EventPublisher> events_;  // the webhook's events

  boost::asio::io_context http_io_;
  std::shared_ptr<Listener> listener_;
};

}  // namespace payments_service
