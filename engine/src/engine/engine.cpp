#include "sagaflow/engine/engine.hpp"
#include "sagaflow/engine/effects.hpp"

#include "sagaflow/engine/backoff_jitter.hpp"
#include "sagaflow/engine/in_flight.hpp"
#include "sagaflow/engine/saga_write.hpp"
#include "sagaflow/flow/output_reads.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace sagaflow {
namespace {

using flow::StepKind;

constexpr std::string_view kSagaTimer = "saga";
constexpr std::string_view kStartTimer = "start";  // a delayed start (StartRequest::start_at)
constexpr std::string_view kStepTimerPrefix = "step:";
constexpr std::string_view kWaitTimerPrefix = "wait:";

bool awaiting_forward(const Activity& a) {
  return a.phase == ActivityPhase::awaiting_reply || a.phase == ActivityPhase::backoff;
}

// A correlation value as a key: strings as they are, anything else in its JSON form.
std::string key_string(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return {};
  return json::serialize(v);
}

json::value parse_body(std::string_view body, bool& ok) {
  boost::system::error_code ec;
  auto v = json::parse(body.empty() ? std::string_view("{}") : body, ec);
  ok = !ec;
  return ec ? json::value(nullptr) : v;
}

// Where a command id "<saga>/<activity>/<do|undo>/<attempt>" points.
struct CommandRef {
  std::string_view activity;
  bool undo = false;
  std::uint32_t attempt = 0;
};

std::optional<CommandRef> parse_command_id(std::string_view id, std::string_view saga_id) {
  if (id.size() <= saga_id.size() + 1 || id.substr(0, saga_id.size()) != saga_id ||
      id[saga_id.size()] != '/') {
    return std::nullopt;
  }
  auto rest = id.substr(saga_id.size() + 1);
  auto last = rest.rfind('/');
  if (last == std::string_view::npos) return std::nullopt;
  CommandRef ref;
  auto number = rest.substr(last + 1);
  auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), ref.attempt);
  if (ec != std::errc() || p != number.data() + number.size()) return std::nullopt;
  rest = rest.substr(0, last);
  auto kind_at = rest.rfind('/');
  if (kind_at == std::string_view::npos) return std::nullopt;
  auto kind = rest.substr(kind_at + 1);
  if (kind != "do" && kind != "undo") return std::nullopt;
  ref.undo = kind == "undo";
  ref.activity = rest.substr(0, kind_at);
  return ref;
}

bool past_pivot(const SagaState& s) {
  const auto& nodes = s.plan->nodes();
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].step->pivot && s.nodes[i] == NodeStatus::done) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// One transition of one saga: the engine's public calls each build one and feed it an input.
class Transition {
 public:
  Transition(const EngineOptions& options, SagaState& saga, Timestamp now, SagaWrite& out)
      : options_(options), s_(saga), now_(now), out_(out) {
    ++s_.version;
    s_.updated_at = now;
  }
  // A child saga that ended answers its parent's step, once per command of the parent.
  ~Transition() {
    if (std::uncaught_exceptions() == 0) tell_parent_if_ended();
  }
  Transition(const Transition&) = delete;
  Transition& operator=(const Transition&) = delete;

  // --- inputs -------------------------------------------------------------------------------
  void start() {
    Lifecycle lc(s_.status);
    lc.start();
    s_.status = lc.status();
    json::object detail;
    detail["input"] = s_.input;
    record("saga_started", {}, std::move(detail));
    if (s_.flow().timeout.count() > 0) set_timer(std::string(kSagaTimer), now_ + s_.flow().timeout);
    advance();
  }

  void reply(const Message& m) {
    auto ref = parse_command_id(m.causation_id, s_.id);
    int index = ref ? find_activity(ref->activity) : -1;
    if (index < 0) return ignore_reply(m, "answers no command of this saga");
    auto& a = s_.activities[index];
    // A child saga answers whichever attempt is current: one child serves them all.
    const bool child = is_subflow(a);
    bool current =
        ref->undo
            ? (a.phase == ActivityPhase::compensating && (child || ref->attempt == a.undo_attempt))
            : (a.phase == ActivityPhase::awaiting_reply && (child || ref->attempt == a.attempt));
    if (!current) return ignore_reply(m, "duplicate or for an attempt no longer current");

    bool body_ok = true;
    auto payload = parse_body(m.body, body_ok);
    json::object detail{{"message_id", m.id},
                        {"attempt", ref->attempt},
                        {"outcome", to_string(m.outcome)},
                        {"payload", payload}};
    if (!m.error_code.empty()) detail["code"] = m.error_code;
    record(ref->undo ? "compensation_reply" : "reply_received", activity_key(s_, a),
           std::move(detail));
    clear_timer(step_timer(a));

    auto outcome = body_ok ? m.outcome : ReplyOutcome::technical_error;
    auto code = body_ok ? m.error_code : std::string("MalformedReply");
    if (ref->undo) {
      if (outcome == ReplyOutcome::success && child && code == "PastPivot") {
        a.phase = ActivityPhase::not_compensated;
        --s_.undo_cursor;
        return compensate_next();
      }
      if (outcome == ReplyOutcome::success) return compensation_done(index);
      return retry_compensation_or_park(index, code, outcome == ReplyOutcome::business_failure);
    }
    switch (outcome) {
      case ReplyOutcome::success:
        return activity_succeeded(index, payload);
      case ReplyOutcome::business_failure:
        return activity_failed(index, "business failure " + code);
      case ReplyOutcome::technical_error:
        return retry_or_fail(index, code);
    }
  }

  void event(const Message& m) {
    bool body_ok = true;
    auto payload = parse_body(m.body, body_ok);
    WaitState* w = body_ok ? find_wait(m.type, payload) : nullptr;
    if (w == nullptr) {
      return record(
          "event_ignored", {},
          {{"message_id", m.id}, {"type", m.type}, {"reason", "no wait of this saga matches it"}});
    }
    const auto& step = *s_.plan->node(w->node).step;
    if (std::find(w->seen.begin(), w->seen.end(), m.id) != w->seen.end()) {
      return record("event_ignored", step.name,
                    {{"message_id", m.id}, {"type", m.type}, {"reason", "duplicate"}});
    }
    w->seen.push_back(m.id);
    if (w->seen.size() > options_.remembered_events) w->seen.erase(w->seen.begin());

    const auto& spec = step.wait;
    json::object detail{{"message_id", m.id}, {"type", m.type}, {"payload", payload}};
    bool failure = std::find(spec.failure_events.begin(), spec.failure_events.end(), m.type) !=
                   spec.failure_events.end();
    if (failure) {
      record("failure_event", step.name, std::move(detail));
      if (spec.on_failure_event == flow::FailureEventAction::compensate) {
        end_wait(*w, NodeStatus::failed);
        fail("event " + m.type + " at " + step.name, -1);
      }
      return;
    }
    auto scope = make_scope(nullptr, &payload, nullptr);
    if (spec.stale && spec.stale->test(scope)) {
      detail["reason"] = "stale";
      return record("event_ignored", step.name, std::move(detail));
    }
    s_.steps[step.name] = step.output ? step.output->render(scope) : payload;
    record("event_accepted", step.name, std::move(detail));
    const NodeIndex node = w->node;
    if (spec.each_event) {
      const auto item = std::count_if(s_.activities.begin(), s_.activities.end(),
                                      [&](const Activity& a) { return a.node == node; });
      s_.activities.push_back(Activity{.node = node, .item = static_cast<std::uint16_t>(item)});
      send(static_cast<int>(s_.activities.size() - 1), false);
    }
    if (spec.until && !spec.until->test(make_scope(nullptr, &payload, nullptr))) return settle();
    end_wait(*w, NodeStatus::done);
    if (s_.nodes[node] == NodeStatus::done) return advance();
    settle();
  }

