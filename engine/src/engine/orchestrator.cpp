#include "sagaflow/engine/orchestrator.hpp"

#include "sagaflow/engine/saga_write.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>
#include <variant>

#include "command_timing.hpp"

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
using Control = std::variant<StartControl, CancelControl, RetryControl>;

std::string new_saga_id(std::mt19937_64& random) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    auto bits = random();
    for (int i = 0; i < 16; ++i, bits >>= 4) id[half * 16 + i] = kHex[bits & 0xf];
  }
  return id;
}

// What a committed write tells the metrics: a saga started, a saga that reached a final status
// or was parked.
void count(Metrics& metrics, const SagaWrite& w) {
  if (w.expected_version == 0) metrics.saga_started(w.saga.flow);
  for (const auto& h : w.history) {
    if (h.kind == "saga_completed" || h.kind == "saga_compensated" || h.kind == "saga_cancelled" ||
        h.kind == "saga_parked") {
      if (auto status = status_from_string(w.saga.status))
        metrics.saga_finished(w.saga.flow, *status);
      return;
    }
  }
}

// With several orchestrators, the options must agree on the partition count everywhere.
OrchestratorOptions checked(OrchestratorOptions options) {
  if (options.leases == nullptr) return options;
  if (options.owner.empty()) throw std::invalid_argument("orchestrator: leases need an owner");
  if (options.partition_count < 1) {
    throw std::invalid_argument("orchestrator: partition_count must be at least 1");
  }
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
        metrics(this->options.metrics) {}

  const FlowRegistry& flows;
  Store& store;
  Transport& transport;
  const Clock& clock;
  OrchestratorOptions options;
  Engine engine;
  std::mt19937_64 random;

  std::mutex controls_mutex;
  std::vector<Control> controls;

  std::unordered_map<std::string, std::unique_ptr<SagaState>> cache;
  std::vector<std::uint64_t> published;  // outbox rows to delete with the next commit
  std::vector<CommandSent> sent;         // commands confirmed: their timers start in that commit
  std::function<void()> in_flight;       // waits for the sending under way (publish)
  std::vector<std::uint64_t> in_flight_seqs;
  std::vector<CommandSent> in_flight_commands;  // the commands of the sending under way
  bool outbox_behind = false;                   // a publish failed: republish from the store
  Timestamp last_timer_poll{};
  std::vector<Delivery> deliveries;
  std::vector<Delivery> redo;  // inputs whose round was dropped, processed again next round

  // Metrics (none when null); the gauges are read from other threads.
  Metrics* metrics;
  CommandTiming timing;
  std::atomic<std::size_t> cached{0};       // cache.size() as of the last round
  std::atomic<std::size_t> unpublished{0};  // outbox rows whose publish failed
  // Partitions (options.leases set): what this orchestrator owns, renewed by heartbeat.
  std::map<int, std::uint64_t> owned;  // partition -> lease epoch
  std::vector<int> owned_list;         // the same partitions, for the store's *_in queries
  Timestamp last_heartbeat{};          // the last attempt
  Timestamp last_renewed{};            // the last heartbeat the store answered
  bool heartbeat_due = true;           // at once, whatever the time (start, stale lease)
  mutable std::mutex leases_mutex;
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
    if (partitioned()) maintain_leases(clock.now());
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
    if (outbox_behind) republish();
    take_handed_over(now);

    Round round;
    for (auto& c : taken) std::visit([&](auto& control) { handle(control, round, now); }, c);
    for (auto& d : deliveries) handle(d, round, now);
    for (const auto& t : timers) handle(t, round, now);
    if (!round.entries.empty() || !round.consumed.empty() || !published.empty() || !sent.empty()) {
      commit(round);
    } else {
      finish_publish();  // nothing to overlap it with
    }
    cached = cache.size();
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
    batch.published = std::move(published);
    published.clear();
    batch.sent = std::move(sent);
    sent.clear();
    std::vector<OutboxRow> rows;
    fault("before_commit");
    try {
      rows = store.commit(batch);
    } catch (...) {
      // Nothing was written: forget what the round computed, answer its requests with the
      // error, and leave its inputs unacknowledged so that they come again.
      auto error = std::current_exception();
      for (const auto& w : batch.writes) cache.erase(w.saga.id);
      published = std::move(batch.published);
      sent = std::move(batch.sent);
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
    publish(std::move(rows), /*overlap=*/true);
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

  // Sends committed rows. With `overlap`, a transport that confirms later (a broker) is waited
  // for only after the next round's commit (finish_publish), so that the store and the broker
  // work at the same time; the rule holds either way: rows are sent only once committed, and
  // a row whose sending failed stays in the outbox and is sent again.
  void publish(std::vector<OutboxRow> rows, bool overlap = false) {
    finish_publish();
    if (rows.empty()) return;
    std::vector<Message> messages;
    messages.reserve(rows.size());
    for (auto& r : rows) messages.push_back(std::move(r.message));
    std::vector<std::uint64_t> seqs;
    seqs.reserve(rows.size());
    for (const auto& r : rows) seqs.push_back(r.seq);
    std::vector<CommandSent> commands;
    if (!transport.reports_hand_over()) {
      for (const auto& m : messages) {
        if (m.kind == MessageKind::command) commands.push_back({m.correlation_id, m.id, {}});
      }
    }
    try {
      auto wait = transport.publish_started(messages);
      if (metrics) {
        const auto at = clock.now();
        for (const auto& m : messages) timing.published(m, at);
      }
      if (!wait) {  // held already (the in-process bus, fakes): nothing to overlap
        confirmed(seqs, commands);
        return;
      }
      in_flight_seqs = std::move(seqs);
      in_flight_commands = std::move(commands);
      in_flight = std::move(wait);
    } catch (const std::exception&) {
      outbox_behind = true;  // the rows stay in the outbox; the next round sends them again
      unpublished += messages.size();
      return;
    }
    if (!overlap) finish_publish();
  }

  // Waits for the sending under way, if any: its rows are then published (deleted from the
  // outbox with the next commit), or stay there to be sent again.
  void finish_publish() {
    if (!in_flight) return;
    auto wait = std::move(in_flight);
    in_flight = nullptr;
    try {
      wait();
      confirmed(in_flight_seqs, in_flight_commands);
    } catch (const std::exception&) {
      outbox_behind = true;
      unpublished += in_flight_seqs.size();
    }
    in_flight_seqs.clear();
    in_flight_commands.clear();
  }

  // The transport holds these rows: the next commit deletes them from the outbox and, in the
  // same transaction, starts their commands' attempt timers from now (the confirm). A crash
  // before that commit loses both together: the rows are published again, confirmed again, and
  // start the timers then, which only gives the participant more time.
  void confirmed(const std::vector<std::uint64_t>& seqs, std::vector<CommandSent>& commands) {
    published.insert(published.end(), seqs.begin(), seqs.end());
    const auto now = clock.now();
    for (auto& c : commands) {
      c.at = now;
      sent.push_back(std::move(c));
    }
  }

  // A transport that hands commands on later (the in-process bus) says when it did: their
  // attempt timers start from the round that learns it.
  void take_handed_over(Timestamp now) {
    if (!transport.reports_hand_over()) return;
    const auto before = sent.size();
    transport.take_handed_over(sent);
    for (auto i = before; i < sent.size(); ++i) sent[i].at = now;
  }

  void republish() {
    finish_publish();  // what is under way counts as published, not as behind
    auto rows = partitioned() ? options.leases->unpublished_outbox_in(options.max_batch, owned_list)
                              : store.unpublished_outbox(options.max_batch);
    outbox_behind = rows.size() >= options.max_batch;  // more than one batch: the rest next round
    publish_again(std::move(rows));
  }

  // Publishes committed rows again, except those published since the last commit.
  void publish_again(std::vector<OutboxRow> rows) {
    std::erase_if(rows, [&](const OutboxRow& r) {
      return std::find(published.begin(), published.end(), r.seq) != published.end();
    });
    unpublished = 0;  // counted again by publish() when it fails
    publish(std::move(rows));
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
    auto state = engine.start(plan, request, now, write);
    cache[request.saga_id] = std::move(state);
    return round.add(request.saga_id, 0, std::move(write));
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
      if (auto t = timing.replied(m, now)) metrics->step_replied(t->flow, t->step, t->latency);
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
    engine.on_timer(*s, t.key, now, write);
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

  void maintain_leases(Timestamp now) {
    if (heartbeat_due || now - last_heartbeat >= options.heartbeat_every) heartbeat(now);
  }

  void heartbeat(Timestamp now) {
    last_heartbeat = now;
    heartbeat_due = false;
    std::vector<Lease> leases;
    try {
      leases = options.leases->heartbeat(options.owner, options.partition_count, options.lease_ttl);
    } catch (const std::exception&) {
      // The store cannot be reached: carry on until the leases may have expired (the store
      // refuses a stale owner's writes anyway), then let go of everything; the next heartbeat
      // tries again.
      if (now - last_renewed >= options.lease_ttl) change_ownership({});
      return;
    }
    last_renewed = now;
    std::map<int, std::uint64_t> next;
    for (const auto& l : leases) next.emplace(l.partition, l.epoch);
    change_ownership(std::move(next));
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
      rows = options.leases->unpublished_outbox_in(options.max_batch, gained);
    } catch (const std::exception&) {
      outbox_behind = true;  // the next round reads the outbox of every owned partition
      return;
    }
    if (rows.size() >= options.max_batch) outbox_behind = true;  // the rest next round
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
      heartbeat_due = true;
    } catch (...) {
    }
  }

  // Sends inputs on to the reply queue of their saga's partition, whose owner processes them
  // like any input, then acknowledges them. If that fails they are tried again next round.
  void forward(std::vector<std::pair<Delivery, int>>& forwards) {
    std::vector<Message> copies;
    std::vector<std::uint64_t> tags;
    for (const auto& [d, p] : forwards) {
      copies.push_back(d.message);
      copies.back().destination = options.engine.partition_reply_to(p);
      tags.push_back(d.tag);
    }
    try {
      transport.publish(copies);
    } catch (const std::exception&) {
      for (auto& f : forwards) redo.push_back(std::move(f.first));
      return;
    }
    transport.ack(tags);
  }
};

