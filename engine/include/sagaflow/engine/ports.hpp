#pragma once
// The engine's ports. The engine is pure logic; everything that touches the world goes through
// these interfaces. Adapters implement them (adapters/*), tests use the fakes in
// engine/testing. See engine/README.md for the threading rules.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/engine/dead_letter.hpp"
#include "sagaflow/engine/message.hpp"

namespace sagaflow {

using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;
using Duration = std::chrono::milliseconds;

inline std::int64_t to_millis(Timestamp t) {
  return t.time_since_epoch().count();
}
inline Timestamp from_millis(std::int64_t ms) {
  return Timestamp{Duration{ms}};
}

// ---------------------------------------------------------------------------------------------
// Clock: injected so that timeouts are tested with a manual clock, never by sleeping.
//
// now() is wall time: what timers, history and deadlines are stamped with (a clock may jump).
// monotonic() never goes back and is what intervals are measured on (heartbeats, the leases'
// silence): time since an arbitrary start, meaningful only as a difference.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;
  virtual Duration monotonic() const = 0;
};

// ---------------------------------------------------------------------------------------------
// Store: sagas, their history, the outbox and the timers, written together.

// One saga as stored. `state` is the engine's encoding of its runtime state (JSON text);
// stores treat it as opaque JSON (they may normalise its formatting) and index the plain
// columns.
struct SagaRow {
  std::string id;
  std::string flow;
  int flow_version = 1;
  std::string status;           // lifecycle status name, e.g. "running"
  std::uint64_t version = 0;    // optimistic concurrency: +1 per committed transition
  std::string idempotency_key;  // unique per flow when not empty
  int partition = 0;            // partition_of(id, partition count); see PartitionedStore
  std::string state;
  Timestamp created_at{};
  Timestamp updated_at{};
};

struct HistoryRow {
  std::string saga_id;
  std::uint64_t saga_version = 0;  // the version this record was written with
  Timestamp at{};
  std::string kind;    // e.g. "command_sent", "reply_received", "compensation_sent"
  std::string step;    // activity key, empty for saga-level records
  std::string detail;  // JSON text
};

// The due time of a timer that has not started: later than any `now`, so it never comes due.
inline constexpr Timestamp kNotStarted = Timestamp::max();

// A persisted timer: one per (saga, key); setting it again replaces it.
//
// Most timers run on the clock from when they are set. An attempt's timer measures the
// participant's time instead: it is set not started (`due` is kNotStarted, `started_by` names its
// command) and starts when the transport confirms that command (CommitBatch::sent), running for
// `runs_for` from then. A command that was never sent runs no attempt timer.
struct TimerRow {
  std::string saga_id;
  std::string key;  // e.g. "step:reserve_points", "wait:await_payment", "saga"
  Timestamp due{};
  std::string started_by;  // not started: the command whose confirm starts it; empty otherwise
  Duration runs_for{0};    // not started: how long it runs once started
};

// The due time a store keeps for the timer: kNotStarted while it waits for its command.
inline Timestamp stored_due(const TimerRow& timer) {
  return timer.started_by.empty() ? timer.due : kNotStarted;
}

// A command the transport confirmed (a broker's publisher confirm; the in-process bus: handed
// to its worker) at `at`: the timer of `saga_id` that waits for `command_id` starts then.
struct CommandSent {
  std::string saga_id;
  std::string command_id;
  Timestamp at{};
};

// Routes an outside event to the saga waiting for it: (event name, correlation key) -> saga.
struct Subscription {
  std::string event;
  std::string key;
  std::string saga_id;
};

struct OutboxRow {
  std::uint64_t seq = 0;  // assigned by the store, increasing in commit order
  Message message;
};

// Sub-flows: what one saga asks of another of its partition (a parent of its child, a child of
// its parent). The orchestrator carries each out as a transition of that saga in the same commit
// (Engine::link), so that a crash never loses one half: a child is started, compensated or
// cancelled in the transaction of its parent's step, and its end reaches the parent in the
// transaction of that end.
enum class SagaLinkKind : std::uint8_t {
  start_child,   // start `target` of `flow`, its input `message.body` (or find it started)
  undo_child,    // the parent compensates: compensate the completed child
  cancel_child,  // the parent stops going forward while the child runs: cancel it
  child_ended,   // the child ended: `message` is the reply its parent's step awaits
};

