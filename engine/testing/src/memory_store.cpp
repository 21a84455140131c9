#include "sagaflow/testing/memory_store.hpp"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "sagaflow/engine/system_clock.hpp"

namespace sagaflow::testing {

namespace {

bool is_finished(std::string_view status) {
  return status == "completed" || status == "compensated" || status == "cancelled";
}

bool among(std::span<const int> partitions, int partition) {
  return std::find(partitions.begin(), partitions.end(), partition) != partitions.end();
}

const SystemClock kSystemClock;

}  // namespace

MemoryStore::MemoryStore() : clock_(&kSystemClock) {}

MemoryStore::MemoryStore(const Clock& clock) : clock_(&clock) {}

void MemoryStore::set_clock(const Clock& clock) {
  std::lock_guard lock(mutex_);
  clock_ = &clock;
}

int MemoryStore::partition_of_write(const SagaWrite& write) const {
  auto it = sagas_.find(write.saga.id);
  return it == sagas_.end() ? write.saga.partition : it->second.partition;
}

int MemoryStore::partition_of_saga(const std::string& saga_id) const {
  auto it = sagas_.find(saga_id);
  return it == sagas_.end() ? 0 : it->second.partition;
}

std::vector<OutboxRow> MemoryStore::commit(const CommitBatch& batch) {
  std::function<void()> hook;
  {
    std::lock_guard lock(mutex_);
    hook.swap(next_commit_hook_);
  }
  if (hook) hook();
  std::lock_guard lock(mutex_);
  if (fail_commits_ > 0) {
    --fail_commits_;
    throw StoreFailure("memory store: simulated commit failure");
  }

  // Check the whole batch before touching anything, so that a refused batch writes nothing.
  // Writes are checked in order against the effect of the earlier writes of the same batch
  // (a saga created and moved on in one batch), as a SQL store executing them in turn does.
  {
    std::unordered_map<std::string_view, std::uint64_t> staged_versions;
    std::set<std::pair<std::string_view, std::string_view>> staged_keys;
    for (const SagaWrite& w : batch.writes) {
      const SagaRow& s = w.saga;
      // Fencing: the writer's lease on the partition must still be the current one.
      if (w.lease_epoch != 0) {
        const int partition = partition_of_write(w);
        auto lease = leases_.find(partition);
        if (lease == leases_.end() || lease->second.epoch != w.lease_epoch) {
          throw StaleLease(partition, w.lease_epoch);
        }
      }
      std::optional<std::uint64_t> current;
      if (auto it = staged_versions.find(s.id); it != staged_versions.end()) {
        current = it->second;
      } else if (auto st = sagas_.find(s.id); st != sagas_.end()) {
        current = st->second.version;
      }
      if (w.expected_version == 0) {
        if (current) throw VersionConflict(s.id);
        if (!s.idempotency_key.empty()) {
          const std::pair<std::string_view, std::string_view> key{s.flow, s.idempotency_key};
          if (staged_keys.contains(key) || idempotency_.contains(Key{s.flow, s.idempotency_key})) {
            throw DuplicateIdempotencyKey(s.flow, s.idempotency_key);
          }
          staged_keys.insert(key);
        }
      } else if (!current || *current != w.expected_version) {
        throw VersionConflict(s.id);
      }
      staged_versions[s.id] = s.version;
    }
  }

  std::vector<OutboxRow> written;
  for (const SagaWrite& w : batch.writes) {
    const SagaRow& s = w.saga;
    const int partition = partition_of_write(w);
    if (w.expected_version == 0) {
      sagas_.emplace(s.id, s);
      if (!s.idempotency_key.empty()) idempotency_.emplace(Key{s.flow, s.idempotency_key}, s.id);
    } else {
      // Identity columns (flow, idempotency key, created_at) are fixed at insert.
      SagaRow& stored = sagas_.at(s.id);
      stored.flow_version = s.flow_version;
      stored.status = s.status;
      stored.version = s.version;
      stored.state = s.state;
      stored.updated_at = s.updated_at;
    }
    auto& h = history_[s.id];
    for (const HistoryRow& row : w.history) {
      h.push_back(row);
      h.back().saga_id = s.id;
    }
    for (const Message& m : w.outbox) {
      OutboxRow row{next_seq_++, m};
      outbox_.emplace(row.seq, StoredOutboxRow{row, partition, w.saga.id});
      written.push_back(std::move(row));
    }
    // Cleared before set: a transition that re-arms a timer may list its key in both.
    for (const std::string& key : w.timers_cleared) {
      if (auto it = timers_.find(Key{s.id, key}); it != timers_.end()) {
        index_timer(it->first, it->second, false);
        timers_.erase(it);
      }
    }
    for (const TimerRow& t : w.timers_set) {
      StoredTimer timer{stored_due(t), t.started_by, t.runs_for};
      auto [it, inserted] = timers_.try_emplace(Key{s.id, t.key}, timer);
      if (!inserted) {
        index_timer(it->first, it->second, false);
        it->second = std::move(timer);
      }
      index_timer(it->first, it->second, true);
    }
    // A saga removes only its own subscriptions: one another saga has since taken over stays.
    for (const Subscription& sub : w.unsubscribe) {
      auto it = subscriptions_.find(Key{sub.event, sub.key});
      if (it != subscriptions_.end() && it->second == s.id) subscriptions_.erase(it);
    }
    for (const Subscription& sub : w.subscribe) {
      subscriptions_.insert_or_assign(Key{sub.event, sub.key}, s.id);
    }
  }
  for (std::uint64_t seq : batch.published) outbox_.erase(seq);
  // After the writes: only a timer that still waits for the command starts.
  for (const CommandSent& c : batch.sent) {
    for (auto it = timers_.lower_bound(Key{c.saga_id, {}});
         it != timers_.end() && it->first.first == c.saga_id; ++it) {
      StoredTimer& timer = it->second;
      if (timer.started_by != c.command_id) continue;
      timer.started_by.clear();
      timer.due = c.at + timer.runs_for;
      index_timer(it->first, timer, true);
    }
  }
  ++commits_;
  return written;
}

void MemoryStore::index_timer(const Key& key, const StoredTimer& timer, bool add) {
  if (!timer.started_by.empty()) return;
  if (add) {
    timers_by_due_.emplace(timer.due, key.first, key.second);
  } else {
    timers_by_due_.erase({timer.due, key.first, key.second});
  }
}

std::optional<SagaRow> MemoryStore::load(std::string_view saga_id) {
  std::lock_guard lock(mutex_);
  auto it = sagas_.find(std::string(saga_id));
  if (it == sagas_.end()) return std::nullopt;
  return it->second;
}

std::vector<SagaRow> MemoryStore::load_unfinished() {
  std::lock_guard lock(mutex_);
  std::vector<SagaRow> out;
  for (const auto& [id, saga] : sagas_) {
    if (!is_finished(saga.status)) out.push_back(saga);
  }
  // Same order as the SQL stores: oldest first, so recovery resumes sagas in start order.
  std::sort(out.begin(), out.end(), [](const SagaRow& a, const SagaRow& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  return out;
}

std::optional<std::string> MemoryStore::find_by_idempotency_key(std::string_view flow,
                                                                std::string_view key) {
  std::lock_guard lock(mutex_);
  auto it = idempotency_.find(Key{flow, key});
  if (it == idempotency_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> MemoryStore::find_subscriber(std::string_view event,
                                                        std::string_view key) {
  std::lock_guard lock(mutex_);
  auto it = subscriptions_.find(Key{event, key});
  if (it == subscriptions_.end()) return std::nullopt;
  return it->second;
}

std::vector<TimerRow> MemoryStore::due_timers(Timestamp now, std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<TimerRow> out;
  for (const auto& [due, saga_id, key] : timers_by_due_) {
    if (due > now || out.size() >= limit) break;
    out.push_back(TimerRow{saga_id, key, due});
  }
  return out;
}

std::vector<OutboxRow> MemoryStore::unpublished_outbox(std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<OutboxRow> out;
  for (const auto& [seq, stored] : outbox_) {
    if (out.size() >= limit) break;
    out.push_back(stored.row);
  }
  return out;
}

std::vector<HistoryRow> MemoryStore::history(std::string_view saga_id) {
  std::lock_guard lock(mutex_);
  auto it = history_.find(std::string(saga_id));
  if (it == history_.end()) return {};
  return it->second;
}

std::vector<SagaRow> MemoryStore::list(const SagaFilter& filter) {
  std::lock_guard lock(mutex_);
  auto newer = [](const SagaRow& a, const SagaRow& b) {
    if (a.created_at != b.created_at) return a.created_at > b.created_at;
    return a.id > b.id;
  };
  std::vector<SagaRow> out;
  for (const auto& [id, saga] : sagas_) {
    if (!filter.flow.empty() && saga.flow != filter.flow) continue;
    if (!filter.status.empty() && saga.status != filter.status) continue;
    if (!filter.key.empty() && saga.idempotency_key != filter.key) continue;
    if (!saga.id.starts_with(filter.id_prefix)) continue;
    if (filter.created_from && saga.created_at < *filter.created_from) continue;
    if (filter.created_before && saga.created_at >= *filter.created_before) continue;
    if (filter.after) {
      SagaRow cursor;
      cursor.created_at = filter.after->created_at;
      cursor.id = filter.after->id;
      if (!newer(cursor, saga)) continue;
    }
    out.push_back(saga);
  }
  std::sort(out.begin(), out.end(), newer);
  if (out.size() > filter.limit) out.resize(filter.limit);
  return out;
}

std::vector<SagaCount> MemoryStore::count_by_flow_and_status() {
  std::lock_guard lock(mutex_);
  std::map<std::pair<std::string, std::string>, std::uint64_t> counts;
  for (const auto& [id, saga] : sagas_) ++counts[{saga.flow, saga.status}];
  std::vector<SagaCount> out;
  for (const auto& [key, count] : counts) out.push_back({key.first, key.second, count});
  return out;
}

void MemoryStore::save_flow_definition(const FlowDefinitionRow& definition) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = definitions_.try_emplace({definition.name, definition.version}, definition);
  if (!inserted && it->second.source != definition.source) {
    throw FlowVersionExists(definition.name, definition.version);
  }
}

std::vector<FlowDefinitionRow> MemoryStore::flow_definitions() {
  std::lock_guard lock(mutex_);
  std::vector<FlowDefinitionRow> out;
  for (const auto& [key, definition] : definitions_) out.push_back(definition);
  return out;
}

void MemoryStore::append_audit(const AuditEntry& entry) {
  std::lock_guard lock(mutex_);
  audit_.push_back(entry);
  audit_.back().seq = audit_.size();
}

std::vector<AuditEntry> MemoryStore::audit(std::optional<std::uint64_t> before, std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<AuditEntry> out;
  std::size_t end = before ? std::min<std::size_t>(*before - 1, audit_.size()) : audit_.size();
  if (before && *before == 0) end = 0;
  for (std::size_t i = end; i > 0 && out.size() < limit; --i) out.push_back(audit_[i - 1]);
  return out;
}

void MemoryStore::set_flow_paused(std::string_view flow, bool paused) {
  std::lock_guard lock(mutex_);
  if (paused) {
    paused_flows_.emplace(flow);
  } else if (auto it = paused_flows_.find(flow); it != paused_flows_.end()) {
    paused_flows_.erase(it);
  }
}

std::vector<std::string> MemoryStore::paused_flows() {
  std::lock_guard lock(mutex_);
  return {paused_flows_.begin(), paused_flows_.end()};
}

void MemoryStore::save_schedule(const ScheduleRow& schedule) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = schedules_.try_emplace(schedule.name, schedule);
  if (inserted) return;
  auto& stored = it->second;
  stored.flow = schedule.flow;
  stored.cron = schedule.cron;
  stored.zone = schedule.zone;
  stored.overlap = schedule.overlap;
  stored.input = schedule.input;
}

std::vector<ScheduleRow> MemoryStore::schedules() {
  std::lock_guard lock(mutex_);
  std::vector<ScheduleRow> out;
  for (const auto& [name, schedule] : schedules_) out.push_back(schedule);
  return out;
}

bool MemoryStore::set_schedule_paused(std::string_view name, bool paused) {
  std::lock_guard lock(mutex_);
  auto it = schedules_.find(name);
  if (it == schedules_.end()) return false;
  it->second.paused = paused;
  return true;
}

bool MemoryStore::remove_schedule(std::string_view name) {
  std::lock_guard lock(mutex_);
  auto it = schedules_.find(name);
  if (it == schedules_.end()) return false;
  schedules_.erase(it);
  return true;
}

void MemoryStore::record_schedule_fire(std::string_view name, Timestamp fire,
                                       std::string_view outcome, std::string_view saga_id) {
  std::lock_guard lock(mutex_);
  auto it = schedules_.find(name);
  if (it == schedules_.end() || (it->second.last_fire && *it->second.last_fire >= fire)) return;
  it->second.last_fire = fire;
  it->second.last_outcome = std::string(outcome);
  it->second.last_saga = std::string(saga_id);
}

bool MemoryStore::still_needed(const std::string& saga_id) const {
  auto timer = timers_.lower_bound(Key{saga_id, ""});
  if (timer != timers_.end() && timer->first.first == saga_id) return true;
  for (const auto& [key, subscriber] : subscriptions_) {
    if (subscriber == saga_id) return true;
  }
  for (const auto& [seq, stored] : outbox_) {
    if (stored.saga_id == saga_id) return true;
  }
  return false;
}

std::vector<const SagaRow*> MemoryStore::finished_locked(const FinishedFilter& filter) const {
  std::vector<const SagaRow*> out;
  for (const auto& [id, saga] : sagas_) {
    if (saga.flow != filter.flow || saga.status != filter.status || !is_finished(saga.status) ||
        saga.updated_at >= filter.changed_before) {
      continue;
    }
    if (!filter.partitions.empty() && !among(filter.partitions, saga.partition)) continue;
    if (still_needed(id)) continue;
    out.push_back(&saga);
  }
  std::sort(out.begin(), out.end(), [](const SagaRow* a, const SagaRow* b) {
    return std::tie(a->created_at, a->id) < std::tie(b->created_at, b->id);
  });
  return out;
}

std::vector<SagaRow> MemoryStore::finished(const FinishedFilter& filter) {
  std::lock_guard lock(mutex_);
  std::vector<SagaRow> out;
  for (const SagaRow* saga : finished_locked(filter)) {
    if (out.size() >= filter.limit) break;
    if (filter.after && std::tie(saga->created_at, saga->id) <=
                            std::tie(filter.after->created_at, filter.after->id)) {
      continue;
    }
    out.push_back(*saga);
  }
  return out;
}

FinishedCount MemoryStore::count_finished(const FinishedFilter& filter) {
  std::lock_guard lock(mutex_);
  FinishedCount out;
  for (const SagaRow* saga : finished_locked(filter)) {
    ++out.count;
    if (!out.oldest || saga->updated_at < *out.oldest) out.oldest = saga->updated_at;
  }
  return out;
}

RemovedRows MemoryStore::remove_finished(std::span<const SagaRow> sagas) {
  std::lock_guard lock(mutex_);
  RemovedRows removed;
  for (const SagaRow& wanted : sagas) {
    auto it = sagas_.find(wanted.id);
    if (it == sagas_.end() || it->second.version != wanted.version ||
        !is_finished(it->second.status) || still_needed(wanted.id)) {
      continue;
    }
    const SagaRow& stored = it->second;
    if (!stored.idempotency_key.empty())
      idempotency_.erase(Key{stored.flow, stored.idempotency_key});
    if (auto h = history_.find(wanted.id); h != history_.end()) {
      removed.history += h->second.size();
      history_.erase(h);
    }
    sagas_.erase(it);
    ++removed.sagas;
  }
  return removed;
}

void MemoryStore::on_next_commit(std::function<void()> hook) {
  std::lock_guard lock(mutex_);
  next_commit_hook_ = std::move(hook);
}

void MemoryStore::fail_next_commit(std::size_t count) {
  std::lock_guard lock(mutex_);
  fail_commits_ = count;
}

std::size_t MemoryStore::commits() const {
  std::lock_guard lock(mutex_);
  return commits_;
}

std::vector<TimerRow> MemoryStore::timers_not_started() const {
  std::lock_guard lock(mutex_);
  std::vector<TimerRow> out;
  for (const auto& [key, timer] : timers_) {
    if (timer.started_by.empty()) continue;
    out.push_back(TimerRow{key.first, key.second, timer.due, timer.started_by, timer.runs_for});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// PartitionedStore

std::vector<Lease> MemoryStore::heartbeat(std::string_view owner, int partition_count,
                                          Duration ttl) {
  std::lock_guard lock(mutex_);
  const auto now = clock_->now();
  owners_alive_until_.insert_or_assign(std::string(owner), now + ttl);
  std::erase_if(owners_alive_until_, [&](const auto& entry) { return entry.second <= now; });
  const int live = static_cast<int>(owners_alive_until_.size());
  const int fair_share = (partition_count + live - 1) / live;

  // Held: every lease still in this owner's name (one no one took stays its own, even past its
  // expiry). Above the fair share, the highest partitions are given up.
  std::vector<int> held;
  for (int p = 0; p < partition_count; ++p) {
    if (leases_[p].owner == owner) held.push_back(p);
  }
  while (static_cast<int>(held.size()) > fair_share) {
    leases_[held.back()].owner.clear();
    held.pop_back();
  }
  // Taken, lowest first up to the fair share: free leases and expired ones, each under a new
  // epoch, so that the previous owner's writes are refused from now on.
  for (int p = 0; p < partition_count && static_cast<int>(held.size()) < fair_share; ++p) {
    auto& lease = leases_[p];
    if (lease.owner == owner) continue;
    if (!lease.owner.empty() && lease.expires > now) continue;
    lease.owner = std::string(owner);
    ++lease.epoch;
    held.push_back(p);
  }
  std::sort(held.begin(), held.end());
  std::vector<Lease> out;
  for (int p : held) {
    leases_[p].expires = now + ttl;
    out.push_back(Lease{p, leases_[p].epoch});
  }
  return out;
}

void MemoryStore::release(std::string_view owner) {
  std::lock_guard lock(mutex_);
  for (auto& [partition, lease] : leases_) {
    if (lease.owner == owner) lease.owner.clear();  // the epoch stays: the next owner's is + 1
  }
  if (auto it = owners_alive_until_.find(owner); it != owners_alive_until_.end()) {
    owners_alive_until_.erase(it);
  }
}

std::vector<SagaRow> MemoryStore::load_unfinished_in(std::span<const int> partitions) {
  auto out = load_unfinished();
  std::erase_if(out, [&](const SagaRow& s) { return !among(partitions, s.partition); });
  return out;
}

std::vector<TimerRow> MemoryStore::due_timers_in(Timestamp now, std::size_t limit,
                                                 std::span<const int> partitions) {
  std::lock_guard lock(mutex_);
  std::vector<TimerRow> out;
  for (const auto& [due, saga_id, key] : timers_by_due_) {
    if (due > now || out.size() >= limit) break;
    if (among(partitions, partition_of_saga(saga_id))) out.push_back(TimerRow{saga_id, key, due});
  }
  return out;
}

std::vector<OutboxRow> MemoryStore::unpublished_outbox_in(std::size_t limit,
                                                          std::span<const int> partitions) {
  std::lock_guard lock(mutex_);
  std::vector<OutboxRow> out;
  for (const auto& [seq, stored] : outbox_) {
    if (out.size() >= limit) break;
    if (among(partitions, stored.partition)) out.push_back(stored.row);
  }
  return out;
}

}  // namespace sagaflow::testing
