#pragma once
// Every fixed statement the store runs, prepared once per connection (again after a reconnect)
// and run by name, or planned again at each run. Values only ever arrive as parameters.
#include <span>
#include <string>

namespace sagaflow::postgres {

struct Statement {
  const char* name;
  const char* sql;
  // Not prepared: planned at each run for the tables' sizes then. For a batch job whose tables
  // swing between empty and large with the load: the plan a prepared statement keeps (made
  // once, while the timers table was empty, say) may read such a table whole for every row.
  bool planned_each_run = false;
};

namespace sql {

// The saga columns every saga query returns, in read_saga()'s order.
inline constexpr const char* kSagaColumns =
    "id, flow, flow_version, status, version, idempotency_key, state, created_at, updated_at, "
    "partition";
// The outbox columns, in read_outbox()'s order.
inline constexpr const char* kOutboxColumns =
    "seq, message_id, kind, type, destination, correlation_id, reply_to, causation_id, "
    "idempotency_key, outcome, error_code, flow, step, attempt, traceparent, body";

extern const Statement begin, commit, rollback;
// commit()
extern const Statement commit_lock, commit_mark, prune_commits, lock_leases;
extern const Statement insert_sagas, update_sagas, insert_history, insert_outbox, delete_outbox;
extern const Statement clear_timers, set_timers, start_timers, subscribe, unsubscribe;
// The fate of a commit whose connection was lost.
extern const Statement end_zombie, lock_timeout, commit_found, commit_outbox;
// Reads.
extern const Statement load, load_unfinished, load_unfinished_in, find_by_key, find_subscriber;
extern const Statement due_timers, due_timers_in, unpublished, unpublished_in, history, counts;
extern const Statement insert_flow_definition, flow_definition_source, flow_definitions;
// The audit log and paused flows.
extern const Statement insert_audit, audit, pause_flow, unpause_flow, paused_flows;
extern const Statement save_schedule, schedules, pause_schedule, remove_schedule,
    record_schedule_fire;
// Retention.
extern const Statement finished, count_finished, remove_finished;
// Leases.
extern const Statement heartbeat_lock, heartbeat_alive, heartbeat_prune, heartbeat_rows;
extern const Statement heartbeat_renew, heartbeat_out_of_range, heartbeat_give_up, heartbeat_take,
    heartbeat_held;
extern const Statement release_leases, release_owner, advertise_admin_url, partition_owner;

// Every statement above, for preparing them all at once.
std::span<const Statement* const> all();

}  // namespace sql
}  // namespace sagaflow::postgres
