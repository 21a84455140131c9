#pragma once
// worker::EventPublisher on RabbitMQ: outside events for a program that serves no command queue
// (a webhook, a gateway callback). It declares the events exchange and nothing else - no queue,
// no binding, no consumer - so it leaves nothing behind in the broker, unlike a Worker, which
// declares its service's command queue.
//
// Each event goes to the events exchange with routing key = its type, persistent, with the
// envelope of docs/protocol.md 8, and publish() returns once the broker confirmed it.
//
// Threading: one I/O thread owns the AMQP connection and reconnects with the jittered backoff of
// ConnectionSettings; publish() may be called from any thread (it hands the message over and
// waits). See adapters/rabbitmq/README.md.
#include <cstdint>
#include <memory>
#include <string>

#include "sagaflow/engine/ports.hpp"
#include "sagaflow/rabbitmq/settings.hpp"
#include "sagaflow/worker/event_publisher.hpp"

namespace sagaflow::rabbitmq {

struct EventPublisherSettings {
  ConnectionSettings connection;
  Topology topology;  // only events_exchange() is used
  // An event no queue is bound to is returned by the broker and publish() throws: an outside
  // event is meant for someone (the orchestrator binds the types its flows use).
  bool mandatory = true;
  // How long publish() waits for the broker's confirm before it throws.
  Duration confirm_timeout{30000};
  // Who publishes, in errors and in the connection's name ("sagaflow <name> [<prefix>]").
  std::string name = "event publisher";
};

class EventPublisher final : public worker::EventPublisher {
 public:
  // Starts the I/O thread, which connects (and keeps reconnecting) in the background: made while
  // the broker is down, it starts anyway and publishes once the broker comes.
  explicit EventPublisher(EventPublisherSettings settings);
  // Waits a moment (2 s at most) for confirms in flight, then closes the connection.
  ~EventPublisher() override;
  EventPublisher(const EventPublisher&) = delete;
  EventPublisher& operator=(const EventPublisher&) = delete;

  // Publishes `event` (its kind is set to event) and waits for the broker's confirm. Throws
  // Error at once when not connected, and when the event is returned (mandatory and no queue
  // bound to its type: "unroutable: ..."), refused, not confirmed within confirm_timeout, or its
  // connection drops first. The caller retries with the same id; the orchestrator takes a
  // repeated id as the same fact.
  void publish(const Message& event) override;

  // Only for a caller that wants to wait: throws Error with the last connection error when
  // `timeout` passes first.
  void wait_connected(Duration timeout) const;
  bool connected() const;
  std::uint64_t connections() const;  // connections made so far
  void interrupt();                   // drops the connection as a network failure would (tests)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::rabbitmq