struct SagaLink {
  SagaLinkKind kind = SagaLinkKind::start_child;
  std::string target;  // the saga it acts on
  std::string flow;    // start_child: the child's flow (its latest version)
  // start_child, undo_child, cancel_child: causation_id is the parent's command id that the
  // child's end answers, correlation_id the parent's id, step the parent's activity key, body
  // (start_child) the child's input. child_ended: the reply to the parent.
  Message message;
};

// Everything one transition of one saga changes. `expected_version` is the version the
// transition was computed from (0 for a new saga): the store refuses the whole batch when the
// stored version differs.
struct SagaWrite {
  SagaRow saga;
  std::uint64_t expected_version = 0;
  // With several orchestrators: the epoch of this writer's lease on saga.partition. The store
  // refuses the batch (StaleLease) when another owner has taken the partition since. 0 = a
  // single orchestrator, no lease.
  std::uint64_t lease_epoch = 0;
  std::vector<HistoryRow> history;
  std::vector<Message> outbox;
  std::vector<TimerRow> timers_set;
  std::vector<std::string> timers_cleared;  // keys, for this saga
  std::vector<Subscription> subscribe;
  std::vector<Subscription> unsubscribe;
  std::vector<SagaLink> links;  // carried out by the orchestrator before the commit
};

// One transaction: the transitions of many sagas (group commit), plus the outbox rows that were
// published since the last commit, deleted in the same transaction, and the commands confirmed
// since then, whose attempt timers start in it. Applied after the writes: a timer starts only
// while it still waits for that very command (not answered, retried or cleared meanwhile, and
// not started already), so a late or repeated confirm changes nothing.
struct CommitBatch {
  std::vector<SagaWrite> writes;
  std::vector<std::uint64_t> published;
  std::vector<CommandSent> sent;
};

// The optimistic check failed: another writer moved a saga on. Nothing of the batch was written.
class VersionConflict : public std::runtime_error {
 public:
  explicit VersionConflict(const std::string& saga_id)
      : std::runtime_error("version conflict on saga " + saga_id), saga_id(saga_id) {}
  std::string saga_id;
};

// A start with an idempotency key already used for the flow. Nothing of the batch was written.
class DuplicateIdempotencyKey : public std::runtime_error {
 public:
  DuplicateIdempotencyKey(const std::string& flow, const std::string& key)
      : std::runtime_error("idempotency key already used for flow " + flow), flow(flow), key(key) {}
  std::string flow;
  std::string key;
};

// Where a page of the saga list ended: the next page starts after this saga (keyset
// pagination, stable while sagas are added, unlike an offset).
struct SagaCursor {
  Timestamp created_at{};
  std::string id;
  bool operator==(const SagaCursor&) const = default;
};

// Every set field narrows the list; the empty filter lists every saga.
// The partition's lease moved to another orchestrator: this writer must stop writing its sagas.
// Nothing of the batch was written.
class StaleLease : public std::runtime_error {
 public:
  StaleLease(int partition, std::uint64_t epoch)
      : std::runtime_error("lease on partition " + std::to_string(partition) + " epoch " +
                           std::to_string(epoch) + " is no longer held"),
        partition(partition),
        epoch(epoch) {}
  int partition;
  std::uint64_t epoch;
};

