#pragma once
// The embedded transport: an in-process message bus. Commands are handed to the participant's
// Dispatcher on the workers' io_context; replies and the events the orchestrator listens to
// come back to its inbox, where they wait, unacknowledged, until the orchestrator commits.
// A command counts as sent (its attempt's timeout starts) when a worker takes it, which the bus
// reports through Transport::take_handed_over(); one for a service no one serves counts as sent
// when it is dead-lettered.
//
// Threading: every public member is safe to call from any thread. The orchestrator side
// (`orchestrator()`) is meant for one orchestrator thread; handlers run on the workers'
// io_context threads.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "sagaflow/engine/ports.hpp"
#include "sagaflow/engine/service_health.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::inproc {

// A message given up on, whole, as RabbitMQ's dead letters are (docs/protocol.md §9).
struct DeadLetter {
  Message message;
  DeadLetterCode code = DeadLetterCode::malformed_envelope;
  std::string reason;  // the human-readable detail
  std::string queue;   // where it was: kOrchestratorQueue, or "commands.<service>"
};

// The queue name the bus gives the orchestrator's inbox in dead letters and notices.
inline constexpr std::string_view kOrchestratorQueue = "orchestrator";

class Bus final : public ServiceQueues {
 public:
  // `dead_letters`, when given, is told of every dead letter (it must outlive the bus).
  explicit Bus(boost::asio::io_context& workers, DeadLetterObserver* dead_letters = nullptr);
  ~Bus() override;
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // The orchestrator's side of the bus.
  Transport& orchestrator();

  // Commands whose destination is `service` are handled by `dispatcher` (which must outlive the
  // bus); each reply goes to the orchestrator's inbox.
  void serve(const std::string& service, worker::Dispatcher& dispatcher);

  // Event types the orchestrator waits for: published events of these types enter its inbox.
  void route_events_to_orchestrator(const std::string& event_type);

  // Outside code observing events (a gateway telling the client, a test): called on the
  // workers' io_context for every published event of that type.
  void subscribe(const std::string& event_type, std::function<void(const Message&)> callback);

  // An outside event (e.g. a webhook turned into payment.succeeded) entering the bus.
  void publish_event(Message event);
  // The same for an event sent from outside every participant (the admin endpoint's
  // POST /api/events): ready at once, failed with EventNotRouted when neither the orchestrator
  // nor a subscriber takes its type (nothing was delivered), as a broker returns a mandatory
  // event nobody is bound to.
  std::future<void> send_outside_event(Message event);

  // A flow deployed while running: routes its event types to the orchestrator and returns, for
  // each service, how many dispatchers serve it (0 or 1), as OrchestratorTransport's does.
  std::map<std::string, std::uint32_t> declare_for_deploy(
      const std::vector<std::string>& services, const std::vector<std::string>& event_types);

  // Each service with how many dispatchers serve it (0 or 1) and no commands queued: the bus
  // hands a command to its dispatcher at once, or dead-letters it when none serves the service.
  std::map<std::string, ServiceQueue> service_queues(
      const std::vector<std::string>& services) override;

  // Messages given up on: dead-lettered by the orchestrator, commands for a service no one
  // serves (`unroutable`), replies the orchestrator published (`wrong_kind`). Kept for
  // inspection; nothing is dropped silently.
  std::vector<DeadLetter> dead_letters() const;
  // Inputs delivered to the orchestrator and not yet acknowledged.
  std::size_t unacknowledged() const;

  // Drops every message in flight, as a crash of the process would; what remains is what the
  // store committed. For crash-recovery tests.
  void lose_in_flight();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::inproc