  void timer(std::string_view key) {
    clear_timer(std::string(key));
    if (key == kStartTimer) {
      if (s_.status != Status::pending) return record("timer_ignored", {}, {{"key", key}});
      return start();
    }
    if (key == kSagaTimer) {
      if (s_.status != Status::running && s_.status != Status::waiting) return;
      record("saga_timed_out", {}, {});
      return fail("the saga timed out", -1);
    }
    if (key.starts_with(kWaitTimerPrefix))
      return wait_timed_out(key.substr(kWaitTimerPrefix.size()));
    if (!key.starts_with(kStepTimerPrefix)) return record("timer_ignored", {}, {{"key", key}});
    int index = find_activity(key.substr(kStepTimerPrefix.size()));
    if (index < 0) return record("timer_ignored", {}, {{"key", key}});
    auto& a = s_.activities[index];
    switch (a.phase) {
      case ActivityPhase::awaiting_reply:
        a.maybe_applied = true;  // it may have run; only its reply is missing
        record("step_timed_out", activity_key(s_, a), {{"attempt", a.attempt}});
        return retry_or_fail(index, "Timeout");
      case ActivityPhase::backoff:
        return send(index, false);
      case ActivityPhase::compensating:
        record("compensation_timed_out", activity_key(s_, a), {{"attempt", a.undo_attempt}});
        return retry_compensation_or_park(index, "Timeout", false);
      case ActivityPhase::compensation_backoff:
        if (s_.status == Status::compensating) return send(index, true);
        return;
      default:
        return record("timer_ignored", activity_key(s_, a), {{"key", key}});
    }
  }

  // The caller checked with may_cancel().
  void cancel(std::string_view reason) {
    Lifecycle lc(s_.status);
    lc.cancel(past_pivot(s_));
    s_.cancel_requested = true;
    s_.status = lc.status();
    s_.failure = "cancelled: " + std::string(reason);
    record("saga_cancel_requested", {}, {{"reason", reason}});
    // A delayed start cancelled before its time (pending ends cancelled at once): no start.
    if (s_.status == Status::cancelled && s_.start_at) clear_timer(std::string(kStartTimer));
    if (s_.status == Status::compensating) enter_compensation();
  }

  // The caller checked that the status allows a pause. `by` is "operator", or "flow" for a
  // start held because its flow is paused.
  void pause(std::string_view reason, std::string_view by) {
    s_.paused_from = s_.status;
    s_.paused_by = std::string(by);
    Lifecycle lc(s_.status);
    lc.pause();
    s_.status = lc.status();
    record("saga_paused", {}, {{"by", by}, {"reason", reason}, {"was", to_string(s_.paused_from)}});
  }

  // A delayed start: stored pending with its input, started by the "start" timer.
  void schedule_start(Timestamp at) {
    s_.start_at = at;
    record("saga_scheduled", {}, {{"start_at", to_millis(at)}, {"input", s_.input}});
    set_timer(std::string(kStartTimer), at);
  }

  void clear_start_timer() { clear_timer(std::string(kStartTimer)); }

  // A new saga of a paused flow: stored with its input, started when the flow is resumed.
  void hold_start() {
    pause("the flow is paused", "flow");
    record("saga_held", {}, {{"input", s_.input}});
  }

  // A reply, event or timer of a paused saga: recorded now, applied at resume.
  void hold(HeldInput input) {
    json::object detail;
    if (!input.timer.empty()) {
      detail["timer"] = input.timer;
    } else {
      bool body_ok = true;
      detail["message_id"] = input.message.id;
      detail["kind"] = to_string(input.message.kind);
      if (input.message.kind == MessageKind::reply) {
        detail["answers"] = input.message.causation_id;
        detail["outcome"] = to_string(input.message.outcome);
        if (!input.message.error_code.empty()) detail["code"] = input.message.error_code;
      } else {
        detail["type"] = input.message.type;
      }
      detail["payload"] = parse_body(input.message.body, body_ok);
    }
    record("input_held", input.message.step, std::move(detail));
    s_.held.push_back(std::move(input));
  }

  // Back to the status it was paused in, then the held inputs: replies and events first, in
  // the order they came, then the timers that came due meanwhile (a step's timeout then finds
  // the reply that came during the pause already applied). With `cancel_reason` (a cancel of
  // the paused saga, which the caller checked is allowed) the saga is cancelled before the held
  // inputs are applied, so that they feed its compensation rather than send its next step; a
  // start held by its flow is cancelled without starting.
  void resume(std::optional<std::string_view> cancel_reason = std::nullopt) {
    Lifecycle lc(s_.status);
    lc.unpause(s_.paused_from);
    s_.status = lc.status();
    auto held = std::move(s_.held);
    s_.held.clear();
    s_.paused_by.clear();
    record("saga_resumed", {}, {{"held_inputs", held.size()}});
    if (cancel_reason) {
      cancel(*cancel_reason);
    } else if (s_.status == Status::pending) {
      // A delayed start resumed before its time: its "start" timer (still set) starts it.
      if (s_.start_at && *s_.start_at > now_) return;
      clear_timer(std::string(kStartTimer));
      return start();
    }
    for (const auto& h : held) {
      if (!h.timer.empty()) continue;
      if (h.message.kind == MessageKind::reply) {
        reply(h.message);
      } else {
        event(h.message);
      }
    }
    for (const auto& h : held) {
      if (!h.timer.empty()) timer(h.timer);
    }
  }

  // The caller checked that the saga is parked.
  void operator_retry() {
    bool in_compensation = s_.compensation_started;
    Lifecycle lc(s_.status);
    lc.operator_retry(in_compensation);
    s_.status = lc.status();
    record("operator_retry", {}, {{"in_compensation", in_compensation}});
    if (in_compensation) {
      const int index = s_.parked_activity;
      auto& a = s_.activities.at(index);
      s_.parked_activity = -1;
      // A compensation keeps its key through edits: one that timed out may have been applied,
      // and a new key would undo the effect twice.
      if (s_.plan->node(a.node).on_compensated) {
        a.attempt_base = a.attempt;
        s_.nodes[a.node] = NodeStatus::active;
        return send(index, false);
      }
      a.undo_attempt_base = a.undo_attempt;
      return send(index, true);
    }
    s_.parked_activity = -1;
    s_.failure.clear();
    restart_failed_nodes();
    advance();
  }

