#pragma once
// A fast in-memory Store with the semantics of the SQLite store (it passes the same contract
// suite, tests/contract): the engine's tests and benchmarks run against it without I/O. It is
// also a PartitionedStore (tests/contract/partitioned_store_contract.hpp), so that several
// orchestrators can share it in a test; lease times come from the clock it is given.
//
// Threading: every member is safe to call from any thread (one mutex).
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "sagaflow/engine/ports.hpp"

namespace sagaflow::testing {

// What `fail_next_commit()` throws: stands for a disk or connection error of a real store.
class StoreFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class MemoryStore final : public Store, public PartitionedStore {
 public:
  // Lease times from the system clock.
  MemoryStore();
  // Lease times from `clock`, which must outlive the store (a ManualClock in tests).
  explicit MemoryStore(const Clock& clock);
  void set_clock(const Clock& clock);

  // Throws StaleLease for a write whose lease_epoch is not 0 and not the current epoch of its
  // saga's partition; the checks of Store::commit otherwise.
  std::vector<OutboxRow> commit(const CommitBatch& batch) override;
  std::optional<SagaRow> load(std::string_view saga_id) override;
  std::vector<SagaRow> load_unfinished() override;
  std::optional<std::string> find_by_idempotency_key(std::string_view flow,
                                                     std::string_view key) override;
  std::optional<std::string> find_subscriber(std::string_view event, std::string_view key) override;
  std::vector<TimerRow> due_timers(Timestamp now, std::size_t limit) override;
  std::vector<OutboxRow> unpublished_outbox(std::size_t limit) override;
  std::vector<HistoryRow> history(std::string_view saga_id) override;
  std::vector<SagaRow> list(const SagaFilter& filter) override;
  std::vector<SagaCount> count_by_flow_and_status() override;
  void save_flow_definition(const FlowDefinitionRow& definition) override;
  std::vector<FlowDefinitionRow> flow_definitions() override;
  void append_audit(const AuditEntry& entry) override;
  std::vector<AuditEntry> audit(std::optional<std::uint64_t> before, std::size_t limit) override;
  void set_flow_paused(std::string_view flow, bool paused) override;
  std::vector<std::string> paused_flows() override;
  void save_schedule(const ScheduleRow& schedule) override;
  std::vector<ScheduleRow> schedules() override;
  bool set_schedule_paused(std::string_view name, bool paused) override;
  bool remove_schedule(std::string_view name) override;
  void record_schedule_fire(std::string_view name, Timestamp fire, std::string_view outcome,
                            std::string_view saga_id) override;
  std::vector<SagaRow> finished(const FinishedFilter& filter) override;
  FinishedCount count_finished(const FinishedFilter& filter) override;
  RemovedRows remove_finished(std::span<const SagaRow> sagas) override;

  std::vector<Lease> heartbeat(std::string_view owner, int partition_count, Duration ttl) override;
  void release(std::string_view owner) override;
  std::vector<SagaRow> load_unfinished_in(std::span<const int> partitions) override;
  std::vector<TimerRow> due_timers_in(Timestamp now, std::size_t limit,
                                      std::span<const int> partitions) override;
  std::vector<OutboxRow> unpublished_outbox_in(std::size_t limit,
                                               std::span<const int> partitions) override;

  // Runs `hook` once, at the start of the next commit, before it reads anything: what another
  // connection does meanwhile (retention removing a saga the commit writes to).
  void on_next_commit(std::function<void()> hook);
  // The next `count` commits throw StoreFailure and write nothing.
  void fail_next_commit(std::size_t count = 1);
  // Transactions committed successfully (tests check that transitions share one: group commit).
  std::size_t commits() const;
  // The timers waiting for their command's confirm (TimerRow::started_by set), by saga and key.
  std::vector<TimerRow> timers_not_started() const;

 private:
  using Key = std::pair<std::string, std::string>;

  struct PartitionLease {
    std::string owner;  // empty: free (never taken, given up or released)
    std::uint64_t epoch = 0;
    Timestamp expires{};
  };
  struct StoredOutboxRow {
    OutboxRow row;
    int partition = 0;    // its saga's
    std::string saga_id;  // the saga whose write made it
  };

  // The partition of the saga a write is for: stored rows keep theirs.
  int partition_of_write(const SagaWrite& write) const;
  int partition_of_saga(const std::string& saga_id) const;
  // Finished sagas that filter finds, in (created_at, id) order, ignoring after and limit.
  std::vector<const SagaRow*> finished_locked(const FinishedFilter& filter) const;
  // Whether a timer, a subscription or an outbox row names the saga (retention keeps it then).
  bool still_needed(const std::string& saga_id) const;

  const Clock* clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, SagaRow> sagas_;
  std::map<Key, std::string> idempotency_;  // (flow, key) -> saga id
  std::unordered_map<std::string, std::vector<HistoryRow>> history_;
  std::map<std::uint64_t, StoredOutboxRow> outbox_;  // by seq: ordered
  std::uint64_t next_seq_ = 1;
  struct StoredTimer {
    Timestamp due{};
    std::string started_by;  // not started: the command whose confirm starts it
    Duration runs_for{0};
  };
  // Moves a started timer's entry in timers_by_due_ (not started ones have none).
  void index_timer(const Key& key, const StoredTimer& timer, bool add);

  std::map<Key, StoredTimer> timers_;  // (saga id, key) -> timer
  std::set<std::tuple<Timestamp, std::string, std::string>> timers_by_due_;  // started only
  std::map<std::pair<std::string, int>, FlowDefinitionRow> definitions_;
  std::vector<AuditEntry> audit_;  // in seq order; seq = index + 1
  std::set<std::string, std::less<>> paused_flows_;
  std::map<std::string, ScheduleRow, std::less<>> schedules_;
  std::map<Key, std::string> subscriptions_;  // (event, key) -> saga id
  std::map<int, PartitionLease> leases_;
  std::map<std::string, Timestamp, std::less<>> owners_alive_until_;
  std::size_t fail_commits_ = 0;
  std::function<void()> next_commit_hook_;
  std::size_t commits_ = 0;
};

}  // namespace sagaflow::testing
