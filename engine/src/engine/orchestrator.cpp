#include "sagaflow/engine/orchestrator.hpp"

#include "sagaflow/engine/saga_write.hpp"
#include "sagaflow/engine/schedule.hpp"

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <variant>

#include "outbox_relay.hpp"
#include "partition_ownership.hpp"
#include "service_slots.hpp"

namespace sagaflow {
namespace {

struct StartControl {
  StartRequest request;
  std::promise<StartResult> done;
};
struct CancelControl {
  std::string saga_id;
  std::string reason;
  std::promise<void> done;
};
struct RetryControl {
  std::string saga_id;
  std::promise<void> done;
};
struct PauseControl {
  std::string saga_id;
  std::string reason;
  std::promise<void> done;
};
struct ResumeControl {
  std::string saga_id;
  std::promise<void> done;
};
struct SkipControl {
  SkipRequest request;
  std::string saga_id;
  std::promise<void> done;
};
struct EditControl {
  EditRequest request;
  std::string saga_id;
  std::promise<void> done;
};
using Control = std::variant<StartControl, CancelControl, RetryControl, PauseControl, ResumeControl,
                             SkipControl, EditControl>;

// How often a round reads the paused flows again (another orchestrator may have changed them).
constexpr Duration kPausedFlowsRefresh{1000};
constexpr Duration kSchedulesRefresh{1000};  // how often the schedules are read and fired

std::string new_saga_id(std::mt19937_64& random) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    auto bits = random();
    for (int i = 0; i < 16; ++i, bits >>= 4) id[half * 16 + i] = kHex[bits & 0xf];
  }
  return id;
}

// What a committed write tells the metrics: a saga started, paused or resumed, a saga that
// reached a final status or was parked.
void count(Metrics& metrics, const SagaWrite& w) {
  if (w.expected_version == 0) metrics.saga_started(w.saga.flow);
  for (const auto& h : w.history) {
    if (h.kind == "saga_paused") {
      boost::system::error_code ec;
      const auto detail = json::parse(h.detail, ec);
      const auto* by = ec || !detail.is_object() ? nullptr : detail.as_object().if_contains("by");
      metrics.saga_paused(w.saga.flow, by && by->is_string() ? by->get_string() : "operator");
    } else if (h.kind == "saga_resumed") {
      metrics.saga_resumed(w.saga.flow);
    } else if (h.kind == "saga_completed" || h.kind == "saga_compensated" ||
               h.kind == "saga_cancelled" || h.kind == "saga_parked") {
      if (auto status = status_from_string(w.saga.status))
        metrics.saga_finished(w.saga.flow, *status);
      return;
    }
  }
}

