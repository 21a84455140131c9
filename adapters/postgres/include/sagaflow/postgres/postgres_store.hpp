#pragma once
// The production store: PostgreSQL through libpq, non-blocking on a private Asio context, one
// pipelined round trip per commit. Implements the Store port and the PartitionedStore port
// (leases with epochs, fenced by the database itself). libpq-fe.h stays inside src/.
//
// Threading: safe to call from several threads (one connection, serialised by a mutex). See
// adapters/postgres/README.md for the commit rule, fencing, reconnecting and the fate of a
// commit whose connection was lost.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sagaflow/engine/admin_addresses.hpp"
#include "sagaflow/engine/ports.hpp"
#include "sagaflow/postgres/errors.hpp"

namespace sagaflow::postgres {

struct PostgresOptions {
  // Where the database is: a libpq connection string ("host=... dbname=...") or URI
  // ("postgresql://user:password@host/db"). Never logged or put in an error: see redacted_dsn().
  // Default: the local server's "sagaflow" database over its unix socket.
  std::string dsn = "dbname=sagaflow";
  // The schema that holds Sagaflow's tables, set as every connection's search_path; it must
  // exist. Default (empty): the search_path the DSN and the role give (usually "public").
  std::string schema;
  // Shown in pg_stat_activity, unless the DSN names one. Default "sagaflow".
  std::string application_name = "sagaflow";
  // How long one connection attempt may take. Default 5 s.
  std::chrono::milliseconds connect_timeout{5000};
  // How long a call waits for the server before it takes the connection for dead (a broken
  // network is otherwise only noticed by TCP keepalive) and reconnects. Default 30 s.
  std::chrono::milliseconds io_timeout{30000};
  // After a lost connection: how long a call keeps reconnecting (backoff with jitter, steps of
  // 50 ms doubling to 1 s) before it throws ConnectionError (CommitOutcomeUnknown from commit()).
  // Default 30 s.
  std::chrono::milliseconds reconnect_timeout{30000};
  // How long the constructor keeps trying to connect. Default (none): reconnect_timeout. 0 makes
  // one attempt, for a caller that retries on its own (sagaflowd, which must stay stoppable).
  std::optional<std::chrono::milliseconds> start_timeout;
  // Told of every connection made (`up`, error empty) and of every failed attempt or lost
  // connection (error says why; never the password), on the thread of the call that met it,
  // under the store's lock: it must return quickly and never call the store. Default: nobody.
  std::function<void(bool up, const std::string& error)> on_connection;
  // Testing only. Called by commit() once the whole transaction (up to COMMIT and the sync) is
  // sent and before any of its results is read; returning true drops the connection there, as a
  // failing network would, so that the commit's fate must be looked up. Default: none.
  std::function<bool()> on_commit_sent;
};

// The DSN with its password masked ("****"), for messages and logs. A DSN that libpq cannot
// parse is never echoed: the answer is then "<unparseable dsn>".
std::string redacted_dsn(std::string_view dsn);

class PostgresStore final : public Store, public PartitionedStore, public AdminAddresses {
 public:
  // Connects (retrying for reconnect_timeout) and brings the schema up to date. Throws
  // ConnectionError, or Error for a schema newer than this Sagaflow knows.
  explicit PostgresStore(const PostgresOptions& options);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // From now on a lost connection fails the call at once (ConnectionError) instead of being
  // retried for reconnect_timeout, and a call waiting to retry stops waiting: for a process that
  // is shutting down. Any thread.
  void stop_retrying();

  // Store
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
  // Retention: sagaflowd gives it a store (a connection) of its own, so that its batches never
  // wait for the orchestrator's commits, nor hold them back.
  std::vector<SagaRow> finished(const FinishedFilter& filter) override;
  FinishedCount count_finished(const FinishedFilter& filter) override;
  RemovedRows remove_finished(std::span<const SagaRow> sagas) override;

  // PartitionedStore. Lease times are the database server's clock, so that orchestrators on
  // machines with skewed clocks agree on expiry.
  std::vector<Lease> heartbeat(std::string_view owner, int partition_count, Duration ttl) override;
  void release(std::string_view owner) override;
  void advertise(std::string_view owner, std::string_view admin_url) override;
  std::optional<PartitionOwner> owner_of(int partition) override;
  std::vector<SagaRow> load_unfinished_in(std::span<const int> partitions) override;
  std::vector<TimerRow> due_timers_in(Timestamp now, std::size_t limit,
                                      std::span<const int> partitions) override;
  std::vector<OutboxRow> unpublished_outbox_in(std::size_t limit,
                                               std::span<const int> partitions) override;

  // The plan PostgreSQL picks for list(filter), as EXPLAIN prints it: to check that every
  // filter the admin endpoint offers is served by an index.
  std::string explain_list(const SagaFilter& filter);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::postgres
