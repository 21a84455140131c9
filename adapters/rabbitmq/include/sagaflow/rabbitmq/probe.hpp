#pragma once
// A raw AMQP client for checking a worker from outside (sagactl conform): it publishes commands
// exactly as given, well-formed or not, and reads what comes back on a reply queue of its own and
// every dead letter (a queue of its own bound to the dead exchange), with their properties and
// header types as they were on the wire. Synchronous, one thread; not for production traffic.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/rabbitmq/settings.hpp"

namespace sagaflow::rabbitmq {

// A header value and the AMQP field type it travelled as.
struct ProbeHeader {
  enum class Kind { string, integer, other };
  std::string name;
  Kind kind = Kind::string;
  std::string text;         // string
  std::int64_t number = 0;  // integer (any width, signed or not)
};

struct ProbeMessage {
  std::optional<std::string> message_id, type, correlation_id, reply_to, content_type;
  std::optional<int> delivery_mode;
  std::vector<ProbeHeader> headers;
  std::string body;

  const ProbeHeader* header(std::string_view name) const;
  // The header's text when it is a string, else nullopt.
  std::optional<std::string> text(std::string_view name) const;
};

class Probe {
 public:
  // Connects, opens a confirmed channel and declares the commands and dead exchanges (as the
  // protocol does), an exclusive reply queue and an exclusive queue bound to the dead exchange.
  // Throws Error.
  Probe(const ConnectionSettings& connection, Topology topology);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // The queue to name as reply_to.
  const std::string& reply_queue() const;

  // Publishes to the commands exchange with routing key `service`, mandatory, and waits for the
  // broker's confirm. Throws Error when it is returned (nobody serves the service) or refused.
  void send_command(std::string_view service, const ProbeMessage& message,
                    std::chrono::milliseconds timeout);
  // The next reply, or nullopt after `timeout`.
  std::optional<ProbeMessage> next_reply(std::chrono::milliseconds timeout);
  // The next dead letter (any), or nullopt after `timeout`.
  std::optional<ProbeMessage> next_dead_letter(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::rabbitmq