  // The caller checked that the saga is parked going forward and `node` failed. The step's
  // failed commands count as answered with `output`, but are not added to `completed`: what
  // never happened is not compensated. Any other failed step runs again, as a retry does.
  void operator_skip(NodeIndex node, const json::value& output, const OperatorNote& note) {
    Lifecycle lc(s_.status);
    lc.operator_retry(false);
    s_.status = lc.status();
    const auto& step = *s_.plan->node(node).step;
    record("operator_skip", step.name,
           {{"actor", note.actor}, {"reason", note.reason}, {"output", output}});
    bool had_activities = false;
    for (auto& a : s_.activities) {
      if (a.node != node || a.phase != ActivityPhase::failed) continue;
      had_activities = true;
      a.phase = ActivityPhase::done;
      if (step.kind == StepKind::foreach) s_.steps[step.name].as_array().at(a.item) = output;
    }
    if (step.kind != StepKind::foreach || !had_activities) s_.steps[step.name] = output;
    s_.nodes[node] = has_unfinished_activities(node) ? NodeStatus::active : NodeStatus::done;
    s_.parked_activity = -1;
    s_.failure.clear();
    restart_failed_nodes();
    advance();
  }

  // The caller checked that the saga is parked and the new input satisfies the contract.
  void operator_edit(json::value input, const EditRequest& request) {
    record("operator_edit", {},
           {{"actor", request.note.actor},
            {"reason", request.note.reason},
            {"mode", request.mode == EditMode::merge ? "merge" : "replace"},
            {"input_before", s_.input},
            {"input", input}});
    s_.input = std::move(input);
    ++s_.edits;
    if (request.retry) operator_retry();
  }

  // Going forward: every failed step runs again with a fresh retry budget.
  void restart_failed_nodes() {
    for (std::size_t n = 0; n < s_.nodes.size(); ++n) {
      if (s_.nodes[n] != NodeStatus::failed) continue;
      bool has_activities = false;
      for (std::size_t i = 0; i < s_.activities.size(); ++i) {
        auto& a = s_.activities[i];
        if (a.node != n || a.phase != ActivityPhase::failed) continue;
        has_activities = true;
        a.attempt_base = a.attempt;
        // Other data, another key, but only where no attempt can have been applied (every one
        // was answered with a refusal or a technical error): after a timeout the key stays, and
        // a participant that applied it answers what it remembers instead of applying it twice.
        if (!a.maybe_applied) a.key_generation = s_.edits;
        send(static_cast<int>(i), false);
      }
      s_.nodes[n] = has_activities ? NodeStatus::active : NodeStatus::pending;
    }
  }

  void resend_pending() {
    for (std::size_t i = 0; i < s_.activities.size(); ++i) {
      const auto& a = s_.activities[i];
      if (a.phase == ActivityPhase::awaiting_reply) send(static_cast<int>(i), false, true);
      if (a.phase == ActivityPhase::compensating) send(static_cast<int>(i), true, true);
    }
  }

 private:
  // --- running forward ---------------------------------------------------------------------
  // Starts every forward node whose predecessors are finished, until nothing more can start;
  // finishes the saga when every forward node is done or skipped.
  void advance() {
    if (s_.status != Status::running && s_.status != Status::waiting) return;
    if (!start_ready_nodes(false)) return settle();
    if (s_.status != Status::running && s_.status != Status::waiting) return;
    Lifecycle lc(s_.status);
    if (lc.status() == Status::waiting) lc.resume();
    lc.finish();
    s_.status = lc.status();
    clear_timer(std::string(kSagaTimer));
    record("saga_completed", {}, {});
  }