// With several orchestrators, the options must agree on the partition count everywhere.
OrchestratorOptions checked(OrchestratorOptions options) {
  if (options.partition_count < 1) {
    throw std::invalid_argument("orchestrator: partition_count must be at least 1");
  }
  if (options.engine.child_id_partitions == 0) {
    options.engine.child_id_partitions = options.partition_count;
  }
  if (options.leases == nullptr) return options;
  if (options.owner.empty()) throw std::invalid_argument("orchestrator: leases need an owner");
  if (options.engine.partitions == 0) options.engine.partitions = options.partition_count;
  if (options.engine.partitions != options.partition_count) {
    throw std::invalid_argument("orchestrator: engine.partitions differs from partition_count");
  }
  return options;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// What one round collects before its single commit.
struct Round {
  // Everything the round does to one saga.
  struct Entry {
    SagaWrite write;
    std::vector<Delivery> deliveries;  // inputs to acknowledge after the commit
    // Requests answered once the write is committed, or failed with the commit's error.
    std::vector<std::function<void()>> on_commit;
    std::vector<std::function<void(std::exception_ptr)>> on_failure;
    bool poisoned = false;  // the engine failed on one of its inputs: nothing of it is committed
  };
  std::vector<Entry> entries;
  std::unordered_map<std::string, std::size_t> by_saga;
  // Inputs that change no saga but are done with (an event that started a saga already
  // started): acknowledged with the commit.
  std::vector<Delivery> consumed;
  // Inputs for sagas of partitions another orchestrator owns, with that partition: sent on to
  // its reply queue, then acknowledged.
  std::vector<std::pair<Delivery, int>> forwards;

  // Adds one input's write for a saga; `version_before` is the saga's version before it.
  Entry& add(const std::string& saga_id, std::uint64_t version_before, SagaWrite&& write) {
    auto [it, inserted] = by_saga.try_emplace(saga_id, entries.size());
    if (!inserted) {
      auto& e = entries[it->second];
      merge(e.write, std::move(write));
      return e;
    }
    auto& e = entries.emplace_back();
    e.write = std::move(write);
    e.write.saga.id = saga_id;
    e.write.expected_version = version_before;
    return e;
  }
  Entry* find(const std::string& saga_id) {
    auto it = by_saga.find(saga_id);
    return it == by_saga.end() ? nullptr : &entries[it->second];
  }
};

struct Orchestrator::Impl {
  Impl(const FlowRegistry& flows, Store& store, Transport& transport, const Clock& clock,
       OrchestratorOptions options)
      : flows(flows),
        store(store),
        transport(transport),
        clock(clock),
        options(checked(std::move(options))),
        engine(this->options.engine),
        random(std::random_device{}()),
        metrics(this->options.metrics),
        relay(transport, clock, this->options.metrics),
        slots(this->options.max_in_flight_per_service, clock) {
    if (partitioned()) {
      ownership = std::make_unique<PartitionOwnership>(
          this->options.lease_store ? *this->options.lease_store : *this->options.leases, clock,
          OwnershipOptions{.owner = this->options.owner,
                           .partition_count = this->options.partition_count,
                           .lease_ttl = this->options.lease_ttl,
                           .heartbeat_every = this->options.heartbeat_every});
    }
  }

  const FlowRegistry& flows;
  Store& store;
  Transport& transport;
  const Clock& clock;
  OrchestratorOptions options;
  Engine engine;
  std::mt19937_64 random;

  std::mutex controls_mutex;
  std::vector<Control> controls;
  template <class Control>
  auto request(Control control);

  // Paused flows as last read from the store; a start of one is held (StartRequest::hold). A
  // flow that is no longer paused when they are read again has its held sagas resumed.
  std::set<std::string, std::less<>> paused_flows;
  std::optional<Duration> paused_flows_read;  // monotonic; none: never read yet
  std::atomic<bool> paused_flows_changed{false};

  // The schedules are read and the due ones fired every kSchedulesRefresh (at once after a
  // change made here).
  std::optional<Duration> schedules_read;  // monotonic; none: never read yet
  std::atomic<bool> schedules_changed{false};

  std::unordered_map<std::string, std::unique_ptr<SagaState>> cache;
  Timestamp last_timer_poll{};
  std::vector<Delivery> deliveries;
  std::vector<Delivery> redo;  // inputs whose round was dropped, processed again next round

  // Metrics (none when null); the gauges are read from other threads.
  Metrics* metrics;
  std::atomic<std::size_t> cached{0};  // cache.size() as of the last round
  // Sends the outbox and learns the confirms, never waiting for the transport.
  OutboxRelay relay;
  // Backpressure: the commands over their service's limit wait in the outbox.
  ServiceSlots slots;
  const ServiceSlots::Awaited awaited = [this](const std::string& saga_id,
                                               const std::string& command_id) {
    return awaits(saga_id, command_id);
  };
  // Partitions (options.leases set): the heartbeats decide what this orchestrator owns; the
  // round follows them between rounds (follow_ownership).
  std::unique_ptr<PartitionOwnership> ownership;
  std::uint64_t ownership_seen = 0;    // the last change of `ownership` applied
  std::map<int, std::uint64_t> owned;  // partition -> lease epoch, as the round applies them
  std::vector<int> owned_list;         // the same partitions, for the store's *_in queries
  mutable std::mutex leases_mutex;
  // When each service last replied: kept on the run thread, published once per round.
  std::map<std::string, Timestamp> last_replies;
  mutable std::mutex last_replies_mutex;
  std::map<std::string, Timestamp> last_replies_published;
  bool last_replies_changed = false;
  std::vector<Lease> leases_held;  // a copy of `owned` for other threads (Orchestrator::leases)

  // --- loading ------------------------------------------------------------------------------
  SagaState* saga(const std::string& id) {
    if (auto it = cache.find(id); it != cache.end()) return it->second.get();
    auto row = store.load(id);
    if (!row) return nullptr;
    auto state = from_row(*row, flows);
    auto* raw = state.get();
    cache.emplace(id, std::move(state));
    return raw;
  }

  // --- one round ----------------------------------------------------------------------------
  std::size_t run_once(Duration wait) {
    std::vector<Control> taken;
    {
      std::lock_guard lock(controls_mutex);
      taken.swap(controls);
    }
    if (partitioned()) follow_ownership();
    deliveries.clear();
    deliveries.swap(redo);
    bool busy = !taken.empty() || !deliveries.empty();
    transport.receive(deliveries, options.max_batch, busy ? Duration{0} : wait);

    const auto now = clock.now();
    std::vector<TimerRow> timers;
    if (now - last_timer_poll >= options.timer_poll) {
      timers = due_timers(now);
      last_timer_poll = now;
    }
    if (relay.behind) republish();
    take_handed_over(now);

    Round round;
    refresh_paused_flows(round, now);
    fire_schedules(round, now);
    for (auto& c : taken) std::visit([&](auto& control) { handle(control, round, now); }, c);
    for (auto& d : deliveries) handle(d, round, now);
    for (const auto& t : timers) handle(t, round, now);
    carry_links(round, now);
    if (!round.entries.empty() || !round.consumed.empty() || !relay.published.empty() ||
        !relay.sent.empty()) {
      commit(round);
    } else {
      relay.collect();  // the confirms that came meanwhile go into the next commit
      // Slots freed without a commit (partitions lost) take the waiting commands they can.
      if (slots.waiting() > 0) relay.send(slots.take_ready(awaited));
    }
    for (auto& d : relay.returned) redo.push_back(std::move(d));
    relay.returned.clear();
    cached = cache.size();
    slots.publish_loads();
    if (last_replies_changed) {
      std::lock_guard lock(last_replies_mutex);
      last_replies_published = last_replies;
      last_replies_changed = false;
    }
    if (!round.forwards.empty()) forward(round.forwards);
    return taken.size() + deliveries.size() + timers.size();
  }

  void commit(Round& round) {
    CommitBatch batch;
    batch.writes.reserve(round.entries.size());
    for (auto& e : round.entries) {
      if (e.poisoned) continue;
      e.write.saga = to_row(*cache.at(e.write.saga.id));
      stamp_partition(e.write);
      batch.writes.push_back(std::move(e.write));
    }
    batch.published = std::move(relay.published);
    relay.published.clear();
    batch.sent = std::move(relay.sent);
    relay.sent.clear();
    std::vector<OutboxRow> rows;
    fault("before_commit");
    try {
      rows = store.commit(batch);
    } catch (...) {
      auto error = std::current_exception();
      if (drop_removed_saga(error, round, batch)) {
        relay.published = std::move(batch.published);
        relay.sent = std::move(batch.sent);
        return commit(round);  // the rest of the round, without that saga
      }
      // Nothing was written: forget what the round computed, answer its requests with the
      // error, and leave its inputs unacknowledged so that they come again.
      for (const auto& w : batch.writes) cache.erase(w.saga.id);
      relay.published = std::move(batch.published);
      relay.sent = std::move(batch.sent);
      for (auto& e : round.entries) {
        for (auto& d : e.deliveries) redo.push_back(std::move(d));
        for (auto& f : e.on_failure) f(error);
      }
      for (auto& d : round.consumed) redo.push_back(std::move(d));
      if (partitioned()) lose_stale_lease(error);
      return;
    }
    fault("after_commit");
    // Scanned only for a drill: the history of every write is not read on the hot path.
    if (options.fault_point && sends_compensation(batch)) fault("mid_compensation");
    if (slots.limited()) free_slots(batch);
    relay.send(slots.admit(std::move(rows), awaited));
    fault("after_publish");
    std::vector<std::uint64_t> tags;
    for (const auto& d : round.consumed) tags.push_back(d.tag);
    for (auto& e : round.entries) {
      if (e.poisoned) continue;
      for (const auto& d : e.deliveries) tags.push_back(d.tag);
      for (auto& f : e.on_commit) f();
    }
    if (!tags.empty()) transport.ack(tags);
    std::vector<SagaChange> changes;
    if (options.on_committed) {
      changes.reserve(batch.writes.size());
      for (const auto& w : batch.writes) changes.push_back(change_of(w, *cache.at(w.saga.id)));
    }
    for (const auto& w : batch.writes) {
      if (metrics) count(*metrics, w);
      auto status = status_from_string(w.saga.status);
      if (status && (is_final(*status) || *status == Status::failed)) cache.erase(w.saga.id);
    }
    // Last: a watcher woken by a change finds the metrics that count it.
    if (options.on_committed) options.on_committed(std::move(changes));
  }

  // Retention removed a finished saga between this round's reading it (to record a late reply
  // in its history) and the commit, and the store refused the whole batch for it. That saga
  // leaves the round (its inputs come again and find no saga: dead-lettered as unknown), and
  // the rest of the round is committed. Any other refusal is not this: false.
  bool drop_removed_saga(const std::exception_ptr& error, Round& round, CommitBatch& batch) {
    std::string id;
    try {
      std::rethrow_exception(error);
    } catch (const VersionConflict& conflict) {
      id = conflict.saga_id;
    } catch (...) {
      return false;
    }
    auto* entry = round.find(id);
    const auto written = std::find_if(batch.writes.begin(), batch.writes.end(),
                                      [&](const SagaWrite& w) { return w.saga.id == id; });
    if (entry == nullptr || written == batch.writes.end() || written->expected_version == 0) {
      return false;
    }
    const auto status = status_from_string(written->saga.status);
    if (!status || !is_final(*status) || store.load(id)) return false;
    std::size_t next = 0;
    for (auto& e : round.entries) {
      if (!e.poisoned) e.write = std::move(batch.writes[next++]);
    }
    entry->poisoned = true;
    for (auto& d : entry->deliveries) redo.push_back(std::move(d));
    entry->deliveries.clear();
    for (auto& f : entry->on_failure) f(unknown_saga(id));
    entry->on_commit.clear();
    entry->on_failure.clear();
    cache.erase(id);
    return true;
  }

  void fault(std::string_view point) {
    if (options.fault_point) options.fault_point(point);
  }
  static bool sends_compensation(const CommitBatch& batch) {
    for (const auto& w : batch.writes) {
      for (const auto& h : w.history) {
        if (h.kind == "compensation_sent") return true;
      }
    }
    return false;
  }

  // A transport that hands commands on later (the in-process bus) says when it did: their
  // attempt timers start from the round that learns it.
  void take_handed_over(Timestamp now) {
    if (!transport.reports_hand_over()) return;
    auto& sent = relay.sent;
    const auto before = sent.size();
    transport.take_handed_over(sent);
    for (auto i = before; i < sent.size(); ++i) sent[i].at = now;
  }

  // A sending failed: the committed rows still in the outbox go again (those of the owned
  // partitions, with several orchestrators), except those under way or published since the
  // last commit.
  void republish() {
    relay.collect();
    // Rows waiting for a slot are read again too: room for a batch beyond them.
    const auto limit = options.max_batch + slots.waiting();
    auto rows = partitioned() ? options.leases->unpublished_outbox_in(limit, owned_list)
                              : store.unpublished_outbox(limit);
    relay.behind = rows.size() >= limit;  // more than one batch: the rest next round
    publish_again(std::move(rows));
  }

  void publish_again(std::vector<OutboxRow> rows) {
    const auto in_hand = relay.in_hand();
    std::erase_if(
        rows, [&](const OutboxRow& r) { return in_hand.contains(r.seq) || slots.holds(r.seq); });
    relay.republishing();
    relay.send(slots.admit(std::move(rows), awaited));
  }

  // --- backpressure (ServiceSlots) ------------------------------------------------------------
  // The committed sagas' answered commands free their slots; the oldest waiting commands take
  // them, ahead of this commit's own (which wait behind them, in order).
  void free_slots(const CommitBatch& batch) {
    for (const auto& w : batch.writes) {
      auto it = cache.find(w.saga.id);
      slots.settle(w.saga.id, it == cache.end() ? std::vector<std::string>{}
                                                : pending_command_ids(*it->second));
    }
    auto ready = slots.take_ready(awaited);
    if (!ready.empty()) relay.send(std::move(ready));
  }

  // Whether the saga still awaits the command (a stale row takes no slot when sent).
  bool awaits(const std::string& saga_id, const std::string& command_id) {
    auto it = cache.find(saga_id);
    SagaState* s = it == cache.end() ? nullptr : it->second.get();
    if (s == nullptr) {
      auto row = store.load(saga_id);
      if (!row || row->status == "completed" || row->status == "compensated" ||
          row->status == "cancelled" || row->status == "failed" || !owns(saga_id)) {
        return false;
      }
      s = saga(saga_id);
    }
    auto pending = pending_command_ids(*s);
    return std::find(pending.begin(), pending.end(), command_id) != pending.end();
  }

  // After a restart or a take-over: the commands the sagas await that have left the outbox are
  // in flight, and count against their services' limits before anything more is sent.
  void count_in_flight(const std::vector<SagaRow>& unfinished,
                       const std::vector<OutboxRow>& unpublished) {
    if (!slots.limited()) return;
    std::set<std::string> waiting;
    for (const auto& r : unpublished) waiting.insert(r.message.id);
    const auto now = clock.now();
    for (const auto& row : unfinished) {
      if (!owns(row.id)) continue;
      auto* s = saga(row.id);
      if (s == nullptr) continue;
      for (const auto& m : pending_commands(engine, *s, now)) {
        if (!waiting.contains(m.id)) slots.in_flight(s->id, m.id, m.destination);
      }
    }
  }

  std::vector<TimerRow> due_timers(Timestamp now) {
    if (!partitioned()) return store.due_timers(now, options.max_batch);
    if (owned_list.empty()) return {};
    return options.leases->due_timers_in(now, options.max_batch, owned_list);
  }

  // --- inputs -------------------------------------------------------------------------------
  void handle(StartControl& c, Round& round, Timestamp now) {
    auto& request = c.request;
    auto plan = flows.find(request.flow, request.version);
    if (!plan) {
      c.done.set_exception(std::make_exception_ptr(std::invalid_argument(
          "unknown flow " + request.flow +
          (request.version ? " version " + std::to_string(request.version) : ""))));
      return;
    }
    if (!request.idempotency_key.empty()) {
      if (auto existing = started_with_key(round, plan->flow().name, request.idempotency_key)) {
        c.done.set_value(StartResult{*existing, false});
        return;
      }
    }
    Round::Entry* entry = nullptr;
    try {
      entry = &begin_saga(plan, request, round, now);
    } catch (...) {
      c.done.set_exception(std::current_exception());
      return;
    }
    auto& e = *entry;
    auto id = request.saga_id;
    auto promise = std::make_shared<std::promise<StartResult>>(std::move(c.done));
    e.on_commit.push_back([promise, id] { promise->set_value(StartResult{id, true}); });
    e.on_failure.push_back([promise](std::exception_ptr e) { promise->set_exception(e); });
  }

  // The engine's first transition of a new saga, added to the round. Throws InvalidInput, or
  // NotOwner when the saga's partition is another orchestrator's.
  Round::Entry& begin_saga(const std::shared_ptr<const Plan>& plan, StartRequest& request,
                           Round& round, Timestamp now) {
    if (request.saga_id.empty()) request.saga_id = new_id();
    if (!owns(request.saga_id)) throw not_owner(request.saga_id);
    SagaWrite write;
    request.hold = paused_flows.contains(plan->flow().name);
    auto state = engine.start(plan, request, now, write);
    cache[request.saga_id] = std::move(state);
    return round.add(request.saga_id, 0, std::move(write));
  }

  // --- sub-flows ----------------------------------------------------------------------------
  // What the round's sagas ask of other sagas of their partition (a child to start, compensate
  // or cancel; a parent told that its child ended), carried out in this round so that both
  // halves are in its one commit. A link may cause more (a child that ends at once tells its
  // parent): until none is left.
  void carry_links(Round& round, Timestamp now) {
    for (bool more = true; more;) {
      more = false;
      for (std::size_t i = 0; i < round.entries.size(); ++i) {
        if (round.entries[i].poisoned || round.entries[i].write.links.empty()) continue;
        auto links = std::move(round.entries[i].write.links);
        round.entries[i].write.links.clear();
        more = true;
        for (const auto& link : links) carry(link, round, now);
      }
    }
  }

  void carry(const SagaLink& link, Round& round, Timestamp now) {
    if (const auto* e = round.find(link.target); e != nullptr && e->poisoned) return;
    SagaState* s = nullptr;
    try {
      s = saga(link.target);
    } catch (const std::exception&) {
      return;  // its flow version is not loaded: it is dead-lettered on its own inputs
    }
    if (s == nullptr) {
      switch (link.kind) {
        case SagaLinkKind::start_child:
          return start_child(link, round, now);
        case SagaLinkKind::undo_child:  // removed by retention: nothing left to undo
          return answer_parent(link, ReplyOutcome::success, "ChildGone", "removed", round, now);
        case SagaLinkKind::cancel_child:
          return answer_parent(link, ReplyOutcome::business_failure, "ChildGone", "removed", round,
                               now);
        case SagaLinkKind::child_ended:
          return;  // a parent removed meanwhile: no one to tell
      }
    }
    const auto version_before = s->version;
    SagaWrite write;
    engine.link(*s, link, now, write);
    round.add(s->id, version_before, std::move(write));
  }

  // A child saga, in its parent's partition (its id says so), committed with its parent's step.
  // A child that cannot start (its flow is gone, its input is refused) fails the step.
  // Answers the parent's step for a child that cannot: one that could not start, or is gone.
  void answer_parent(const SagaLink& link, ReplyOutcome outcome, const std::string& code,
                     const std::string& reason, Round& round, Timestamp now) {
    Message reply;
    reply.kind = MessageKind::reply;
    reply.id = link.target + "/" + code + "/" + link.message.causation_id;
    reply.causation_id = link.message.causation_id;
    reply.correlation_id = link.message.correlation_id;
    reply.step = link.message.step;
    reply.outcome = outcome;
    reply.error_code = code;
    reply.body = json::serialize(json::object{{"child", link.target}, {"reason", reason}});
    carry(SagaLink{.kind = SagaLinkKind::child_ended,
                   .target = link.message.correlation_id,
                   .flow = {},
                   .message = std::move(reply)},
          round, now);
  }

  void start_child(const SagaLink& link, Round& round, Timestamp now) {
    auto refuse = [&](const std::string& code, const std::string& reason) {
      answer_parent(link, ReplyOutcome::business_failure, code, reason, round, now);
    };
    auto plan = flows.find(link.flow);
    if (!plan) return refuse("UnknownFlow", "flow " + link.flow + " is not deployed");
    boost::system::error_code ec;
    auto input = json::parse(link.message.body, ec);
    StartRequest request{.flow = link.flow,
                         .input = ec ? json::value(json::object{}) : std::move(input),
                         .saga_id = link.target,
                         .traceparent = link.message.traceparent,
                         .parent_id = link.message.correlation_id,
                         .parent_step = link.message.step,
                         .parent_command = link.message.causation_id};
    try {
      begin_saga(plan, request, round, now);
    } catch (const InvalidInput& e) {
      refuse("InvalidChildInput", e.what());
    } catch (const NotOwner& e) {
      refuse("ChildNotOwned", e.what());
    }
  }

  std::optional<std::string> started_with_key(const Round& round, const std::string& flow,
                                              const std::string& key) {
    for (const auto& [id, index] : round.by_saga) {
      const auto& saga = *cache.at(id);
      if (saga.idempotency_key == key && saga.flow().name == flow && saga.version == 1 &&
          round.entries[index].write.expected_version == 0) {
        return id;
      }
    }
    return store.find_by_idempotency_key(flow, key);
  }

  template <class Control, class Apply>
  void operator_request(Control& c, Round& round, Apply apply) {
    if (!owns(c.saga_id)) {
      c.done.set_exception(store.load(c.saga_id) ? std::make_exception_ptr(not_owner(c.saga_id))
                                                 : unknown_saga(c.saga_id));
      return;
    }
    auto* s = saga(c.saga_id);
    if (s == nullptr) {
      c.done.set_exception(unknown_saga(c.saga_id));
      return;
    }
    auto version_before = s->version;
    SagaWrite write;
    try {
      apply(*s, write);
    } catch (...) {
      c.done.set_exception(std::current_exception());
      return;
    }
    auto& e = round.add(s->id, version_before, std::move(write));
    auto promise = std::make_shared<std::promise<void>>(std::move(c.done));
    e.on_commit.push_back([promise] { promise->set_value(); });
    e.on_failure.push_back([promise](std::exception_ptr e) { promise->set_exception(e); });
  }

  static std::exception_ptr unknown_saga(const std::string& id) {
    return std::make_exception_ptr(std::invalid_argument("unknown saga " + id));
  }

  void handle(CancelControl& c, Round& round, Timestamp now) {
    operator_request(c, round,
                     [&](SagaState& s, SagaWrite& w) { engine.cancel(s, c.reason, now, w); });
  }

  void handle(RetryControl& c, Round& round, Timestamp now) {
    operator_request(c, round, [&](SagaState& s, SagaWrite& w) { engine.retry(s, now, w); });
  }

  void handle(PauseControl& c, Round& round, Timestamp now) {
    operator_request(c, round,
                     [&](SagaState& s, SagaWrite& w) { engine.pause(s, c.reason, now, w); });
  }

  void handle(ResumeControl& c, Round& round, Timestamp now) {
    operator_request(c, round, [&](SagaState& s, SagaWrite& w) { engine.resume(s, now, w); });
  }

  // Reads the paused flows when due (every kPausedFlowsRefresh, or at once after a change made
  // here). The sagas held by a flow that is no longer paused are resumed in this round. A full
  // scan (the first read, or after a failure) resumes every saga held by a flow not paused now,
  // so that a flow resumed while no orchestrator ran, or while the store failed, is not missed.
  void refresh_paused_flows(Round& round, Timestamp now) {
    const auto mono = clock.monotonic();
    const bool changed = paused_flows_changed.exchange(false);
    if (!changed && paused_flows_read && mono - *paused_flows_read < kPausedFlowsRefresh) return;
    const bool full_scan = !paused_flows_read;
    std::set<std::string, std::less<>> fresh;
    std::set<std::string> candidates;
    try {
      auto names = store.paused_flows();
      fresh.insert(names.begin(), names.end());
      if (full_scan) {
        held_sagas(std::string(), candidates);
      } else {
        for (const auto& flow : paused_flows) {
          if (!fresh.contains(flow)) held_sagas(flow, candidates);
        }
      }
    } catch (const std::exception&) {
      paused_flows_changed = true;  // the store does not answer: ask again next round
      return;
    }
    paused_flows = std::move(fresh);
    paused_flows_read = mono;
    for (const auto& id : candidates) {
      try {
        if (!owns(id)) continue;
        auto* s = saga(id);
        if (s == nullptr || s->status != Status::paused || s->paused_by != "flow" ||
            paused_flows.contains(s->flow().name)) {
          continue;
        }
        const auto version_before = s->version;
        SagaWrite write;
        engine.resume(*s, now, write);
        round.add(id, version_before, std::move(write));
      } catch (const std::exception&) {
        paused_flows_read.reset();  // a full scan next round takes it again
      }
    }
  }

  // Fires the due schedules this orchestrator owns (by the partition of their name). A firing
  // is the start of its flow with the idempotency key schedule_key(name, time): a firing already
  // started (by this orchestrator before a crash, or by another during a change of owner) is
  // found by its key and only recorded. Times missed while no orchestrator ran fire once, as the
  // latest of them (schedule_due).
  void fire_schedules(Round& round, Timestamp now) {
    const auto mono = clock.monotonic();
    const bool changed = schedules_changed.exchange(false);
    if (!changed && schedules_read && mono - *schedules_read < kSchedulesRefresh) return;
    if (partitioned() && owned.empty()) return;
    std::vector<ScheduleRow> rows;
    try {
      rows = store.schedules();
    } catch (const std::exception&) {
      schedules_changed = true;  // the store does not answer: ask again next round
      return;
    }
    schedules_read = mono;
    for (const auto& schedule : rows) {
      if (schedule.paused || !owns(schedule.name)) continue;
      std::optional<Timestamp> due;
      try {
        due = schedule_due(schedule, now);
      } catch (const std::exception&) {
        continue;  // checked at deploy; a zone the system no longer knows fires nothing
      }
      if (due) fire_schedule(schedule, *due, round, now);
    }
  }

  void fire_schedule(const ScheduleRow& schedule, Timestamp due, Round& round, Timestamp now) {
    auto record = [this, name = schedule.name, due](const std::string& outcome,
                                                    const std::string& saga_id) {
      try {
        store.record_schedule_fire(name, due, outcome, saga_id);
      } catch (const std::exception&) {
        schedules_changed = true;  // fired again next round: its key finds the saga
      }
    };
    auto plan = flows.find(schedule.flow, 0);
    if (!plan) return record("refused: flow " + schedule.flow + " is not deployed", "");
    StartRequest request{.flow = schedule.flow,
                         .idempotency_key = schedule_key(schedule.name, due)};
    if (auto existing = started_with_key(round, request.flow, request.idempotency_key)) {
      return record("started", *existing);
    }
    if (schedule.overlap == "skip" && !schedule.last_saga.empty()) {
      const auto last = store.load(schedule.last_saga);
      const auto status = last ? status_from_string(last->status) : std::nullopt;
      if (status && !is_final(*status)) return record("skipped", schedule.last_saga);
    }
    boost::system::error_code ec;
    request.input = json::parse(schedule.input, ec);
    if (ec) return record("refused: its input is not JSON", "");
    try {
      auto& e = begin_saga(plan, request, round, now);
      e.on_commit.push_back([record, id = request.saga_id] { record("started", id); });
    } catch (const InvalidInput& error) {
      record(std::string("refused: ") + error.what(), "");
    } catch (const std::exception&) {
      schedules_changed = true;  // no partition to start it in yet: next round
    }
  }

  // Adds the ids of the paused sagas of `flow` (every flow when empty) to `ids`: those stored
  // and those held this round, not committed yet.
  void held_sagas(const std::string& flow, std::set<std::string>& ids) {
    SagaFilter filter{.flow = flow, .status = to_string(Status::paused), .limit = 1000};
    while (true) {
      auto rows = store.list(filter);
      for (const auto& row : rows) ids.insert(row.id);
      if (rows.size() < filter.limit) break;
      filter.after = SagaCursor{rows.back().created_at, rows.back().id};
    }
    for (const auto& [id, state] : cache) {
      if (state->status == Status::paused && (flow.empty() || state->flow().name == flow)) {
        ids.insert(id);
      }
    }
  }

  // A reply repeats its command's type, "<service>.<name>": the flow's service it starts with
  // (the longest, should one service's name begin another's) is the one that answered.
  void note_reply(const Plan& plan, const Message& reply, Timestamp now) {
    const std::string* service = nullptr;
    for (const auto& name : plan.services()) {
      if (reply.type.size() > name.size() && reply.type.starts_with(name) &&
          reply.type[name.size()] == '.' && (service == nullptr || name.size() > service->size())) {
        service = &name;
      }
    }
    if (service == nullptr) return;
    last_replies[*service] = now;
    last_replies_changed = true;
  }

  void handle(SkipControl& c, Round& round, Timestamp now) {
    operator_request(c, round,
                     [&](SagaState& s, SagaWrite& w) { engine.skip(s, c.request, now, w); });
  }

  void handle(EditControl& c, Round& round, Timestamp now) {
    operator_request(c, round,
                     [&](SagaState& s, SagaWrite& w) { engine.edit(s, c.request, now, w); });
  }

  void handle(Delivery& d, Round& round, Timestamp now) {
    const auto& m = d.message;
    if (m.kind == MessageKind::command) {
      return dead_letter(d, DeadLetterCode::wrong_kind,
                         "the orchestrator takes replies and events, not commands");
    }
    std::string saga_id = m.kind == MessageKind::reply ? m.correlation_id : route_event(round, m);
    if (!saga_id.empty() && !owns(saga_id)) {
      round.forwards.emplace_back(std::move(d), partition(saga_id));  // never processed here
      return;
    }
    if (saga_id.empty() && m.kind == MessageKind::event && trigger(d, round, now)) return;
    if (auto* e = round.find(saga_id); e && e->poisoned) {
      redo.push_back(std::move(d));  // its saga's round is dropped; try again next round
      return;
    }
    SagaState* s = nullptr;
    try {
      s = saga_id.empty() ? nullptr : saga(saga_id);
    } catch (const std::exception& error) {
      return dead_letter(d, DeadLetterCode::load_failed,
                         std::string("saga cannot be loaded: ") + error.what());
    }
    if (s == nullptr) {
      if (m.kind == MessageKind::reply) {
        return dead_letter(d, DeadLetterCode::unknown_saga,
                           "reply for unknown saga '" + m.correlation_id + "'");
      }
      return dead_letter(d, DeadLetterCode::unmatched_event, "no saga waits for event " + m.type);
    }
    auto version_before = s->version;
    SagaWrite write;
    try {
      if (m.kind == MessageKind::reply) {
        note_reply(*s->plan, m, now);
        engine.on_reply(*s, m, now, write);
      } else {
        engine.on_event(*s, m, now, write);
      }
    } catch (const std::exception& error) {
      // The state may be half-changed: drop it and everything this round did to it; it is
      // read again from the store, the saga's other inputs are processed again, and the
      // requests this round took for it fail (their caller may ask again).
      auto& e = round.add(saga_id, version_before, SagaWrite{});
      e.poisoned = true;
      for (auto& other : e.deliveries) redo.push_back(std::move(other));
      e.deliveries.clear();
      auto reason = std::make_exception_ptr(
          std::runtime_error("saga " + saga_id + " failed on another input; nothing was changed"));
      for (auto& f : e.on_failure) f(reason);
      e.on_commit.clear();
      e.on_failure.clear();
      cache.erase(saga_id);  // last: `s` points into it
      return dead_letter(d, DeadLetterCode::processing_failed,
                         std::string("processing failed: ") + error.what());
    }
    if (metrics && m.kind == MessageKind::reply) {
      if (auto t = relay.timing.replied(m, now))
        metrics->step_replied(t->flow, t->step, t->latency);
    }
    auto& e = round.add(saga_id, version_before, std::move(write));
    e.deliveries.push_back(std::move(d));
  }

  void handle(const TimerRow& t, Round& round, Timestamp now) {
    if (!owns(t.saga_id)) return;  // a row filed under another partition count: not ours
    if (auto* e = round.find(t.saga_id)) {
      if (e->poisoned) return;  // due again next round
      // An input earlier in this round already set or cleared this timer (e.g. a reply that
      // scheduled a retry under the same key): the row read from the store is superseded.
      if (touches_timer(e->write, t.key)) return;
    }
    auto* s = saga(t.saga_id);
    if (s == nullptr) return;
    auto version_before = s->version;
    SagaWrite write;
    // A delayed start that comes due while its flow is paused is held as the flow's starts are.
    engine.on_timer(*s, t.key, now, write, paused_flows.contains(s->flow().name));
    round.add(s->id, version_before, std::move(write));
  }

  // Starts a saga of every flow this event triggers (and whose `when` holds), the event's payload
  // being its input; returns false when no flow is triggered by it. Idempotent: the trigger's key
  // (or the event's id) is the start's idempotency key, so a repeated event starts nothing new.
  bool trigger(Delivery& d, Round& round, Timestamp now) {
    const auto plans = flows.triggered_by(d.message.type);
    if (plans.empty()) return false;
    // Owning no partition, it can start no saga: the event stays unacknowledged and goes to
    // another orchestrator when the transport gives it back.
    if (partitioned() && owned.empty()) return true;
    boost::system::error_code ec;
    auto payload = json::parse(d.message.body, ec);
    if (ec) {
      dead_letter(d, DeadLetterCode::not_json,
                  "event " + d.message.type + " starts a saga but its body is not JSON");
      return true;
    }
    const flow::Scope scope{.event = &payload};
    std::string acknowledged_with;  // the first saga started: its commit acknowledges the event
    std::string refused;
    for (const auto& plan : plans) {
      const auto& spec = *plan->flow().trigger;
      if (spec.when && !spec.when->test(scope)) continue;
      const auto* key = spec.key ? spec.key->resolve(scope) : nullptr;
      StartRequest request{.flow = plan->flow().name,
                           .version = plan->flow().version,
                           .input = payload,
                           .idempotency_key = key == nullptr     ? d.message.id
                                              : key->is_string() ? std::string(key->get_string())
                                                                 : json::serialize(*key),
                           .traceparent = d.message.traceparent};
      if (started_with_key(round, request.flow, request.idempotency_key)) continue;
      try {
        begin_saga(plan, request, round, now);
        if (acknowledged_with.empty()) acknowledged_with = request.saga_id;
      } catch (const std::exception& error) {
        refused += (refused.empty() ? "" : "; ") + request.flow + ": " + error.what();
      }
    }
    if (!refused.empty() && acknowledged_with.empty()) {
      dead_letter(d, DeadLetterCode::start_refused,
                  "event " + d.message.type + " cannot start a saga: " + refused);
    } else if (!acknowledged_with.empty()) {
      round.find(acknowledged_with)->deliveries.push_back(std::move(d));
    } else {
      round.consumed.push_back(std::move(d));  // already started, or no flow's `when` held
    }
    return true;
  }

  // The saga an outside event belongs to: the event carries the correlation value at one of
  // the paths the flows' waits name; subscriptions made earlier in this round count too.
  std::string route_event(const Round& round, const Message& m) {
    boost::system::error_code ec;
    auto payload = json::parse(m.body, ec);
    if (ec) return {};
    for (const auto& path : flows.event_key_paths(m.type)) {
      const auto* value = path.resolve(flow::Scope{.event = &payload});
      if (value == nullptr) continue;
      std::string key =
          value->is_string() ? std::string(value->get_string()) : json::serialize(*value);
      for (const auto& e : round.entries) {
        for (const auto& sub : e.write.subscribe) {
          if (sub.event == m.type && sub.key == key) return sub.saga_id;
        }
      }
      if (auto id = store.find_subscriber(m.type, key)) return *id;
    }
    return {};
  }

  // The transport reports it (counted and logged by whoever observes its dead letters).
  void dead_letter(const Delivery& d, DeadLetterCode code, const std::string& detail) {
    transport.dead_letter(d, code, detail);
  }

  // --- partitions (options.leases set) -------------------------------------------------------
  bool partitioned() const { return options.leases != nullptr; }
  int partition(std::string_view saga_id) const {
    return partition_of(saga_id, options.partition_count);
  }
  // Whether this orchestrator may write the saga (always, when it is the only one).
  bool owns(std::string_view saga_id) const {
    return !partitioned() || owned.contains(partition(saga_id));
  }
  NotOwner not_owner(const std::string& saga_id) const {
    const int p = partition(saga_id);
    return NotOwner("saga " + saga_id + " is in partition " + std::to_string(p) +
                        ", which orchestrator " + options.owner + " does not own",
                    p);
  }

  // A new saga's id, in a partition this orchestrator owns. Throws NotOwner when it owns none.
  std::string new_id() {
    if (!partitioned()) return new_saga_id(random);
    if (owned.empty()) {
      throw NotOwner("orchestrator " + options.owner + " owns no partition yet", -1);
    }
    while (true) {
      auto id = new_saga_id(random);
      if (owned.contains(partition(id))) return id;
    }
  }

  // The row names its partition (as SagaRow documents, also for a single orchestrator), and
  // with leases the write goes to the store under this orchestrator's lease of it.
  void stamp_partition(SagaWrite& write) const {
    write.saga.partition = partition(write.saga.id);
    if (partitioned()) write.lease_epoch = owned.at(write.saga.partition);
  }

  // Applies what the heartbeats decided since the last round (renewed here first, unless the
  // leases are renewed on a thread of their own).
  void follow_ownership() {
    if (!options.renew_leases_on_own_thread) ownership->renew_if_due();
    apply_ownership();
  }
  void apply_ownership() {
    if (auto next = ownership->changed_since(ownership_seen)) change_ownership(std::move(*next));
  }

  // Moves to a new set of leases. A partition held under another epoch than before counts as
  // lost and gained: someone else may have written its sagas in between.
  void change_ownership(std::map<int, std::uint64_t> next) {
    if (next == owned) return;
    std::vector<int> lost;
    std::vector<int> gained;
    for (const auto& [p, epoch] : owned) {
      if (auto it = next.find(p); it == next.end() || it->second != epoch) lost.push_back(p);
    }
    for (const auto& [p, epoch] : next) {
      if (auto it = owned.find(p); it == owned.end() || it->second != epoch) gained.push_back(p);
    }
    owned = std::move(next);
    owned_list.clear();
    for (const auto& [p, epoch] : owned) owned_list.push_back(p);
    {
      std::lock_guard lock(leases_mutex);
      leases_held.clear();
      for (const auto& [p, epoch] : owned) leases_held.push_back(Lease{p, epoch});
    }
    if (options.on_leases_changed) {
      std::vector<Lease> leases;
      for (int p : gained) leases.push_back(Lease{p, owned.at(p)});
      options.on_leases_changed(lost, leases);
    }
    if (!lost.empty()) forget(lost);
    if (!gained.empty()) take_over(gained);
    transport.consume_partitions(owned_list);
  }

  // Drops what this orchestrator holds of partitions it lost: their cached sagas, and the inputs
  // it took but did not acknowledge (never acknowledged now: they go to the new owner).
  void forget(const std::vector<int>& lost) {
    auto is_lost = [&](int p) { return std::find(lost.begin(), lost.end(), p) != lost.end(); };
    std::erase_if(cache, [&](const auto& entry) { return is_lost(partition(entry.first)); });
    slots.forget([&](const std::string& saga_id) { return is_lost(partition(saga_id)); });
    std::erase_if(redo, [&](const Delivery& d) {
      auto saga_id = d.message.kind == MessageKind::reply ? d.message.correlation_id
                                                          : route_event(Round{}, d.message);
      return !saga_id.empty() && is_lost(partition(saga_id));
    });
  }

  // What the previous owner of the partitions committed but may not have published goes out
  // again (at least once: a duplicate has the same id), and their timers are read at once.
  void take_over(const std::vector<int>& gained) {
    last_timer_poll = Timestamp{};
    std::vector<OutboxRow> rows;
    try {
      if (slots.limited()) {
        // Every waiting row, so that none of them is counted as in flight.
        rows =
            options.leases->unpublished_outbox_in(std::numeric_limits<std::int32_t>::max(), gained);
        count_in_flight(options.leases->load_unfinished_in(gained), rows);
      } else {
        rows = options.leases->unpublished_outbox_in(options.max_batch, gained);
      }
    } catch (const std::exception&) {
      relay.behind = true;  // the next round reads the outbox of every owned partition
      return;
    }
    if (!slots.limited() && rows.size() >= options.max_batch) relay.behind = true;  // the rest
    publish_again(std::move(rows));
  }

  // A commit refused because another orchestrator took a partition over: stop writing it now,
  // and ask the store what is still owned at the start of the next round.
  void lose_stale_lease(const std::exception_ptr& error) {
    try {
      std::rethrow_exception(error);
    } catch (const StaleLease& stale) {
      auto next = owned;
      next.erase(stale.partition);
      change_ownership(std::move(next));
      ownership->renew_soon();
    } catch (...) {
    }
  }

  // Sends inputs on to the reply queue of their saga's partition, whose owner processes them
  // like any input; they are acknowledged once sent, and tried again in a later round if not.
  void forward(std::vector<std::pair<Delivery, int>>& forwards) {
    std::vector<Message> copies;
    std::vector<Delivery> inputs;
    for (auto& f : forwards) {
      copies.push_back(f.first.message);
      copies.back().destination = options.engine.partition_reply_to(f.second);
      inputs.push_back(std::move(f.first));
    }
    relay.forward(std::move(copies), std::move(inputs));
  }
};

// ---------------------------------------------------------------------------------------------
Orchestrator::Orchestrator(const FlowRegistry& flows, Store& store, Transport& transport,
                           const Clock& clock, OrchestratorOptions options)
    : impl_(std::make_unique<Impl>(flows, store, transport, clock, std::move(options))) {}

Orchestrator::~Orchestrator() = default;

// Hands a request to the next round; its future is fulfilled once its effect is committed.
template <class Control>
auto Orchestrator::Impl::request(Control control) {
  auto f = control.done.get_future();
  std::lock_guard lock(controls_mutex);
  controls.emplace_back(std::move(control));
  return f;
}

std::future<StartResult> Orchestrator::start(StartRequest request) {
  return impl_->request(StartControl{std::move(request), {}});
}

std::future<void> Orchestrator::cancel(std::string saga_id, std::string reason) {
  return impl_->request(CancelControl{std::move(saga_id), std::move(reason), {}});
}

std::future<void> Orchestrator::retry(std::string saga_id) {
  return impl_->request(RetryControl{std::move(saga_id), {}});
}

std::future<void> Orchestrator::pause(std::string saga_id, std::string reason) {
  return impl_->request(PauseControl{std::move(saga_id), std::move(reason), {}});
}

std::future<void> Orchestrator::resume(std::string saga_id) {
  return impl_->request(ResumeControl{std::move(saga_id), {}});
}

void Orchestrator::set_flow_paused(const std::string& flow, bool paused) {
  impl_->store.set_flow_paused(flow, paused);
  impl_->paused_flows_changed = true;
}

void Orchestrator::save_schedule(ScheduleRow schedule) {
  check_schedule(schedule);
  if (!impl_->flows.find(schedule.flow, 0)) {
    throw std::invalid_argument("schedule " + schedule.name + ": unknown flow " + schedule.flow);
  }
  schedule.deployed_at = impl_->clock.now();
  impl_->store.save_schedule(schedule);
  impl_->schedules_changed = true;
}

bool Orchestrator::set_schedule_paused(const std::string& name, bool paused) {
  const bool found = impl_->store.set_schedule_paused(name, paused);
  impl_->schedules_changed = true;
  return found;
}

bool Orchestrator::remove_schedule(const std::string& name) {
  const bool found = impl_->store.remove_schedule(name);
  impl_->schedules_changed = true;
  return found;
}

std::future<void> Orchestrator::skip(SkipRequest request) {
  SkipControl c{std::move(request), {}, {}};
  c.saga_id = c.request.saga_id;
  auto f = c.done.get_future();
  std::lock_guard lock(impl_->controls_mutex);
  impl_->controls.emplace_back(std::move(c));
  return f;
}

std::future<void> Orchestrator::edit(EditRequest request) {
  EditControl c{std::move(request), {}, {}};
  c.saga_id = c.request.saga_id;
  auto f = c.done.get_future();
  std::lock_guard lock(impl_->controls_mutex);
  impl_->controls.emplace_back(std::move(c));
  return f;
}

void Orchestrator::recover(bool resend_in_flight) {
  auto& impl = *impl_;
  if (impl.partitioned()) {
    impl.ownership->renew();  // takes partitions
    impl.apply_ownership();   // and republishes their outbox
  } else {
    if (impl.slots.limited()) {
      impl.count_in_flight(impl.store.load_unfinished(),
                           impl.store.unpublished_outbox(std::numeric_limits<std::int32_t>::max()));
    }
    impl.republish();
  }
  if (!resend_in_flight) return;
  Round round;
  const auto now = impl.clock.now();
  const auto unfinished = impl.partitioned()
                              ? impl.options.leases->load_unfinished_in(impl.owned_list)
                              : impl.store.load_unfinished();
  for (const auto& row : unfinished) {
    if (!impl.owns(row.id)) continue;
    auto* s = impl.saga(row.id);
    if (s == nullptr || !has_pending_commands(*s)) continue;
    auto version_before = s->version;
    SagaWrite write;
    impl.engine.resend_pending(*s, now, write);
    round.add(s->id, version_before, std::move(write));
  }
  if (!round.entries.empty()) impl.commit(round);
  impl.cached = impl.cache.size();
}

std::size_t Orchestrator::run_once(Duration wait) {
  return impl_->run_once(wait);
}

void Orchestrator::run(std::stop_token stop) {
  std::jthread renewing;
  if (impl_->partitioned() && impl_->options.renew_leases_on_own_thread) {
    renewing = std::jthread([this](std::stop_token s) { impl_->ownership->keep_renewing(s); });
  }
  while (!stop.stop_requested()) impl_->run_once(impl_->options.idle_wait);
  impl_->relay.finish();
  if (!impl_->partitioned()) return;
  renewing = {};  // stopped and joined: no heartbeat takes the partitions again
  try {
    release();
  } catch (const std::exception&) {
    // The store cannot be reached: the leases expire after their ttl instead.
  }
}

void Orchestrator::release() {
  auto& impl = *impl_;
  if (!impl.partitioned()) return;
  impl.ownership->release();
  impl.apply_ownership();
}

std::size_t Orchestrator::cached_sagas() const {
  return impl_->cached.load();
}

std::size_t Orchestrator::outbox_lag() const {
  return impl_->relay.outbox_lag();
}

std::vector<ServiceLoad> Orchestrator::service_loads() const {
  return impl_->slots.loads();
}

std::map<std::string, Timestamp> Orchestrator::last_replies() const {
  std::lock_guard lock(impl_->last_replies_mutex);
  return impl_->last_replies_published;
}

std::vector<Lease> Orchestrator::leases() const {
  std::lock_guard lock(impl_->leases_mutex);
  return impl_->leases_held;
}

}  // namespace sagaflow
