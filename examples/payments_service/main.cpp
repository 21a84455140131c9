// payments_service: an existing HTTP service that embeds a Sagaflow participant, e.g.
//
//   payments_service --amqp amqp://guest:guest@127.0.0.1:5672/ --listen 127.0.0.1:8085
//
// It answers the payments participant's commands (payments.create, payments.cancel, ...) from
// its RabbitMQ queue, and the payment gateway's webhooks over HTTP, publishing payment.succeeded
// or payment.failed to the events exchange. SIGINT or SIGTERM stops it; commands not yet
// acknowledged go back to the queue.
#include <csignal>
#include <cstdio>
#include <exception>

#include <boost/asio/signal_set.hpp>

#include "options.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
  payments_service::Options options;
  if (auto problem = payments_service::parse_options(argc, argv, options); !problem.empty()) {
    const bool help = problem == "help";
    if (!help) std::fprintf(stderr, "payments_service: %s\n", problem.c_str());
    std::fputs(payments_service::usage().c_str(), help ? stdout : stderr);
    return help ? 0 : 2;
  }
  try {
    payments_service::Service service(options);
    service.worker().wait_connected(std::chrono::seconds(30));
    boost::asio::signal_set signals(service.http_context(), SIGINT, SIGTERM);
    signals.async_wait([&service](const boost::system::error_code&, int) { service.stop(); });
    const auto endpoint = service.endpoint();
    std::fprintf(stderr, "payments_service: http://%s:%u, broker %s, prefix %s\n",
                 endpoint.address().to_string().c_str(), endpoint.port(),
                 options.connection.redacted_url().c_str(), options.prefix.c_str());
    service.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "payments_service: %s\n", e.what());
    return 1;
  }
  return 0;
}