  // Starts the ready nodes of one part of the plan (going forward, or the on_compensated steps)
  // and returns whether that part has finished. Stops early when a start changed the status.
  bool start_ready_nodes(bool on_compensated) {
    const auto& nodes = s_.plan->nodes();
    const auto status = s_.status;
    for (bool progressed = true; progressed;) {
      progressed = false;
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        const auto& node = nodes[i];
        if (node.on_compensated != on_compensated || s_.nodes[i] != NodeStatus::pending) continue;
        if (node.parent != kNoParent && s_.nodes[node.parent] == NodeStatus::skipped) {
          s_.nodes[i] = NodeStatus::skipped;
          progressed = true;
          continue;
        }
        bool ready = std::all_of(node.after.begin(), node.after.end(), [&](NodeIndex d) {
          return s_.nodes[d] == NodeStatus::done || s_.nodes[d] == NodeStatus::skipped;
        });
        if (!ready) continue;
        progressed = true;
        if (node.step->when && !node.step->when->test(make_scope(nullptr, nullptr, nullptr))) {
          s_.nodes[i] = NodeStatus::skipped;
          record("step_skipped", node.step->name, {{"when", node.step->when->text()}});
          continue;
        }
        start_node(static_cast<NodeIndex>(i));
        if (s_.status != status) return false;
      }
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].on_compensated != on_compensated) continue;
      if (s_.nodes[i] != NodeStatus::done && s_.nodes[i] != NodeStatus::skipped) return false;
    }
    return true;
  }

  void start_node(NodeIndex n) {
    const auto& step = *s_.plan->node(n).step;
    s_.nodes[n] = NodeStatus::active;
    switch (step.kind) {
      case StepKind::command:
        s_.activities.push_back(Activity{.node = n});
        return send(static_cast<int>(s_.activities.size() - 1), false);
      case StepKind::foreach:
        return start_foreach(n, step);
      case StepKind::publish:
        return publish(n, step);
      case StepKind::wait:
        return start_wait(n, step);
      case StepKind::parallel:
        s_.nodes[n] = NodeStatus::done;  // the fork; its branches wait on it
        return;
      case StepKind::subflow:
        s_.activities.push_back(Activity{.node = n});
        return send(static_cast<int>(s_.activities.size() - 1), false);
    }
  }

  void start_foreach(NodeIndex n, const flow::Step& step) {
    const auto* items = step.items.resolve(make_scope(nullptr, nullptr, nullptr));
    if (items == nullptr || !items->is_array()) {
      s_.nodes[n] = NodeStatus::failed;
      return fail("foreach " + step.name + ": " + step.items.text + " is not an array", -1);
    }
    const auto count = items->get_array().size();
    s_.steps[step.name] = json::array(count, nullptr);
    if (count == 0) {
      s_.nodes[n] = NodeStatus::done;
      return;
    }
    for (std::size_t item = 0; item < count; ++item) {
      s_.activities.push_back(Activity{.node = n, .item = static_cast<std::uint16_t>(item)});
      send(static_cast<int>(s_.activities.size() - 1), false);
    }
  }

  void publish(NodeIndex n, const flow::Step& step) {
    Message m;
    m.kind = MessageKind::event;
    m.id = s_.id + "/" + step.name + "/event";
    m.type = step.event;
    m.correlation_id = s_.id;
    m.flow = s_.flow().name;
    m.step = step.name;
    m.traceparent = s_.traceparent;
    m.body = json::serialize(step.payload.render(make_scope(nullptr, nullptr, nullptr)));
    record("event_published", step.name, {{"type", m.type}, {"message_id", m.id}});
    out_.outbox.push_back(std::move(m));
    s_.nodes[n] = NodeStatus::done;
  }

  void start_wait(NodeIndex n, const flow::Step& step) {
    const auto& spec = step.wait;
    WaitState w{.node = n,
                .key = key_string(spec.correlate.evaluate(make_scope(nullptr, nullptr, nullptr)))};
    for (const auto* list : {&spec.events, &spec.failure_events}) {
      for (const auto& e : *list) out_.subscribe.push_back(Subscription{e, w.key, s_.id});
    }
    set_timer(std::string(kWaitTimerPrefix) + step.name, now_ + spec.timeout);
    record("wait_started", step.name, {{"events", json::value_from(spec.events)}, {"key", w.key}});
    s_.waits.push_back(std::move(w));
  }

  void end_wait(WaitState& w, NodeStatus result) {
    const auto& step = *s_.plan->node(w.node).step;
    for (const auto* list : {&step.wait.events, &step.wait.failure_events}) {
      for (const auto& e : *list) out_.unsubscribe.push_back(Subscription{e, w.key, s_.id});
    }
    clear_timer(std::string(kWaitTimerPrefix) + step.name);
    // A wait whose each_event commands are still out completes with the last of them.
    const bool commands_out = has_unfinished_activities(w.node);
    s_.nodes[w.node] = result == NodeStatus::done && commands_out ? NodeStatus::active : result;
    s_.waits.erase(s_.waits.begin() + (&w - s_.waits.data()));
  }

  void wait_timed_out(std::string_view step_name) {
    int n = s_.plan->find(step_name);
    auto it = std::find_if(s_.waits.begin(), s_.waits.end(),
                           [&](const WaitState& w) { return w.node == n; });
    if (it == s_.waits.end()) return record("timer_ignored", step_name, {});
    record("wait_timed_out", step_name, {});
    end_wait(*it, NodeStatus::failed);
    fail("wait " + std::string(step_name) + " timed out", -1);
  }

  WaitState* find_wait(const std::string& type, const json::value& payload) {
    for (auto& w : s_.waits) {
      const auto& spec = s_.plan->node(w.node).step->wait;
      bool listens = std::find(spec.events.begin(), spec.events.end(), type) != spec.events.end() ||
                     std::find(spec.failure_events.begin(), spec.failure_events.end(), type) !=
                         spec.failure_events.end();
      if (!listens) continue;
      const auto* key = spec.key.resolve(make_scope(nullptr, &payload, nullptr));
      if (key != nullptr && key_string(*key) == w.key) return &w;
    }
    return nullptr;
  }

  // --- commands -----------------------------------------------------------------------------
  // Sends the next attempt of an activity's command (or compensation); `again` sends the
  // current attempt once more, with the same id.
  void send(int index, bool undo, bool again = false) {
    auto& a = s_.activities[index];
    const auto& step = *s_.plan->node(a.node).step;
    if (step.kind == StepKind::subflow) return ask_child(index, undo, again);
    const flow::CommandSpec* spec = &step.command;
    auto timeout = step.timeout;
    if (step.kind == StepKind::wait) {
      spec = &step.wait.each_event->command;
      timeout = step.wait.each_event->timeout;
    }
    json::value item_value;
    const json::value* item = item_of(a, item_value);
    if (undo) {
      const auto* variant = compensation_variant(a, item);
      if (variant == nullptr) return;  // checked by the caller
      spec = &variant->command;
      timeout = step.compensation->timeout;
    }
    auto& attempt = undo ? a.undo_attempt : a.attempt;
    if (!again) ++attempt;
    a.phase = undo ? ActivityPhase::compensating : ActivityPhase::awaiting_reply;

    const auto key = activity_key(s_, a);
    Message m;
    m.kind = MessageKind::command;
    m.idempotency_key = idempotency_key(a, undo);
    m.id = command_id(a, undo, attempt);
    m.type = spec->type();
    m.destination = spec->service;
    m.correlation_id = s_.id;
    m.reply_to = options_.partitions > 0
                     ? options_.partition_reply_to(partition_of(s_.id, options_.partitions))
                     : options_.reply_to;
    m.flow = s_.flow().name;
    m.step = key;
    m.attempt = attempt;
    m.traceparent = s_.traceparent;
    m.body = json::serialize(spec->input.render(make_scope(nullptr, nullptr, item)));
    // The attempt's time is the participant's: it starts when the transport confirms the command.
    sagaflow::set_timer(out_, TimerRow{.saga_id = s_.id,
                                       .key = std::string(kStepTimerPrefix) + key,
                                       .due = kNotStarted,
                                       .started_by = m.id,
                                       .runs_for = timeout});
    record(undo ? "compensation_sent" : "command_sent", key,
           {{"type", m.type}, {"attempt", attempt}, {"message_id", m.id}, {"resent", again}});
    out_.outbox.push_back(std::move(m));
  }

  void activity_succeeded(int index, const json::value& payload) {
    auto& a = s_.activities[index];
    const auto& step = *s_.plan->node(a.node).step;
    const bool after_compensation = s_.plan->node(a.node).on_compensated;
    a.phase = ActivityPhase::done;
    const bool event_command = step.kind == StepKind::wait;  // bookkeeping: nothing to undo
    if (!after_compensation && !event_command) {
      s_.completed.push_back(static_cast<std::uint16_t>(index));
    }
    json::value item_value;
    auto output = step.output
                      ? step.output->render(make_scope(&payload, nullptr, item_of(a, item_value)))
                      : payload;
    if (step.kind == StepKind::foreach) {
      s_.steps[step.name].as_array().at(a.item) = std::move(output);
    } else if (!event_command) {
      s_.steps[step.name] = std::move(output);
    }
    const bool still_waiting = std::any_of(s_.waits.begin(), s_.waits.end(),
                                           [&](const WaitState& w) { return w.node == a.node; });
    bool node_done = !still_waiting && !has_unfinished_activities(a.node);
    if (node_done && s_.nodes[a.node] == NodeStatus::active) s_.nodes[a.node] = NodeStatus::done;
    if (after_compensation) return finish_compensation();
    if (s_.status == Status::compensating) return begin_compensation_when_drained();
    if (node_done) return advance();
    settle();
  }

  void retry_or_fail(int index, const std::string& code) {
    auto& a = s_.activities[index];
    const auto& step = *s_.plan->node(a.node).step;
    const auto& policy = step.kind == StepKind::wait ? step.wait.each_event->retry : step.retry;
    std::uint32_t used = a.attempt - a.attempt_base;
    bool going_forward = s_.status == Status::running || s_.status == Status::waiting ||
                         s_.plan->node(a.node).on_compensated;
    if (going_forward && used < policy.max_attempts && policy.retryable(code)) {
      a.phase = ActivityPhase::backoff;
      auto delay =
          jittered_backoff(policy.delay_before(used + 1), command_id(a, false, a.attempt + 1u));
      set_timer(step_timer(a), now_ + delay);
      record("retry_scheduled", activity_key(s_, a),
             {{"code", code}, {"next_attempt", a.attempt + 1}, {"delay_ms", delay.count()}});
      return settle();
    }
    activity_failed(index, code.empty() ? "failed" : code);
  }

  void activity_failed(int index, const std::string& reason) {
    auto& a = s_.activities[index];
    a.phase = ActivityPhase::failed;
    s_.nodes[a.node] = NodeStatus::failed;
    const auto key = activity_key(s_, a);
    record("step_failed", key, {{"reason", reason}, {"maybe_applied", a.maybe_applied}});
    if (s_.plan->node(a.node).on_compensated) return park(index, key + ": " + reason);
    if (s_.status == Status::compensating) {
      if (a.maybe_applied) s_.completed.push_back(static_cast<std::uint16_t>(index));
      return begin_compensation_when_drained();
    }
    if (s_.status == Status::failed) return;  // parked already; the operator decides
    fail(key + ": " + reason, index);
  }

  // --- failing and compensating -------------------------------------------------------------
  // A step failed for good: compensate, or, once past the pivot, park for an operator.
  void fail(const std::string& reason, int failed_activity) {
    bool pivot = past_pivot(s_);
    Lifecycle lc(s_.status);
    if (!lc.fail(pivot)) return;  // already failing
    s_.status = lc.status();
    s_.failure = reason;
    if (s_.status == Status::failed) {
      s_.parked_activity = failed_activity;
      return record("saga_parked", {}, {{"reason", reason}, {"past_pivot", true}});
    }
    if (failed_activity >= 0 && s_.activities[failed_activity].maybe_applied) {
      s_.completed.push_back(static_cast<std::uint16_t>(failed_activity));
    }
    enter_compensation();
  }

  // Stops everything that goes forward; compensation starts once the commands still out have
  // answered (or timed out), so that their effects are undone too.
  void enter_compensation() {
    clear_timer(std::string(kSagaTimer));
    while (!s_.waits.empty()) end_wait(s_.waits.back(), NodeStatus::failed);
    for (std::size_t i = 0; i < s_.activities.size(); ++i) {
      auto& a = s_.activities[i];
      if (a.phase != ActivityPhase::backoff) continue;
      a.phase = ActivityPhase::failed;
      clear_timer(step_timer(a));
      if (a.maybe_applied) s_.completed.push_back(static_cast<std::uint16_t>(i));
    }
    // A child still running is cancelled: it undoes itself, then answers, failed, so that the
    // compensation starts once it has (and has nothing of it left to undo).
    for (std::size_t i = 0; i < s_.activities.size(); ++i) {
      auto& a = s_.activities[i];
      if (is_subflow(a) && a.phase == ActivityPhase::awaiting_reply) {
        link_child(SagaLinkKind::cancel_child, a, command_id(a, false, a.attempt), {});
        record("child_cancel_requested", activity_key(s_, a), {{"child", child_of(a)}});
      }
    }
    record("compensation_started", {}, {{"reason", s_.failure}});
    begin_compensation_when_drained();
  }

  void begin_compensation_when_drained() {
    if (s_.compensation_started) return;
    bool in_flight = std::any_of(s_.activities.begin(), s_.activities.end(), awaiting_forward);
    if (in_flight) return;
    s_.compensation_started = true;
    s_.undo_cursor = static_cast<std::uint32_t>(s_.completed.size());
    compensate_next();
  }

  // Undoes completed activities in reverse order of completion, one at a time.
  void compensate_next() {
    while (s_.undo_cursor > 0) {
      int index = s_.completed[s_.undo_cursor - 1];
      auto& a = s_.activities[index];
      json::value item_value;
      if (is_subflow(a) || compensation_variant(a, item_of(a, item_value)) != nullptr) {
        return send(index, true);
      }
      a.phase = ActivityPhase::not_compensated;
      --s_.undo_cursor;
      record("compensation_skipped", activity_key(s_, a), {});
    }
    finish_compensation();
  }

  // Everything is undone: the on_compensated steps run, then the saga ends.
  void finish_compensation() {
    if (s_.status != Status::compensating || !start_ready_nodes(true)) return;
    Lifecycle lc(s_.status);
    lc.compensated(s_.cancel_requested);
    s_.status = lc.status();
    // An honest end: what the compensation did not undo is said, not hidden (effects.hpp).
    record(s_.status == Status::cancelled ? "saga_cancelled" : "saga_compensated", {},
           {{"reason", s_.failure},
            {"effects_left_standing", effects_json(effects_left_standing(s_))}});
  }

  void compensation_done(int index) {
    s_.activities[index].phase = ActivityPhase::compensated;
    --s_.undo_cursor;
    compensate_next();
  }

  void retry_compensation_or_park(int index, const std::string& code, bool business_failure) {
    auto& a = s_.activities[index];
    const auto& policy = s_.plan->node(a.node).step->compensation->retry;
    std::uint32_t used = a.undo_attempt - a.undo_attempt_base;
    a.phase = ActivityPhase::compensation_backoff;
    if (!business_failure && used < policy.max_attempts) {
      auto delay =
          jittered_backoff(policy.delay_before(used + 1), command_id(a, true, a.undo_attempt + 1u));
      set_timer(step_timer(a), now_ + delay);
      record("compensation_retry_scheduled", activity_key(s_, a),
             {{"code", code}, {"delay_ms", delay.count()}});
      return;
    }
    park(index, "compensation of " + activity_key(s_, a) + " failed: " + code);
  }

  // What cannot succeed after the compensation began needs a person: park, never stop silently.
  void park(int index, std::string reason) {
    Lifecycle lc(s_.status);
    lc.stuck();
    s_.status = lc.status();
    s_.parked_activity = index;
    s_.failure = std::move(reason);
    record("saga_parked", activity_key(s_, s_.activities[index]), {{"reason", s_.failure}});
  }

  const flow::CompensationVariant* compensation_variant(const Activity& a,
                                                        const json::value* item) const {
    const auto& step = *s_.plan->node(a.node).step;
    if (!step.compensation) return nullptr;
    auto scope = make_scope(nullptr, nullptr, item);
    for (const auto& v : step.compensation->variants) {
      if (!v.when || v.when->test(scope)) return &v;
    }
    return nullptr;
  }

  // --- sub-flows ----------------------------------------------------------------------------
  bool is_subflow(const Activity& a) const {
    return s_.plan->node(a.node).step->kind == StepKind::subflow;
  }

  std::string child_of(const Activity& a) {
    const auto key = activity_key(s_, a);
    if (const auto* id = s_.children.if_contains(key)) return std::string(id->as_string());
    auto id = child_saga_id(
        s_.id, key,
        options_.child_id_partitions > 0 ? options_.child_id_partitions : options_.partitions);
    s_.children[key] = id;
    return id;
  }

  void link_child(SagaLinkKind kind, const Activity& a, std::string command, std::string body) {
    const auto& step = *s_.plan->node(a.node).step;
    SagaLink link{.kind = kind, .target = child_of(a), .flow = step.subflow};
    link.message.kind = MessageKind::command;
    link.message.id = command;
    link.message.causation_id = std::move(command);
    link.message.correlation_id = s_.id;
    link.message.flow = s_.flow().name;
    link.message.step = activity_key(s_, a);
    link.message.traceparent = s_.traceparent;
    link.message.body = std::move(body);
    out_.links.push_back(std::move(link));
  }

  // A subflow activity's "command": start the child (or find it started, when the step runs
  // again), or have it compensate. No attempt timer: the child has its own deadlines. Nothing
  // to send again after a restart: the child is in the store.
  void ask_child(int index, bool undo, bool again) {
    if (again) return;
    auto& a = s_.activities[index];
    const auto& step = *s_.plan->node(a.node).step;
    auto& attempt = undo ? a.undo_attempt : a.attempt;
    ++attempt;
    a.phase = undo ? ActivityPhase::compensating : ActivityPhase::awaiting_reply;
    const auto key = activity_key(s_, a);
    const auto id = command_id(a, undo, attempt);
    if (undo) {
      link_child(SagaLinkKind::undo_child, a, id, {});
      return record("compensation_sent", key,
                    {{"type", "subflow:" + step.subflow},
                     {"child", child_of(a)},
                     {"attempt", attempt},
                     {"message_id", id}});
    }
    json::value input = step.command.input.render(make_scope(nullptr, nullptr, nullptr));
    if (input.is_null()) input = json::object{};
    link_child(SagaLinkKind::start_child, a, id, json::serialize(input));
    record(
        "child_started", key,
        {{"child", child_of(a)}, {"flow", step.subflow}, {"attempt", attempt}, {"input", input}});
  }

 public:
  // Sub-flows: the saga as a child, asked by its parent (Engine::link).
  void child_asked(const SagaLink& link) {
    s_.parent_command = link.message.causation_id;
    switch (link.kind) {
      case SagaLinkKind::start_child:
        return record("parent_retried", {}, {{"answers", s_.parent_command}});
      case SagaLinkKind::undo_child:
        record("parent_compensates", {}, {{"answers", s_.parent_command}});
        if (s_.status != Status::completed) return;  // answers once it has ended
        if (past_pivot(s_)) {
          return record("compensation_refused", {}, {{"reason", "past its pivot step"}});
        }
        {
          Lifecycle lc(s_.status);
          lc.undo();
          s_.status = lc.status();
        }
        s_.failure = "its parent saga " + s_.parent_id + " compensates";
        return enter_compensation();
      case SagaLinkKind::cancel_child:
        record("parent_cancels", {}, {{"answers", s_.parent_command}});
        if (s_.status == Status::paused && can_cancel_now()) {
          return resume("its parent saga " + s_.parent_id + " stopped");
        }
        if (can_cancel_now()) return cancel("its parent saga " + s_.parent_id + " stopped");
        return;
      case SagaLinkKind::child_ended:
        return;
    }
  }

 private:
  bool can_cancel_now() const {
    const Status status = s_.status == Status::paused ? s_.paused_from : s_.status;
    return Lifecycle(status).cancel(past_pivot(s_));
  }

  // After each transition of a child: once it has ended, its parent's step gets its answer:
  // completed -> success with its outputs (each of its steps' outputs by name); compensated or
  // cancelled going forward -> a business failure; compensated or cancelled when the parent
  // asked it to compensate (or stayed, past its pivot) -> the compensation succeeded.
  void tell_parent_if_ended() {
    if (s_.parent_id.empty() || !is_final(s_.status)) return;
    if (s_.parent_answered == s_.parent_command) return;
    const bool undo = s_.parent_command.find("/undo/") != std::string::npos;
    Message m;
    m.kind = MessageKind::reply;
    m.id = s_.id + "/end/" + std::to_string(s_.version);
    m.causation_id = s_.parent_command;
    m.correlation_id = s_.parent_id;
    m.step = s_.parent_step;
    m.flow = s_.flow().name;
    m.traceparent = s_.traceparent;
    json::object body;
    if (s_.status == Status::completed && !undo) {
      m.outcome = ReplyOutcome::success;
      m.body = json::serialize(s_.steps);
    } else if (undo) {
      m.outcome = ReplyOutcome::success;
      if (s_.status == Status::completed) m.error_code = "PastPivot";
      m.body = json::serialize(
          json::object{{"child", s_.id}, {"status", to_string(s_.status)}, {"reason", s_.failure}});
    } else {
      m.outcome = ReplyOutcome::business_failure;
      m.error_code = s_.status == Status::cancelled ? "ChildCancelled" : "ChildCompensated";
      m.body = json::serialize(
          json::object{{"child", s_.id}, {"status", to_string(s_.status)}, {"reason", s_.failure}});
    }
    record("parent_answered", {},
           {{"parent", s_.parent_id},
            {"answers", s_.parent_command},
            {"outcome", to_string(m.outcome)}});
    s_.parent_answered = s_.parent_command;
    out_.links.push_back(SagaLink{.kind = SagaLinkKind::child_ended,
                                  .target = s_.parent_id,
                                  .flow = {},
                                  .message = std::move(m)});
  }

  // --- helpers ------------------------------------------------------------------------------
  // Running while a command is out, waiting while only outside events are awaited.
  void settle() {
    if (s_.status != Status::running && s_.status != Status::waiting) return;
    bool commands_out = std::any_of(s_.activities.begin(), s_.activities.end(), awaiting_forward);
    Lifecycle lc(s_.status);
    if (commands_out || s_.waits.empty()) {
      lc.resume();
    } else {
      lc.await_events();
    }
    s_.status = lc.status();
  }

  bool has_unfinished_activities(NodeIndex node) const {
    return std::any_of(s_.activities.begin(), s_.activities.end(), [&](const Activity& a) {
      return a.node == node && a.phase != ActivityPhase::done;
    });
  }

  int find_activity(std::string_view key) const {
    std::string_view name = key;
    std::uint16_t item = 0;
    if (!key.empty() && key.back() == ']') {
      auto open = key.rfind('[');
      if (open == std::string_view::npos) return -1;
      name = key.substr(0, open);
      auto digits = key.substr(open + 1, key.size() - open - 2);
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), item);
      if (ec != std::errc()) return -1;
    }
    int node = s_.plan->find(name);
    for (std::size_t i = 0; i < s_.activities.size(); ++i) {
      const auto& a = s_.activities[i];
      if (a.node == node && a.item == item) return static_cast<int>(i);
    }
    return -1;
  }

  // The foreach element an activity works on, or null.
  const json::value* item_of(const Activity& a, json::value& holder) const {
    const auto& step = *s_.plan->node(a.node).step;
    if (step.kind != StepKind::foreach) return nullptr;
    const auto* items = step.items.resolve(make_scope(nullptr, nullptr, nullptr));
    if (items == nullptr || !items->is_array() || a.item >= items->get_array().size()) {
      holder = nullptr;
      return &holder;
    }
    return &items->get_array()[a.item];
  }

  flow::Scope make_scope(const json::value* reply, const json::value* event,
                         const json::value* item) const {
    return flow::Scope{.input = &s_.input,
                       .steps = &s_.steps,
                       .reply = reply,
                       .event = event,
                       .item = item,
                       .saga = &s_.meta};
  }

  std::string step_timer(const Activity& a) const {
    return std::string(kStepTimerPrefix) + activity_key(s_, a);
  }

  // A participant applies a step (or its compensation) once, however often it is retried.
  std::string idempotency_key(const Activity& a, bool undo) const {
    auto key = command_key(a, undo);
    if (a.key_generation > 0) key += "/edit" + std::to_string(a.key_generation);
    return key;
  }
  // What a command id begins with (parse_command_id reads it back).
  std::string command_key(const Activity& a, bool undo) const {
    return s_.id + "/" + activity_key(s_, a) + (undo ? "/undo" : "/do");
  }
  std::string command_id(const Activity& a, bool undo, std::uint32_t attempt) const {
    return command_key(a, undo) + "/" + std::to_string(attempt);
  }

  void ignore_reply(const Message& m, std::string_view reason) {
    record("reply_ignored", m.step,
           {{"message_id", m.id}, {"answers", m.causation_id}, {"reason", reason}});
  }

  void record(std::string_view kind, std::string_view step, json::object detail) {
    out_.history.push_back(HistoryRow{.saga_id = s_.id,
                                      .saga_version = s_.version,
                                      .at = now_,
                                      .kind = std::string(kind),
                                      .step = std::string(step),
                                      .detail = json::serialize(detail)});
  }

  void set_timer(std::string key, Timestamp due) {
    sagaflow::set_timer(out_, TimerRow{s_.id, std::move(key), due});
  }
  void clear_timer(std::string key) { sagaflow::clear_timer(out_, std::move(key)); }

  const EngineOptions& options_;
  SagaState& s_;
  Timestamp now_;
  SagaWrite& out_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