// The first id after every id that starts with `prefix` (printable ASCII, not empty), in byte
// order: the prefix with its last byte incremented.
inline std::string id_prefix_end(std::string_view prefix) {
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

struct SagaFilter {
  std::string flow;    // empty = any
  std::string status;  // empty = any
  std::string key;     // the business key the saga was started with (idempotency key), exact
  // Sagas whose id starts with it (sagactl show and the dashboard take a short id); printable
  // ASCII (the API refuses anything else), so that [prefix, prefix with its last byte + 1) is
  // the range of ids in byte order. Empty = any.
  std::string id_prefix;
  std::optional<Timestamp> created_from;    // inclusive
  std::optional<Timestamp> created_before;  // exclusive
  std::optional<SagaCursor> after;          // the last saga of the previous page
  std::size_t limit = 100;
};

// How many sagas of a flow are in a status (the dashboard's live counts).
struct SagaCount {
  std::string flow;
  std::string status;
  std::uint64_t count = 0;
  bool operator==(const SagaCount&) const = default;
};

// A flow file as deployed: sagas stay on the version they started with, so every version that
// ever ran is kept, and a restarted (or another) orchestrator loads them all from the store.
struct FlowDefinitionRow {
  std::string name;
  int version = 1;
  std::string source;  // the YAML text as deployed
  Timestamp deployed_at{};
};

// A flow version deployed again with a different text: a version, once deployed, never changes
// under the sagas that run on it. Nothing was written.
class FlowVersionExists : public std::runtime_error {
 public:
  FlowVersionExists(const std::string& name, int version)
      : std::runtime_error("flow " + name + " version " + std::to_string(version) +
                           " is already deployed with a different definition"),
        name(name),
        version(version) {}
  std::string name;
  int version;
};

// Retention (engine/include/sagaflow/engine/retention.hpp): finished sagas, found and removed
// in small batches. A saga is finished in status completed, compensated or cancelled; its age
// counts from its last change (updated_at: its end, or a late input recorded after it).
struct FinishedFilter {
  std::string flow;
  std::string status;               // completed, compensated or cancelled
  Timestamp changed_before{};       // updated_at earlier than this (and so created_at too)
  std::optional<SagaCursor> after;  // ascending (created_at, id): the last saga of the page before
  std::size_t limit = 500;
  std::vector<int> partitions;  // only these partitions; empty = every partition
};

// How many finished sagas a filter finds, and the earliest last change among them.
struct FinishedCount {
  std::uint64_t count = 0;
  std::optional<Timestamp> oldest;
  bool operator==(const FinishedCount&) const = default;
};

// One operator action as the audit log keeps it (the admin endpoint records every mutating
// request: docs/admin-api.md#audit).
struct AuditEntry {
  std::uint64_t seq = 0;  // assigned by the store, increasing in the order recorded
  Timestamp at{};
  std::string actor;      // who: the X-Sagaflow-Actor header, else "anonymous"
  std::string action;     // what: the method and path, e.g. "POST /api/sagas/ab12/pause"
  std::string reason;     // why, as the operator said it (X-Sagaflow-Reason or the body's reason)
  std::string request;    // the request's JSON body, or empty
  int result_status = 0;  // the HTTP status answered
  std::string result;     // the answer's JSON body (cut to a few kilobytes)
  bool operator==(const AuditEntry&) const = default;
};

// A schedule (docs/schedules.md): starts a saga of `flow` at each time of a cron expression in a
// time zone. Deployed by name (a deploy again replaces the definition and keeps the rest).
struct ScheduleRow {
  std::string name;
  std::string flow;              // its latest version at each firing
  std::string cron;              // five fields (engine/cron.hpp)
  std::string zone = "UTC";      // IANA time zone
  std::string overlap = "skip";  // "skip": not while its last saga is unfinished; "allow"
  std::string input = "{}";      // the start's input, JSON text
  bool paused = false;
  Timestamp deployed_at{};  // its first firing is the first time after this
  // The last time it fired (the scheduled time, not when it ran), what came of it ("started",
  // "skipped" while its last saga ran, "refused: <why>") and its last saga; none before.
  std::optional<Timestamp> last_fire;
  std::string last_outcome;
  std::string last_saga;
  bool operator==(const ScheduleRow&) const = default;
};

struct RemovedRows {
  std::uint64_t sagas = 0;
  std::uint64_t history = 0;
  bool operator==(const RemovedRows&) const = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // Writes the batch in one transaction, durably, or nothing (throws VersionConflict,
  // DuplicateIdempotencyKey, or the adapter's error). Returns the outbox rows written, with
  // their sequence numbers, in the order of the writes.
  virtual std::vector<OutboxRow> commit(const CommitBatch& batch) = 0;

  virtual std::optional<SagaRow> load(std::string_view saga_id) = 0;
  // Sagas that are not finished (for recovery after a restart).
  virtual std::vector<SagaRow> load_unfinished() = 0;
  virtual std::optional<std::string> find_by_idempotency_key(std::string_view flow,
                                                             std::string_view key) = 0;
  virtual std::optional<std::string> find_subscriber(std::string_view event,
                                                     std::string_view key) = 0;
  // Timers due at `now`, earliest first; a timer not started is never due.
  virtual std::vector<TimerRow> due_timers(Timestamp now, std::size_t limit) = 0;
  // Outbox rows committed but not yet marked published (republished after a crash).
  virtual std::vector<OutboxRow> unpublished_outbox(std::size_t limit) = 0;
  virtual std::vector<HistoryRow> history(std::string_view saga_id) = 0;
  // Newest first (created_at, then id, both descending), at most filter.limit.
  virtual std::vector<SagaRow> list(const SagaFilter& filter) = 0;
  // Every (flow, status) that has sagas, ordered by flow then status.
  virtual std::vector<SagaCount> count_by_flow_and_status() = 0;

  // Stores a deployed flow version. The same (name, version) with the same source again is a
  // no-op (a deploy retried, or every orchestrator storing the files it loaded); with another
  // source it throws FlowVersionExists.
  virtual void save_flow_definition(const FlowDefinitionRow& definition) = 0;
  // Every stored version of every flow, by name then version.
  virtual std::vector<FlowDefinitionRow> flow_definitions() = 0;

  // Retention. Finished sagas of filter.flow in filter.status changed before
  // filter.changed_before, oldest created first (created_at, then id), after filter.after, at
  // most filter.limit; never one that a timer, a subscription or an outbox row still names.
  virtual std::vector<SagaRow> finished(const FinishedFilter& filter) = 0;
  // What finished() would find without after and limit: how many, and the oldest last change.
  virtual FinishedCount count_finished(const FinishedFilter& filter) = 0;
  // Removes the sagas with their history, in one short transaction. Each goes only if it is
  // still stored at the version given, in a final status, and no timer, subscription or outbox
  // row names it; the others stay untouched. Their idempotency keys are free again.
  virtual RemovedRows remove_finished(std::span<const SagaRow> sagas) = 0;

  // The audit log: appends one entry (its seq and nothing else is assigned by the store), and
  // reads them newest first, those with seq below `before` when given, at most `limit`.
  virtual void append_audit(const AuditEntry& entry) = 0;
  virtual std::vector<AuditEntry> audit(std::optional<std::uint64_t> before, std::size_t limit) = 0;

  // Paused flows: a start of a paused flow is stored paused and starts when the flow resumes.
  virtual void set_flow_paused(std::string_view flow, bool paused) = 0;
  // By name.
  virtual std::vector<std::string> paused_flows() = 0;

  // Schedules. Deploying one that exists replaces flow, cron, zone, overlap and input, and keeps
  // paused, deployed_at and its last firing (a deploy again never fires a time twice).
  virtual void save_schedule(const ScheduleRow& schedule) = 0;
  // Every schedule, by name.
  virtual std::vector<ScheduleRow> schedules() = 0;
  // Each returns false when no schedule has that name.
  virtual bool set_schedule_paused(std::string_view name, bool paused) = 0;
  virtual bool remove_schedule(std::string_view name) = 0;
  // Records a firing: only when `fire` is later than the last one recorded (two orchestrators
  // recording the same firing, or an older one late, change nothing).
  virtual void record_schedule_fire(std::string_view name, Timestamp fire, std::string_view outcome,
                                    std::string_view saga_id) = 0;
};

// ---------------------------------------------------------------------------------------------
// Several orchestrators on one store: sagas hash into a fixed number of partitions
// (partition_of); each orchestrator leases some partitions and is the single writer of their
// sagas. A lease has an epoch that grows with every change of owner, and each write carries the
// epoch it was computed under (SagaWrite::lease_epoch), so a stale owner's write is refused.

// Sagas spread over partitions by their id; the same id always lands in the same partition, in
// every process and every release (FNV-1a, 32 bits: stable, unlike std::hash).
inline int partition_of(std::string_view saga_id, int partition_count) {
  if (partition_count <= 1) return 0;
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : saga_id) hash = (hash ^ c) * 16777619u;
  return static_cast<int>(hash % static_cast<std::uint32_t>(partition_count));
}

