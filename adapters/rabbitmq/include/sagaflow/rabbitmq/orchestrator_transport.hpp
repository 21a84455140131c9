#pragma once
// The orchestrator's Transport on RabbitMQ. Commands go to the commands exchange, events to the
// events exchange; replies (from the reply queue) and the events the orchestrator listens to
// (from its events queue) come back unacknowledged until the orchestrator commits.
//
// With several orchestrators (OrchestratorSettings::partitions > 0) each partition has a reply
// queue of its own, and a transport consumes only those of the partitions its orchestrator owns
// (consume_partitions), plus the shared events queue while it owns any.
//
// Threading: one I/O thread per transport owns the AMQP connection (rabbitmq-c is not
// thread-safe); every public member may be called from any thread and hands its work over.
// See adapters/rabbitmq/README.md.
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sagaflow/engine/ports.hpp"
#include "sagaflow/engine/service_health.hpp"
#include "sagaflow/rabbitmq/settings.hpp"

namespace sagaflow::rabbitmq {

struct OrchestratorSettings {
  ConnectionSettings connection;
  Topology topology;
  // Routing keys (topic patterns allowed) bound to the orchestrator's events queue: the events
  // that start sagas or that waiting sagas need.
  std::vector<std::string> event_types;
  // Services whose command queues are declared up front, so that a command published before
  // its first worker ever ran waits in the queue instead of being unroutable.
  std::vector<std::string> services;
  // Unacknowledged inputs held at once (basic.qos).
  std::uint16_t prefetch = 512;
  // Larger inputs are dead-lettered by the adapter and never reach the engine.
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
  // How long publish() waits for the broker's confirms before it throws.
  Duration confirm_timeout{30000};
  // Several orchestrators: the partition count (the orchestrators' partition_count). Every
  // partition's reply queue is declared at connect, so that a reply is always routable, and
  // nothing is consumed until consume_partitions(). 0: one orchestrator consumes the reply queue
  // and the events queue from the start.
  int partitions = 0;
  // Told of every dead letter the transport makes, on the orchestrator's request or on its own
  // (malformed, oversized), once the broker has it; called on the I/O thread. Must outlive the
  // transport. None: nobody is told.
  DeadLetterObserver* dead_letters = nullptr;
};

class OrchestratorTransport final : public Transport, public ServiceQueues {
 public:
  // Starts the I/O thread, which connects (and keeps reconnecting) in the background.
  explicit OrchestratorTransport(OrchestratorSettings settings);
  // Closes the connection; unacknowledged inputs go back to their queues.
  ~OrchestratorTransport() override;
  OrchestratorTransport(const OrchestratorTransport&) = delete;
  OrchestratorTransport& operator=(const OrchestratorTransport&) = delete;

  // Persistent, mandatory (commands, replies), confirmed; all messages in flight at once.
  // Throws Error when not connected, when any message is unroutable or refused, or when the
  // confirms do not arrive within confirm_timeout. Events are not mandatory: an event nobody
  // is bound to goes nowhere, as on the in-process bus. An event with a destination (one
  // forwarded to its partition's owner) goes to that queue through the default exchange,
  // mandatory.
  void publish(std::span<const Message> messages) override;
  // The same, waiting for the confirms only when the returned function is called.
  Sending publish_started(std::span<const Message> messages) override;
  // An outside event sent as a participant publishes one (docs/protocol.md §8): to the events
  // exchange with its type as routing key, persistent and mandatory. Ready once the broker
  // confirmed it; failed with EventNotRouted when the broker returned it (no queue is bound to
  // its type), with Error when it was refused or the connection dropped first. Never blocks.
  std::future<void> send_outside_event(Message event);
  // A flow deployed while running: declares the command queue of each service (bound to the
  // commands exchange) and binds the events queue to each event type, as at connect, at once and
  // again on every reconnect. Returns how many consumers each service's queue has (0: no worker
  // serves it yet). Throws Error when not connected, refused, or not answered within the
  // connect timeout.
  std::map<std::string, std::uint32_t> declare_for_deploy(
      const std::vector<std::string>& services, const std::vector<std::string>& event_types);
  // Each service's command queue's consumers and ready commands, by a passive declaration (a
  // service without a queue is left out). Throws Error when not connected or not answered
  // within the connect timeout.
  std::map<std::string, ServiceQueue> service_queues(
      const std::vector<std::string>& services) override;
  std::size_t receive(std::vector<Delivery>& out, std::size_t max, Duration wait) override;
  // Tags from a previous connection are ignored: the broker redelivers those inputs.
  void ack(std::span<const std::uint64_t> tags) override;
  // Publishes the input to the dead-letter exchange as it arrived (every property and header)
  // with the reason headers, then acks it (docs/protocol.md §9).
  void dead_letter(const Delivery& delivery, DeadLetterCode code, std::string_view detail) override;
  // With partitions: consumes the reply queues of these partitions, and the events queue unless
  // the set is empty. A change reconnects (the old connection closes cleanly, so its
  // unacknowledged deliveries go back to their queues for the new owners) and waits up to
  // connect_timeout for the new connection. Deliveries taken before are dropped from the inbox;
  // those the engine holds have stale tags, whose acks are ignored (they come again). Without
  // partitions it does nothing.
  void consume_partitions(std::span<const int> partitions) override;

  // Gives inputs back to their queue for redelivery (basic.nack with requeue); each return
  // counts towards the topology's delivery limit.
  void requeue(std::span<const std::uint64_t> tags);

  // Waits until connected and the topology is declared; throws Error with the last connection
  // error when `timeout` passes first.
  void wait_connected(Duration timeout) const;
  bool connected() const;
  // How many connections were established so far (1 after the first connect).
  std::uint64_t connections() const;
  // Closes the socket as a network failure would; the I/O thread reconnects. For tests and
  // operators' drills.
  void interrupt();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sagaflow::rabbitmq