std::string activity_key(const SagaState& saga, const Activity& activity) {
  const auto& step = *saga.plan->node(activity.node).step;
  if (step.kind != StepKind::foreach && step.kind != StepKind::wait) return step.name;
  return step.name + "[" + std::to_string(activity.item) + "]";
}

bool has_pending_commands(const SagaState& saga) {
  return std::any_of(saga.activities.begin(), saga.activities.end(), [](const Activity& a) {
    return a.phase == ActivityPhase::awaiting_reply || a.phase == ActivityPhase::compensating;
  });
}

std::vector<std::string> pending_command_ids(const SagaState& saga) {
  std::vector<std::string> ids;
  for (const auto& a : saga.activities) {
    const bool undo = a.phase == ActivityPhase::compensating;
    if (!undo && a.phase != ActivityPhase::awaiting_reply) continue;
    // A child saga is no command: nothing of it is in flight on the transport.
    if (saga.plan->node(a.node).step->kind == StepKind::subflow) continue;
    ids.push_back(saga.id + "/" + activity_key(saga, a) + (undo ? "/undo/" : "/do/") +
                  std::to_string(undo ? a.undo_attempt : a.attempt));
  }
  return ids;
}

std::vector<Message> pending_commands(const Engine& engine, const SagaState& saga, Timestamp now) {
  if (!has_pending_commands(saga)) return {};
  auto copy = saga;
  SagaWrite scratch;
  engine.resend_pending(copy, now, scratch);
  return std::move(scratch.outbox);
}

