#pragma once
// The orchestrator runs the engine over the ports and keeps the rule that loses nothing:
// every change is committed before anything it causes is sent, and every input is
// acknowledged only after the change it caused is committed.
//
// One round (run_once): gather inputs (operator requests, replies and events from the
// transport, due timers from the store); let the engine compute each saga's transition; commit
// all of them in one transaction (group commit); send the outbox; acknowledge the inputs. A
// broker's confirms for a round's messages are taken by a later round once they came (never
// awaited), so that the store and the broker work at the same time; a row whose sending failed
// stays in the outbox and goes again.
//
// Threading: run_once/run/recover/release on one thread only (the orchestrator is the single
// writer of its sagas and caches them). start/cancel/retry/leases may be called from any
// thread.
//
// The round never waits for the transport: the outbox is sent by an OutboxRelay that learns the
// confirms when they come (a broker down or silent holds up neither timers nor commits), and
// the leases are renewed by a PartitionOwnership on its own schedule (engine/src/engine/).
//
// Several orchestrators (OrchestratorOptions::leases): each leases some of the partitions
// through the PartitionedStore, renews them by heartbeat, and handles only the sagas of the
// partitions it owns: their replies, timers, outbox and operator requests. Every write carries
// its partition's lease epoch, so a write of an owner that lost the partition is refused
// (StaleLease) and the round is done again under the new ownership. A start gets an id in a
// partition it owns; a reply or event for a saga of another partition is forwarded to that
// partition's reply queue.
#include <cstddef>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/engine/engine.hpp"
#include "sagaflow/engine/metrics.hpp"
#include "sagaflow/engine/plan.hpp"
#include "sagaflow/engine/ports.hpp"
#include "sagaflow/engine/saga_changes.hpp"

namespace sagaflow {

struct OrchestratorOptions {
  std::size_t max_batch = 4096;  // inputs per round, hence per transaction
  Duration idle_wait{5};         // how long a round waits for input when there is none
  Duration timer_poll{20};       // how often the store is asked for due timers; 0 = every round
  EngineOptions engine;
  // Called at the named points of a round where a crash tests recovery hardest: "before_commit",
  // "after_commit" (committed, nothing published), "mid_compensation" (a committed round that
  // sends compensations, before they are published) and "after_publish" (sent, inputs not
  // acknowledged). Empty in production; sagaflowd's recovery drills kill the process here
  // (SAGAFLOW_FAULT_AT, see apps/sagaflowd/config.hpp).
  std::function<void(std::string_view point)> fault_point;
  Metrics* metrics = nullptr;  // not owned; must outlive the orchestrator; nullptr = none

  // Several orchestrators on one store. Null: a single orchestrator owns every saga (its rows
  // still name their partition of partition_count, ready for more orchestrators later).
  PartitionedStore* leases = nullptr;  // usually the Store itself; must outlive the orchestrator
  std::string owner;                   // this process's name in the leases, unique and stable
  int partition_count = 16;            // the same in every orchestrator, never changed
  Duration lease_ttl{5000};            // an owner silent this long loses its partitions
  Duration heartbeat_every{1000};      // how often the leases are renewed (well under the ttl)
  // Heartbeats go through this store when set: a connection of their own, so that a long
  // commit or an admin read never delays them. Null: through `leases`. Must be thread-safe
  // with `leases` when renew_leases_on_own_thread is set (separate connections are).
  PartitionedStore* lease_store = nullptr;
  // run() renews the leases on a thread of its own, on their own schedule (sagaflowd): nothing
  // a round waits for (the broker, a commit) delays a heartbeat. False: the round renews them
  // at its start when due (unit tests, driving run_once with a manual clock).
  bool renew_leases_on_own_thread = false;
  // Told, on the run thread, after each change of the partitions owned: those lost (by number)
  // and those gained (with their new epoch). A partition held again under a new epoch is in
  // both. It must return quickly (it runs inside a round): sagaflowd logs a line per lease.
  std::function<void(const std::vector<int>& lost, const std::vector<Lease>& gained)>
      on_leases_changed;
  // Told, on the run thread, after each commit, with the change of every saga it wrote (after its
  // requests are answered). It must return quickly: sagaflowd hands them to the admin
  // endpoint's SagaChangeFeed, which wakes the watchers.
  std::function<void(std::vector<SagaChange> changes)> on_committed;
  // engine.partitions is set to partition_count when left 0 (commands' reply_to name their
  // saga's partition); any other value is refused.

