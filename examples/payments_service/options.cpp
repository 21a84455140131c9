#include "options.hpp"

#include <charconv>
#include <cstdlib>
#include <exception>
#include <string_view>

#include <boost/asio/ip/address.hpp>

namespace payments_service {
namespace {

// "host:port", "[v6]:port"; the host must be an address (no name lookup at start-up).
std::string parse_listen(std::string_view text, Options& options) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return "--listen wants ADDRESS:PORT";
  auto host = text.substr(0, colon);
  const auto port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return "--listen: '" + std::string(host) + "' is not an IP address";
  unsigned value = 0;
  auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (err != std::errc() || end != port.data() + port.size() || port.empty() || value > 65535) {
    return "--listen: '" + std::string(port) + "' is not a port";
  }
  options.listen_address = std::string(host);
  options.listen_port = static_cast<std::uint16_t>(value);
  return {};
}

}  // namespace

std::string usage() {
  return "usage: payments_service --amqp URL [--listen ADDRESS:PORT] [--prefix P]\n"
         "  --amqp URL        the broker, amqp[s]://user:password@host:port/vhost\n"
         "                    (default: $SAGAFLOW_AMQP_URL)\n"
         "  --listen A:P      where the HTTP API listens (default: 127.0.0.1:8085)\n"
         "  --prefix P        the topology's name prefix (default: sagaflow)\n"
         "Serves the payments participant's commands and the HTTP API:\n"
         "  POST /payments/webhook, GET /payments/{id}, GET /healthz\n"
         "Webhooks must be signed when $SAGAFLOW_PAYMENTS_WEBHOOK_SECRET is set.\n";
}

std::string parse_options(int argc, const char* const* argv, Options& options) {
  std::string url;
  if (const char* env = std::getenv("SAGAFLOW_AMQP_URL")) url = env;
  if (const char* env = std::getenv("SAGAFLOW_PAYMENTS_WEBHOOK_SECRET")) {
    options.webhook_secret = env;
  }
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return "help";
    const bool takes_value = arg == "--amqp" || arg == "--listen" || arg == "--prefix";
    if (!takes_value) return "unknown argument '" + std::string(arg) + "'";
    if (i + 1 >= argc) return std::string(arg) + " needs a value";
    const std::string_view value = argv[++i];
    if (arg == "--amqp") {
      url = value;
    } else if (arg == "--listen") {
      if (auto problem = parse_listen(value, options); !problem.empty()) return problem;
    } else {
      if (value.empty()) return "--prefix may not be empty";
      options.prefix = value;
    }
  }
  if (url.empty()) return "no broker: give --amqp URL or set SAGAFLOW_AMQP_URL";
  try {
    options.connection = sagaflow::rabbitmq::ConnectionSettings::from_url(url);
  } catch (const std::exception& e) {
    return e.what();  // rabbitmq::Error masks the password
  }
  return {};
}

}  // namespace payments_service
