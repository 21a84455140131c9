#pragma once
// Retention: finished sagas (completed, compensated, cancelled) and their history are removed
// once their last change is older than the age their flow keeps them for in that status (the
// flow file's `retention:`, else the daemon's defaults). Failed (parked) and unfinished sagas
// are never removed, nor a saga that a timer, a subscription or an outbox row still names.
//
// A pass goes over every flow and final status, oldest created first, in batches of at most
// `batch` sagas: each batch is read, optionally written to an archive (durably, before
// anything is removed), then removed in one short transaction (Store::remove_finished). The
// caller decides when batches run and pauses between them (sagaflowd: a thread of its own with
// a connection of its own on PostgreSQL), so that retention never holds the orchestrator's
// commits back. Time comes from the Clock (manual in tests).
//
// Threading: step(), begin_pass() and last_pass() on one thread; preview() from any thread
// (it only reads the store).
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sagaflow/engine/lifecycle.hpp"
#include "sagaflow/engine/metrics.hpp"
#include "sagaflow/engine/plan.hpp"
#include "sagaflow/engine/ports.hpp"
#include "sagaflow/flow/flow.hpp"

namespace sagaflow {

using flow::KeepFor;

// The daemon's ages per final status, for flows whose file sets none.
struct RetentionDefaults {
  KeepFor completed{.forever = false, .age = std::chrono::days(7)};
  KeepFor compensated{.forever = false, .age = std::chrono::days(30)};
  KeepFor cancelled{.forever = false, .age = std::chrono::days(30)};
};

// How long the sagas of one flow in one final status are kept.
struct RetentionRule {
  std::string flow;
  Status status = Status::completed;
  KeepFor keep;
};

// The final statuses retention works on, in the order a pass takes them.
inline constexpr std::array<Status, 3> kRemovableStatuses = {Status::completed, Status::compensated,
                                                             Status::cancelled};

// Every flow of the registry (by name: its latest version's `retention`, else the defaults)
// times each removable status, by flow then status.
std::vector<RetentionRule> retention_rules(const FlowRegistry& flows,
                                           const RetentionDefaults& defaults);

// One saga as it goes to the archive.
struct ArchivedSaga {
  SagaRow saga;
  std::vector<HistoryRow> history;
};

// Where sagas are written before they are removed.
class RetentionArchive {
 public:
  virtual ~RetentionArchive() = default;
  // Returns once the sagas are durable; throws when they could not be written (nothing is
  // removed then).
  virtual void write(std::span<const ArchivedSaga> sagas) = 0;
};

struct RetentionOptions {
  RetentionDefaults defaults;
  std::size_t batch = 500;  // sagas per batch, hence per removing transaction
};

// A pass narrowed to one flow, one status, or both (empty: everything).
struct PurgeScope {
  std::string flow;
  std::optional<Status> status;
};

// What a pass removed, or a preview found, for one flow and status.
struct PurgeGroup {
  std::string flow;
  Status status = Status::completed;
  KeepFor keep;
  std::uint64_t sagas = 0;          // removed (a preview: that would go now)
  std::uint64_t history = 0;        // history rows removed (a preview: 0)
  std::optional<Timestamp> oldest;  // a preview: the earliest last change of those that would go
};

// Retention yields to the orchestrator: after a batch that took `took` (its removing transaction
// and the reads before it) the next one waits at least `pause`, and at least kRetentionYield
// times `took`. A batch takes CPU and WAL of the same server as the orchestrator's commits, and
// takes longer when that server is busy: retention then steps back further, so that it spends
// at most 1 / (1 + kRetentionYield) of the time removing. A tenth: with a fifth, removing a
// backlog beside an orchestrator at its maximum rate cost it 12-13% of that rate on 2 cores
// (tools/bench --pg-side-with retention); with a tenth, too little to tell from the noise.
inline constexpr int kRetentionYield = 9;
std::chrono::milliseconds retention_pause(std::chrono::milliseconds pause,
                                          std::chrono::nanoseconds took);

class Retention {
 public:
  // `partitions` gives the partitions whose sagas this process may remove (an orchestrator's
  // leases, asked at each batch); empty function: every partition. Every argument must outlive
  // the Retention.
  Retention(Store& store, const FlowRegistry& flows, const Clock& clock,
            RetentionOptions options = {}, RetentionArchive* archive = nullptr,
            Metrics* metrics = nullptr, std::function<std::vector<int>()> partitions = {});

  // Starts a pass now (ages count back from now), narrowed to `scope`; a pass under way is
  // dropped.
  void begin_pass(const PurgeScope& scope = {});
  // One batch of the pass under way (a full pass is begun when none is). Returns true while the
  // pass may have more to do, false once it has ended (this call found nothing left). Throws
  // the store's or the archive's error; the pass is then over and nothing of the failed batch
  // was removed.
  bool step();
  // What the pass under way, or the last one, removed: the groups that removed something.
  const std::vector<PurgeGroup>& last_pass() const { return removed_; }

  // What a pass begun now would remove: the groups with something to remove.
  std::vector<PurgeGroup> preview(const PurgeScope& scope = {}) const;

  // The earliest last change among the finished sagas kept, per flow and status, reported to
  // the metrics (done at the end of each pass). Bounded: it reads the oldest created sagas
  // only until none created later can have changed earlier.
  void report_oldest();

 private:
  std::vector<RetentionRule> rules_in(const PurgeScope& scope) const;
  std::vector<int> partitions() const;
  void end_pass();

  Store& store_;
  const FlowRegistry& flows_;
  const Clock& clock_;
  RetentionOptions options_;
  RetentionArchive* archive_;
  Metrics* metrics_;
  std::function<std::vector<int>()> partitions_;

  // The pass under way.
  bool active_ = false;
  Timestamp started_{};
  std::vector<RetentionRule> rules_;
  std::size_t rule_ = 0;
  std::optional<SagaCursor> cursor_;
  std::vector<PurgeGroup> removed_;
};

}  // namespace sagaflow