std::string child_saga_id(std::string_view parent_id, std::string_view activity_key,
                          int partitions) {
  std::string base = std::string(parent_id) + "." + std::string(activity_key);
  if (partitions <= 1) return base;
  const int partition = partition_of(parent_id, partitions);
  for (int n = 0;; ++n) {
    auto id = base + "~" + std::to_string(n);
    if (partition_of(id, partitions) == partition) return id;
  }
}

Engine::Engine(EngineOptions options) : options_(std::move(options)) {}

std::unique_ptr<SagaState> Engine::start(std::shared_ptr<const Plan> plan,
                                         const StartRequest& request, Timestamp now,
                                         SagaWrite& out) const {
  if (auto check = flow::check_input(plan->flow().input, request.input); !check.ok()) {
    throw InvalidInput(check);
  }
  auto saga = std::make_unique<SagaState>();
  saga->id = request.saga_id;
  saga->plan = std::move(plan);
  saga->idempotency_key = request.idempotency_key;
  saga->traceparent = request.traceparent;
  saga->created_at = now;
  saga->input = request.input;
  saga->meta = json::object{
      {"id", saga->id}, {"flow", saga->flow().name}, {"version", saga->flow().version}};
  saga->nodes.assign(saga->plan->nodes().size(), NodeStatus::pending);
  saga->parent_id = request.parent_id;
  saga->parent_step = request.parent_step;
  saga->parent_command = request.parent_command;
  if (request.start_at && *request.start_at > now) {
    Transition(options_, *saga, now, out).schedule_start(*request.start_at);
  } else if (request.hold) {
    Transition(options_, *saga, now, out).hold_start();
  } else {
    Transition(options_, *saga, now, out).start();
  }
  return saga;
}

