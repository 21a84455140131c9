#pragma once
// Backpressure: at most `limit` commands of each service in flight, the others waiting in the
// store's outbox, in order, until answers free slots.
//
// A command is in flight from when it is handed to the relay until its saga no longer awaits
// it (answered, timed out, retried, cancelled, or the saga finished: settle()). A command over
// its service's limit is held: its outbox row stays in the store, unsent (so its attempt timer,
// which starts at the transport's confirm, does not run), and a copy waits here, behind the
// service's earlier ones. take_ready() gives the oldest waiting ones back as slots free. After a
// restart nothing of this is lost: the rows are read from the outbox again in order, and the
// counts are rebuilt from the sagas' pending commands (in_flight()).
//
// The limit is per orchestrator: with several orchestrators a service may see up to the limit
// from each.
//
// Threading: the orchestrator's run thread, except loads() (any thread).
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/ports.hpp"

namespace sagaflow {

class ServiceSlots {
 public:
  // Whether the saga still awaits that command (a row sent after its saga moved on takes no
  // slot: nothing would free it).
  using Awaited = std::function<bool(const std::string& saga_id, const std::string& command_id)>;

  // limit 0: no limit (nothing waits, nothing is counted).
  ServiceSlots(std::size_t limit, const Clock& clock) : limit_(limit), clock_(clock) {}
  bool limited() const { return limit_ > 0; }

  // The rows that may be sent now, in order; commands over their service's limit wait.
  std::vector<OutboxRow> admit(std::vector<OutboxRow> rows, const Awaited& awaited);
  // The command is in flight (found so at recovery).
  void in_flight(const std::string& saga_id, const std::string& command_id,
                 const std::string& service);
  // The saga awaits only `pending` now: its other commands in flight free their slots.
  void settle(const std::string& saga_id, const std::vector<std::string>& pending);
  // Drops what is kept of the sagas `lost` says (their partition went to another orchestrator).
  void forget(const std::function<bool(const std::string& saga_id)>& lost);
  // Waiting commands whose service has free slots, oldest first per service.
  std::vector<OutboxRow> take_ready(const Awaited& awaited);
  // Whether the outbox row waits here (not to be sent from the store meanwhile).
  bool holds(std::uint64_t seq) const { return held_.contains(seq); }
  std::size_t waiting() const { return held_.size(); }
  // Per service: in flight, waiting, the oldest waiting one's age, as of the last
  // publish_loads() (once per round). Any thread.
  std::vector<ServiceLoad> loads() const;
  void publish_loads();

 private:
  struct Waiting {
    OutboxRow row;
    Timestamp since{};
  };
  struct Service {
    std::size_t in_flight = 0;
    std::deque<Waiting> waiting;
  };
  // Takes a slot for the command; false when its service is full.
  void take_slot(const std::string& saga_id, const std::string& command_id,
                 const std::string& service);

  const std::size_t limit_;
  const Clock& clock_;
  std::map<std::string, Service> services_;
  // saga -> (command id -> service) of the commands in flight.
  std::unordered_map<std::string, std::map<std::string, std::string>> by_saga_;
  std::set<std::uint64_t> held_;

  mutable std::mutex loads_mutex_;
  std::vector<ServiceLoad> loads_;
};

}  // namespace sagaflow
