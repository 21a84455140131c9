#pragma once
// The envelope on the wire: Message <-> AMQP basic properties and headers (docs/protocol.md).
// Internal: the only place besides link.cpp that sees rabbitmq-c types.
#include <amqp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sagaflow/engine/dead_letter.hpp"
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

// Why a delivery is not a Sagaflow message: malformed_envelope or not_json, and the detail.
struct Undecodable {
  DeadLetterCode code;
  std::string detail;
};

// Fills `out` from a delivery; returns why the message is not a Sagaflow envelope, if it is
// not. `routing_key` gives commands their destination (the service) and replies theirs (the
// reply queue).
std::optional<Undecodable> decode(const amqp_basic_properties_t& properties, amqp_bytes_t body,
                                  std::string_view routing_key, Message& out);

// A dead letter's properties: the delivery's own, every one unchanged, with `extra` headers
// added (replacing same-named ones), delivery_mode 2 and no expiration, so that the copy lasts
// in the dead-letter queue until someone takes it (docs/protocol.md §9).
void dead_letter_properties(const amqp_basic_properties_t& original, const ExtraHeaders& extra,
                            EncodedProperties& out);

// On classic queues, which count no deliveries, the adapter counts a message's returns itself:
// a redelivered message is published again with this header one higher, and the original acked
// (docs/protocol.md §2, "Classic queues (one node)").
inline constexpr std::string_view kReturnsHeader = "x-sagaflow-returns";

// The returns counted so far: the header's value, 0 when absent or not a whole number >= 0.
std::uint32_t returns_counted(const amqp_basic_properties_t& properties);

// The copy that goes back to the queue: the delivery's own properties, every one unchanged,
// with kReturnsHeader set to `returns`.
void returned_properties(const amqp_basic_properties_t& original, std::uint32_t returns,
                         EncodedProperties& out);

// The properties of a delivery as received, kept (in the pool amqp_read_message made for them)
// while the delivery is unacknowledged, so that its dead letter carries them unchanged, whoever
// asks for it. Its body is not kept: the decoded Message holds it.
class ReceivedProperties {
 public:
  ReceivedProperties() = default;
  // Takes the message's properties and the pool they live in; the caller keeps (and frees) the
  // body.
  explicit ReceivedProperties(amqp_message_t& message);
  ~ReceivedProperties();
  ReceivedProperties(ReceivedProperties&& other) noexcept;
  ReceivedProperties& operator=(ReceivedProperties&& other) noexcept;
  ReceivedProperties(const ReceivedProperties&) = delete;
  ReceivedProperties& operator=(const ReceivedProperties&) = delete;

  const amqp_basic_properties_t& get() const { return properties_; }

 private:
  void release();
  amqp_basic_properties_t properties_{};
  amqp_pool_t pool_{};
  bool owned_ = false;
};

inline amqp_bytes_t bytes(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}
inline std::string to_string(amqp_bytes_t b) {
  return b.len == 0 ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}

}  // namespace sagaflow::rabbitmq::detail