void Engine::on_reply(SagaState& saga, const Message& reply, Timestamp now, SagaWrite& out) const {
  if (saga.status == Status::paused) {
    return Transition(options_, saga, now, out).hold(HeldInput{.message = reply});
  }
  Transition(options_, saga, now, out).reply(reply);
}

void Engine::on_event(SagaState& saga, const Message& event, Timestamp now, SagaWrite& out) const {
  if (saga.status == Status::paused) {
    return Transition(options_, saga, now, out).hold(HeldInput{.message = event});
  }
  Transition(options_, saga, now, out).event(event);
}

void Engine::on_timer(SagaState& saga, std::string_view key, Timestamp now, SagaWrite& out,
                      bool hold) const {
  if (saga.status == Status::paused) {
    return Transition(options_, saga, now, out).hold(HeldInput{.timer = std::string(key)});
  }
  if (hold && key == kStartTimer && saga.status == Status::pending) {
    Transition t(options_, saga, now, out);
    t.clear_start_timer();
    return t.hold_start();
  }
  Transition(options_, saga, now, out).timer(key);
}

// A paused saga is judged by the status it was paused in: cancelling it resumes it into the
// cancel, held answers first.
bool can_cancel(const SagaState& saga) {
  const Status status = saga.status == Status::paused ? saga.paused_from : saga.status;
  return Lifecycle(status).cancel(past_pivot(saga));
}