// ---------------------------------------------------------------------------------------------
Orchestrator::Orchestrator(const FlowRegistry& flows, Store& store, Transport& transport,
                           const Clock& clock, OrchestratorOptions options)
    : impl_(std::make_unique<Impl>(flows, store, transport, clock, std::move(options))) {}

Orchestrator::~Orchestrator() = default;

std::future<StartResult> Orchestrator::start(StartRequest request) {
  StartControl c{std::move(request), {}};
  auto f = c.done.get_future();
  std::lock_guard lock(impl_->controls_mutex);
  impl_->controls.emplace_back(std::move(c));
  return f;
}

std::future<void> Orchestrator::cancel(std::string saga_id, std::string reason) {
  CancelControl c{std::move(saga_id), std::move(reason), {}};
  auto f = c.done.get_future();
  std::lock_guard lock(impl_->controls_mutex);
  impl_->controls.emplace_back(std::move(c));
  return f;
}

std::future<void> Orchestrator::retry(std::string saga_id) {
  RetryControl c{std::move(saga_id), {}};
  auto f = c.done.get_future();
  std::lock_guard lock(impl_->controls_mutex);
  impl_->controls.emplace_back(std::move(c));
  return f;
}

void Orchestrator::recover(bool resend_in_flight) {
  auto& impl = *impl_;
  if (impl.partitioned()) {
    impl.heartbeat(impl.clock.now());  // takes partitions, republishes their outbox
  } else {
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
  while (!stop.stop_requested()) impl_->run_once(impl_->options.idle_wait);
  impl_->finish_publish();
  if (!impl_->partitioned()) return;
  try {
    release();
  } catch (const std::exception&) {
    // The store cannot be reached: the leases expire after their ttl instead.
  }
}

void Orchestrator::release() {
  auto& impl = *impl_;
  if (!impl.partitioned()) return;
  impl.options.leases->release(impl.options.owner);
  impl.change_ownership({});
}

std::size_t Orchestrator::cached_sagas() const {
  return impl_->cached.load();
}

std::size_t Orchestrator::outbox_lag() const {
  return impl_->unpublished.load();
}

std::vector<Lease> Orchestrator::leases() const {
  std::lock_guard lock(impl_->leases_mutex);
  return impl_->leases_held;
}

}  // namespace sagaflow