struct Lease {
  int partition = 0;
  std::uint64_t epoch = 0;
  bool operator==(const Lease&) const = default;
};

class PartitionedStore {
 public:
  virtual ~PartitionedStore() = default;

  // One heartbeat of `owner`: marks it alive for `ttl`, renews the leases it holds, takes
  // partitions that are free or whose lease expired up to its fair share (the partitions over
  // the owners alive, rounded up), and gives up those above the fair share, so that a process
  // that joins gets work. Returns every lease the owner holds afterwards, by partition.
  virtual std::vector<Lease> heartbeat(std::string_view owner, int partition_count,
                                       Duration ttl) = 0;
  // Gives the leases up at once (a clean shutdown), so that others need not wait for expiry.
  virtual void release(std::string_view owner) = 0;

  // Store's recovery queries, restricted to the given partitions.
  virtual std::vector<SagaRow> load_unfinished_in(std::span<const int> partitions) = 0;
  virtual std::vector<TimerRow> due_timers_in(Timestamp now, std::size_t limit,
                                              std::span<const int> partitions) = 0;
  virtual std::vector<OutboxRow> unpublished_outbox_in(std::size_t limit,
                                                       std::span<const int> partitions) = 0;
};

// ---------------------------------------------------------------------------------------------
// Transport: inputs arrive unacknowledged; the orchestrator acknowledges them only after the
// transition they caused is committed.

