#include "sagaflow/rabbitmq/settings.hpp"

#include <amqp.h>

#include <vector>

namespace sagaflow::rabbitmq {

std::string mask_password(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  auto authority = scheme + 3;
  auto at = url.find('@', authority);
  auto slash = url.find('/', authority);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  auto colon = url.find(':', authority);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "****" + std::string(url.substr(at));
}

QueueType queue_type_from(std::string_view text) {
  if (text == "quorum") return QueueType::quorum;
  if (text == "classic") return QueueType::classic;
  throw Error("queue type '" + std::string(text) + "' is neither quorum nor classic");
}

ConnectionSettings ConnectionSettings::from_url(std::string_view url) {
  // amqp_parse_url cuts the buffer it is given into the pieces it returns.
  std::vector<char> buffer(url.begin(), url.end());
  buffer.push_back('\0');
  amqp_connection_info info{};
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) {
    throw Error("not an AMQP URL: '" + mask_password(url) +
                "' (expected amqp[s]://user:password@host:port/vhost)");
  }
  ConnectionSettings s;
  s.host = info.host;
  s.port = info.port;
  s.user = info.user;
  s.password = info.password;
  s.vhost = info.vhost == nullptr || *info.vhost == '\0' ? "/" : info.vhost;
  s.tls.enabled = info.ssl != 0;
  return s;
}

std::string ConnectionSettings::redacted_url() const {
  std::string vhost_part = vhost == "/" ? "" : vhost;
  return std::string(tls.enabled ? "amqps" : "amqp") + "://" + user + ":****@" + host + ":" +
         std::to_string(port) + "/" + vhost_part;
}

}  // namespace sagaflow::rabbitmq