bool can_retry(const SagaState& saga) {
  return saga.status == Status::failed;
}

void Engine::pause(SagaState& saga, std::string_view reason, Timestamp now, SagaWrite& out) const {
  if (saga.status == Status::paused) throw Refused("the saga is already paused");
  if (!Lifecycle(saga.status).pause()) {
    throw Refused(std::string("cannot pause a saga that is ") + to_string(saga.status));
  }
  Transition(options_, saga, now, out).pause(reason, "operator");
}

void Engine::resume(SagaState& saga, Timestamp now, SagaWrite& out) const {
  if (saga.status != Status::paused) {
    throw Refused(std::string("only a paused saga can be resumed; this one is ") +
                  to_string(saga.status));
  }
  Transition(options_, saga, now, out).resume();
}

// Refusals are decided before a transition begins, so that a refused request changes nothing.
void Engine::cancel(SagaState& saga, std::string_view reason, Timestamp now, SagaWrite& out) const {
  if (!can_cancel(saga)) {
    if (saga.status == Status::paused) {
      throw Refused(std::string("cannot cancel a saga paused while ") +
                    to_string(saga.paused_from) +
                    (past_pivot(saga) ? " and past its pivot step" : ""));
    }
    throw Refused(std::string("cannot cancel a saga that is ") + to_string(saga.status) +
                  (past_pivot(saga) ? " and past its pivot step" : ""));
  }
  if (saga.status == Status::paused) return Transition(options_, saga, now, out).resume(reason);
  Transition(options_, saga, now, out).cancel(reason);
}

void Engine::retry(SagaState& saga, Timestamp now, SagaWrite& out) const {
  if (!can_retry(saga)) {
    throw Refused(std::string("only a failed (parked) saga can be retried; this one is ") +
                  to_string(saga.status));
  }
  Transition(options_, saga, now, out).operator_retry();
}

namespace {

// The step a skip names (or, unnamed, the step the saga is parked on), checked to be skippable.
NodeIndex node_to_skip(const SagaState& saga, std::string_view name) {
  if (saga.status != Status::failed) {
    throw Refused(std::string("only a failed (parked) saga can skip a step; this one is ") +
                  to_string(saga.status));
  }
  if (saga.compensation_started) {
    throw Refused("the saga is parked while compensating (" + saga.failure +
                  "): a skip replaces a forward step only; retry it instead");
  }
  if (name.empty()) {
    if (saga.parked_activity >= 0) return saga.activities.at(saga.parked_activity).node;
    for (std::size_t n = 0; n < saga.nodes.size(); ++n) {
      if (saga.nodes[n] == NodeStatus::failed) return static_cast<NodeIndex>(n);
    }
    throw Refused("the saga has no failed step to skip");
  }
  const int node = saga.plan->find(name);
  if (node < 0 || saga.plan->node(node).on_compensated) {
    throw InvalidSkip(
        flow::InputCheck{.problems = {{"step", "step: flow " + saga.flow().name + " has no step '" +
                                                   std::string(name) + "' to skip"}}});
  }
  if (saga.nodes[node] != NodeStatus::failed) {
    throw Refused("step '" + std::string(name) + "' has not failed; only a failed step is skipped");
  }
  return static_cast<NodeIndex>(node);
}

// The output must carry every field the rest of the flow reads of the step (for a foreach,
// each item's output does).
void check_skip_output(const SagaState& saga, const flow::Step& step, const json::value& output) {
  flow::InputCheck check;
  const auto fields = flow::output_fields_read(saga.flow(), step);
  const auto* object = output.if_object();
  for (const auto& field : fields) {
    const std::string reader = "$steps." + step.name + (field.empty() ? "" : "." + field);
    if (field.empty()) {
      if (output.is_null()) {
        check.problems.push_back({"output", "output: the flow reads " + reader + "; give one"});
      }
    } else if (object == nullptr) {
      check.problems.push_back({"output", "output: expected an object with field '" + field +
                                              "' (the flow reads " + reader + "), found " +
                                              std::string(json::to_string(output.kind()))});
      break;
    } else if (!object->contains(field)) {
      check.problems.push_back(
          {"output." + field, "output." + field + ": missing; the flow reads " + reader});
    }
  }
  if (!check.ok()) throw InvalidSkip(check);
}

}  // namespace

void Engine::skip(SagaState& saga, const SkipRequest& request, Timestamp now,
                  SagaWrite& out) const {
  const NodeIndex node = node_to_skip(saga, request.step);
  check_skip_output(saga, *saga.plan->node(node).step, request.output);
  Transition(options_, saga, now, out).operator_skip(node, request.output, request.note);
}

void Engine::edit(SagaState& saga, const EditRequest& request, Timestamp now,
                  SagaWrite& out) const {
  if (saga.status != Status::failed) {
    throw Refused(
        std::string("only a failed (parked) saga can have its data edited; this one is ") +
        to_string(saga.status));
  }
  auto input =
      request.mode == EditMode::merge ? merge_patch(saga.input, request.input) : request.input;
  if (auto check = flow::check_input(saga.flow().input, input); !check.ok()) {
    throw InvalidInput(check);
  }
  Transition(options_, saga, now, out).operator_edit(std::move(input), request);
}

json::value merge_patch(json::value target, const json::value& patch) {
  const auto* members = patch.if_object();
  if (members == nullptr) return patch;
  if (!target.is_object()) target = json::object{};
  auto& object = target.as_object();
  for (const auto& member : *members) {
    if (member.value().is_null()) {
      object.erase(member.key());
    } else {
      auto* existing = object.if_contains(member.key());
      object[member.key()] = merge_patch(existing ? *existing : json::value(), member.value());
    }
  }
  return target;
}

void Engine::link(SagaState& saga, const SagaLink& link, Timestamp now, SagaWrite& out) const {
  if (link.kind == SagaLinkKind::child_ended) return on_reply(saga, link.message, now, out);
  Transition(options_, saga, now, out).child_asked(link);
}

void Engine::resend_pending(SagaState& saga, Timestamp now, SagaWrite& out) const {
  Transition(options_, saga, now, out).resend_pending();
}

}  // namespace sagaflow
