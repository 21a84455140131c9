#pragma once
// What an operator sees of each service (GET /api/services, sagactl services, the dashboard's
// Services page): who consumes its commands, what this orchestrator has sent it and holds back
// for it, and when it last replied. A service with commands waiting or in flight and no
// consumer is a warning: its commands go nowhere until a worker starts, and without the warning
// the sagas would fail only after minutes of timeouts.
//
// Pure logic: the transport's counts, the orchestrator's loads and the time are inputs.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/ports.hpp"

namespace sagaflow {

// A service's command queue as its transport sees it (ServiceQueues).
struct ServiceQueue {
  std::uint32_t consumers = 0;  // workers consuming it
  std::uint64_t messages = 0;   // commands ready in it, not yet taken by a worker
  bool operator==(const ServiceQueue&) const = default;
};

// How many workers consume each service's commands: a broker's queue counts (a passive
// declaration on RabbitMQ), the in-process bus's registered handlers. The admin endpoint reads
// it (GET /api/services); the engine never needs it. A port: the adapters implement it.
class ServiceQueues {
 public:
  virtual ~ServiceQueues() = default;
  // The services that have a queue, by name (one without a queue is left out). Throws when the
  // transport cannot ask now (not connected, no answer in time).
  virtual std::map<std::string, ServiceQueue> service_queues(
      const std::vector<std::string>& services) = 0;
};

struct ServiceHealth {
  std::string service;
  // Workers consuming its commands; nullopt when the transport cannot tell now (the broker is
  // away) or the service has no queue yet.
  std::optional<std::uint32_t> consumers;
  // Commands ready in the broker's queue, not yet taken by a worker (nullopt: not known).
  std::optional<std::uint64_t> queued;
  std::size_t in_flight = 0;
  std::size_t waiting = 0;
  Duration oldest_waiting_age{0};
  std::optional<Timestamp> last_reply;
  bool without_consumer = false;  // the warning (see service_lacks_consumer)
  bool operator==(const ServiceHealth&) const = default;
};

// The warning: nobody consumes the service's commands (known to be 0, not unknown) while some
// are in flight, waiting for a slot, or ready in its queue.
bool service_lacks_consumer(const ServiceHealth& service);

// One entry per service named in `services` (the deployed flows'), in `loads`, in `queues` or in
// `last_replies`, by name, with the warning set.
std::vector<ServiceHealth> service_health(const std::vector<std::string>& services,
                                          const std::vector<ServiceLoad>& loads,
                                          const std::map<std::string, ServiceQueue>& queues,
                                          const std::map<std::string, Timestamp>& last_replies);

// The services of `health` that carry the warning, by name.
std::vector<std::string> services_without_consumer(const std::vector<ServiceHealth>& health);

}  // namespace sagaflow