// An outside event sent from outside the flows (the admin endpoint's POST /api/events) that
// nothing takes: no queue is bound to its type, no listener waits for it. Nothing was sent.
class EventNotRouted : public std::runtime_error {
 public:
  explicit EventNotRouted(const std::string& type)
      : std::runtime_error("no one listens to event type " + type +
                           ": no flow waits for it or starts on it, and no queue is bound to it"),
        type(type) {}
  std::string type;
};

struct Delivery {
  Message message;
  std::uint64_t tag = 0;  // the transport's handle for ack / dead-letter
};

// Messages a transport took and has not confirmed yet (Transport::publish_started).
struct Sending {
  // Waits until the transport holds the messages durably; throws as publish() does when any
  // was not taken (refused, unroutable, lost with the connection, or not confirmed in time).
  std::function<void()> wait;
  // Whether the transport has answered, confirm or refusal, so that wait() returns at once.
  // Never blocks. Empty: wait() may block (a transport that cannot tell).
  std::function<bool()> settled;

  explicit operator bool() const { return static_cast<bool>(wait); }
  bool done() const { return !settled || settled(); }
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Sends the messages and returns once the transport holds them durably (publisher confirms
  // for a broker). Throws when any could not be sent; the caller keeps them in the outbox.
  virtual void publish(std::span<const Message> messages) = 0;

  // Starts sending and returns the sending under way (see Sending), or an empty Sending when
  // the transport holds the messages already. Never waits for a broker's confirms: the
  // orchestrator's round goes on (timers, commits) while they are awaited.
  // Default: publish() at once.
  virtual Sending publish_started(std::span<const Message> messages) {
    publish(messages);
    return {};
  }

  // When a command counts as sent, so that its attempt's time starts (TimerRow::started_by): by
  // default once the transport holds it (publish() returned, or the wait publish_started() gave
  // did: a broker's confirm). A transport that keeps commands in a queue of its own before its
  // participant takes them (the in-process bus) returns true here, and reports each hand-over
  // through take_handed_over() instead.
  virtual bool reports_hand_over() const { return false; }
  // Appends the commands handed to their participant since the last call (their `at` is left
  // for the caller, who stamps it from its clock).
  virtual void take_handed_over([[maybe_unused]] std::vector<CommandSent>& out) {}

  // Waits up to `wait` for inputs addressed to the orchestrator (replies and events) and
  // appends at most `max` of them to `out`. Returns how many were appended.
  virtual std::size_t receive(std::vector<Delivery>& out, std::size_t max, Duration wait) = 0;

  // Acknowledges inputs whose effects are committed.
  virtual void ack(std::span<const std::uint64_t> tags) = 0;

  // Gives up on an input that cannot be processed: it goes to the dead-letter queue whole (as
  // it arrived) with the reason's code and its human-readable detail, and never blocks the
  // queue. A transport reports every dead letter it makes (these, and those it makes on its own)
  // to the DeadLetterObserver it was given, if any.
  virtual void dead_letter(const Delivery& delivery, DeadLetterCode code,
                           std::string_view detail) = 0;

  // With several orchestrators (PartitionedStore): the partitions this orchestrator owns now,
  // called whenever the set changes (the empty set once it owns none). From then on the
  // transport delivers only the replies of these partitions, plus the shared outside events
  // while the set is not empty; inputs it delivered before and that are not acknowledged yet go
  // back to their queues for the partition's new owner (their tags may then be ignored). The
  // default does nothing: a transport with a single consumer delivers everything.
  virtual void consume_partitions([[maybe_unused]] std::span<const int> partitions) {}
};

}  // namespace sagaflow
