#pragma once
// The envelope on the wire: Message <-> AMQP basic properties and headers (docs/protocol.md).
// Internal: the only place besides link.cpp that sees rabbitmq-c types.
#include <amqp.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sagaflow/engine/message.hpp"

namespace sagaflow::rabbitmq::detail {

using ExtraHeaders = std::vector<std::pair<std::string, std::string>>;

// Properties that point into the message and into this object: keep both alive until the
// publish call returns.
struct EncodedProperties {
  amqp_basic_properties_t properties{};
  std::vector<amqp_table_entry_t> headers;
};

// The properties point into `message` and `extra` as well: keep them alive until published.
void encode(const Message& message, const ExtraHeaders& extra, EncodedProperties& out);

// Fills `out` from a delivery; returns why the message is not a Sagaflow envelope, if it is
// not. `routing_key` gives commands their destination (the service) and replies theirs (the
// reply queue).
std::optional<std::string> decode(const amqp_basic_properties_t& properties, amqp_bytes_t body,
                                  std::string_view routing_key, Message& out);

// The delivery's own properties with `extra` headers added (replacing same-named ones), for
// dead-lettering a message that could not be decoded.
void with_extra_headers(const amqp_basic_properties_t& original, const ExtraHeaders& extra,
                        EncodedProperties& out);

inline amqp_bytes_t bytes(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}
inline std::string to_string(amqp_bytes_t b) {
  return b.len == 0 ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}

}  // namespace sagaflow::rabbitmq::detail