  // Backpressure: at most this many commands of one service in flight (sent, their reply not
  // yet come, their attempt neither timed out nor given up) from this orchestrator; the others
  // wait in the store's outbox, in commit order per service, unsent (so no attempt timer runs
  // for them), and go as answers free slots. 0: no limit. sagaflowd's default is 256.
  std::size_t max_in_flight_per_service = 0;
};

// One service's load (Orchestrator::service_loads): commands in flight, commands waiting for a
// slot, and how long the oldest has waited (0 when none waits).
struct ServiceLoad {
  std::string service;
  std::size_t in_flight = 0;
  std::size_t waiting = 0;
  Duration oldest_waiting_age{0};
  bool operator==(const ServiceLoad&) const = default;
};

// The saga asked for lives in a partition this orchestrator does not own, or a start came while
// it owns none: another orchestrator serves it. Nothing was changed; ask again, here or
// elsewhere (the admin API answers 503 Service Unavailable).
class NotOwner : public std::runtime_error {
 public:
  NotOwner(const std::string& what, int partition)
      : std::runtime_error(what), partition(partition) {}
  int partition;  // -1 when no partition is owned at all
};

struct StartResult {
  std::string saga_id;
  bool created = true;  // false: the idempotency key had already started this saga
};

class Orchestrator {
 public:
  Orchestrator(const FlowRegistry& flows, Store& store, Transport& transport, const Clock& clock,
               OrchestratorOptions options = {});
  ~Orchestrator();
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  // Requests, fulfilled once their effect is committed. Failures arrive as exceptions:
  // InvalidInput, Refused, std::invalid_argument for an unknown flow or saga, NotOwner with
  // several orchestrators, or the store's error when the commit failed.
  std::future<StartResult> start(StartRequest request);
  std::future<void> cancel(std::string saga_id, std::string reason);
  std::future<void> retry(std::string saga_id);
  // Engine::pause/resume, fulfilled once committed.
  std::future<void> pause(std::string saga_id, std::string reason);
  std::future<void> resume(std::string saga_id);
  // Pauses or resumes a flow (stored at once, any thread). While a flow is paused its starts
  // are stored paused (StartRequest::hold); once resumed, every orchestrator resumes the held
  // sagas it owns in a round within about a second (this one in its next round). Sagas an
  // operator paused one by one stay paused.
  void set_flow_paused(const std::string& flow, bool paused);
  // Schedules (docs/schedules.md), stored at once (any thread); this orchestrator reads them
  // again in its next round, the others within about a second. Each fires on the orchestrator
  // that owns the partition of its name (partition_of(name)), its start's idempotency key
  // schedule_key(name, time) so that a time is started once whoever tries. Save throws
  // InvalidSchedule, or std::invalid_argument for a flow not deployed; pause and remove return
  // false for an unknown name.
  void save_schedule(ScheduleRow schedule);
  bool set_schedule_paused(const std::string& name, bool paused);
  bool remove_schedule(const std::string& name);

  // An operator's repairs of a parked saga (Engine::skip, Engine::edit).
  std::future<void> skip(SkipRequest request);
  std::future<void> edit(EditRequest request);

  // After a (re)start, before running: publishes what was committed but not confirmed as
  // published, and, with a transport that lost what was in flight (the embedded bus),
  // sends every awaited command again with its same id. With several orchestrators it first
  // takes its partitions (a heartbeat), and all of this is done for them only.
  void recover(bool resend_in_flight);

  // One round; returns how many inputs it processed. With several orchestrators a round starts
  // with a heartbeat when one is due.
  std::size_t run_once(Duration wait);
  // Rounds until `stop` is requested; then, with several orchestrators, release().
  void run(std::stop_token stop);

  // With several orchestrators: gives every lease up at once (a clean shutdown), so that the
  // others take the partitions over without waiting for the ttl. A later round takes
  // partitions again.
  void release();

  // Sagas held in memory (in flight); finished ones are dropped after their commit. As of the
  // last round; safe to read from any thread (a metrics scrape).
  std::size_t cached_sagas() const;
  // Outbox rows committed whose publishing failed and is not yet done again (at most one
  // round's worth is counted). Safe to read from any thread.
  std::size_t outbox_lag() const;
  // Per service, by name, as of the last round: its commands in flight and waiting
  // (max_in_flight_per_service; empty without a limit). Any thread.
  std::vector<ServiceLoad> service_loads() const;
  // When each service last replied to this orchestrator, by name, as of the last round (since
  // this process started; a service never heard from is absent). Any thread.
  std::map<std::string, Timestamp> last_replies() const;
  // The leases held, by partition (empty for a single orchestrator). Any thread.
  std::vector<Lease> leases() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow
