#pragma once
// A participant on RabbitMQ: consumes its service's command queue, hands each command to a
// worker::Dispatcher on the caller's io_context, publishes the reply to the command's reply_to
// with a confirm, and only then acks the command.
//
// On a transactional dispatcher (worker/inbox.hpp) the commands are taken in groups: the
// deliveries waiting (up to `prefetch`) are applied in one transaction of the service's
// database, their replies published together with one wait for the confirms, and the commands
// acked together. With the in-memory dedup store each command is handled on its own, as many at
// once as the io_context has threads.
//
// Threading: one I/O thread per Worker owns the AMQP connection; handlers run on the
// io_context given (whoever owns it runs it, on as many threads as it likes). See
// adapters/rabbitmq/README.md.
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "sagaflow/engine/ports.hpp"
#include "sagaflow/rabbitmq/settings.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::rabbitmq {

struct WorkerSettings {
  ConnectionSettings connection;
  Topology topology;
  std::string service;  // consumes topology.command_queue(service)
  // Commands in flight at once (basic.qos): how many handlers may run concurrently.
  std::uint16_t prefetch = 32;
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
  Duration confirm_timeout{30000};
  // Testing and drills only: called at worker::inbox_point::published, confirmed and
  // acknowledged of each group (the inbox's own points are in worker::InboxOptions).
  worker::FaultPoint fault_point;
};

class Worker {
 public:
  // Starts the I/O thread, which connects (and keeps reconnecting) in the background. The
  // dispatcher must outlive the Worker; the io_context may outlive it (handlers queued then
  // do nothing).
  Worker(boost::asio::io_context& handlers, worker::Dispatcher& dispatcher,
         WorkerSettings settings);
  // Stops consuming, waits for handlers already running, closes the connection; commands not
  // yet acknowledged go back to the queue.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // An outside event (e.g. a webhook turned into payment.succeeded) published persistently to
  // the events exchange with a confirm. Mandatory by default: an event no queue is bound to
  // throws, since someone was meant to receive it. Throws Error as OrchestratorTransport's
  // publish does.
  void publish_event(Message event, bool mandatory = true);

  void wait_connected(Duration timeout) const;
  bool connected() const;
  std::uint64_t connections() const;
  void interrupt();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sagaflow::rabbitmq
