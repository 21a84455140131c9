// The stored form of a saga's runtime state: a compact JSON document, versioned so that a later
// engine can read what an earlier one wrote.
#include <stdexcept>

#include "sagaflow/engine/engine.hpp"

namespace sagaflow {
namespace {

constexpr std::int64_t kFormat = 1;
constexpr std::string_view kNodeCodes = "padsf";  // NodeStatus, one character per node

std::uint16_t u16(const json::value& v) {
  return static_cast<std::uint16_t>(v.to_number<std::int64_t>());
}

json::array encode_activity(const Activity& a) {
  json::array v{a.node,         a.item,         static_cast<int>(a.phase), a.attempt,
                a.attempt_base, a.undo_attempt, a.undo_attempt_base,       a.maybe_applied};
  // Only after an operator's edit: the rows of sagas never edited keep their shape.
  if (a.key_generation > 0) v.push_back(a.key_generation);
  return v;
}

Activity decode_activity(const json::array& v) {
  if (v.size() != 8 && v.size() != 9) throw std::runtime_error("corrupt activity in saga state");
  return Activity{.node = u16(v[0]),
                  .item = u16(v[1]),
                  .phase = static_cast<ActivityPhase>(v[2].to_number<int>()),
                  .attempt = u16(v[3]),
                  .attempt_base = u16(v[4]),
                  .undo_attempt = u16(v[5]),
                  .undo_attempt_base = u16(v[6]),
                  .maybe_applied = v[7].as_bool(),
                  .key_generation = v.size() > 8 ? u16(v[8]) : std::uint16_t{0}};
}

// A paused saga's extra state; absent otherwise, so rows of running sagas are unchanged.
// Held messages keep what the engine reads when it applies them at resume.
json::object encode_pause(const SagaState& saga) {
  json::array held;
  for (const auto& h : saga.held) {
    if (!h.timer.empty()) {
      held.push_back(json::object{{"timer", h.timer}});
      continue;
    }
    const auto& m = h.message;
    held.push_back(json::object{{"kind", static_cast<int>(m.kind)},
                                {"id", m.id},
                                {"type", m.type},
                                {"causation_id", m.causation_id},
                                {"outcome", static_cast<int>(m.outcome)},
                                {"error_code", m.error_code},
                                {"step", m.step},
                                {"attempt", m.attempt},
                                {"body", m.body}});
  }
  return json::object{
      {"from", to_string(saga.paused_from)}, {"by", saga.paused_by}, {"held", std::move(held)}};
}

void decode_pause(const json::object& pause, SagaState& saga) {
  auto from = status_from_string(pause.at("from").as_string());
  if (!from) throw std::runtime_error("saga " + saga.id + " was paused in an unknown status");
  saga.paused_from = *from;
  saga.paused_by = pause.at("by").as_string();
  for (const auto& v : pause.at("held").as_array()) {
    const auto& h = v.as_object();
    HeldInput input;
    if (const auto* timer = h.if_contains("timer")) {
      input.timer = timer->as_string();
    } else {
      auto& m = input.message;
      m.kind = static_cast<MessageKind>(h.at("kind").to_number<int>());
      m.id = h.at("id").as_string();
      m.type = h.at("type").as_string();
      m.causation_id = h.at("causation_id").as_string();
      m.correlation_id = saga.id;
      m.outcome = static_cast<ReplyOutcome>(h.at("outcome").to_number<int>());
      m.error_code = h.at("error_code").as_string();
      m.step = h.at("step").as_string();
      m.attempt = h.at("attempt").to_number<std::uint32_t>();
      m.body = h.at("body").as_string();
    }
    saga.held.push_back(std::move(input));
  }
}

}  // namespace

SagaRow to_row(const SagaState& saga) {
  std::string nodes;
  nodes.reserve(saga.nodes.size());
  for (auto n : saga.nodes) nodes.push_back(kNodeCodes[static_cast<std::size_t>(n)]);

  json::array activities;
  activities.reserve(saga.activities.size());
  for (const auto& a : saga.activities) activities.push_back(encode_activity(a));

  json::array waits;
  for (const auto& w : saga.waits) {
    waits.push_back(json::array{w.node, w.key, json::value_from(w.seen)});
  }

  json::object state{{"format", kFormat},
                     {"input", saga.input},
                     {"steps", saga.steps},
                     {"nodes", nodes},
                     {"activities", std::move(activities)},
                     {"completed", json::value_from(saga.completed)},
                     {"waits", std::move(waits)},
                     {"undo_cursor", saga.undo_cursor},
                     {"compensation_started", saga.compensation_started},
                     {"cancel_requested", saga.cancel_requested},
                     {"parked_activity", saga.parked_activity},
                     {"failure", saga.failure},
                     {"traceparent", saga.traceparent}};
  if (saga.status == Status::paused) state["pause"] = encode_pause(saga);
  if (saga.edits > 0) state["edits"] = saga.edits;
  if (!saga.parent_id.empty()) {
    state["parent"] = json::object{{"id", saga.parent_id},
                                   {"step", saga.parent_step},
                                   {"command", saga.parent_command},
                                   {"answered", saga.parent_answered}};
  }
  if (!saga.children.empty()) state["children"] = saga.children;
  if (saga.start_at) state["start_at"] = to_millis(*saga.start_at);
  return SagaRow{.id = saga.id,
                 .flow = saga.flow().name,
                 .flow_version = saga.flow().version,
                 .status = to_string(saga.status),
                 .version = saga.version,
                 .idempotency_key = saga.idempotency_key,
                 .state = json::serialize(state),
                 .created_at = saga.created_at,
                 .updated_at = saga.updated_at};
}

std::unique_ptr<SagaState> from_row(const SagaRow& row, const FlowRegistry& flows) {
  auto plan = flows.find(row.flow, row.flow_version);
  if (!plan) {
    throw std::runtime_error("saga " + row.id + " runs flow " + row.flow + " version " +
                             std::to_string(row.flow_version) + ", which is not loaded");
  }
  auto status = status_from_string(row.status);
  if (!status) throw std::runtime_error("saga " + row.id + " has unknown status " + row.status);

  auto doc = json::parse(row.state);
  const auto& state = doc.as_object();
  if (state.at("format").to_number<std::int64_t>() != kFormat) {
    throw std::runtime_error("saga " + row.id + " was stored in an unknown format");
  }
  auto saga = std::make_unique<SagaState>();
  saga->id = row.id;
  saga->plan = std::move(plan);
  saga->status = *status;
  saga->version = row.version;
  saga->idempotency_key = row.idempotency_key;
  saga->created_at = row.created_at;
  saga->updated_at = row.updated_at;
  saga->input = state.at("input");
  saga->steps = state.at("steps").as_object();
  saga->meta = json::object{
      {"id", saga->id}, {"flow", saga->flow().name}, {"version", saga->flow().version}};

  const auto& nodes = state.at("nodes").as_string();
  if (nodes.size() != saga->plan->nodes().size()) {
    throw std::runtime_error("saga " + row.id + " does not match its flow's steps");
  }
  for (char c : nodes) {
    auto code = kNodeCodes.find(c);
    if (code == std::string_view::npos) throw std::runtime_error("corrupt node status");
    saga->nodes.push_back(static_cast<NodeStatus>(code));
  }
  for (const auto& a : state.at("activities").as_array()) {
    saga->activities.push_back(decode_activity(a.as_array()));
  }
  for (const auto& c : state.at("completed").as_array()) saga->completed.push_back(u16(c));
  for (const auto& w : state.at("waits").as_array()) {
    const auto& fields = w.as_array();
    WaitState wait{.node = u16(fields.at(0)), .key = std::string(fields.at(1).as_string())};
    for (const auto& id : fields.at(2).as_array()) wait.seen.emplace_back(id.as_string());
    saga->waits.push_back(std::move(wait));
  }
  saga->undo_cursor = static_cast<std::uint32_t>(state.at("undo_cursor").to_number<std::int64_t>());
  saga->compensation_started = state.at("compensation_started").as_bool();
  saga->cancel_requested = state.at("cancel_requested").as_bool();
  saga->parked_activity = state.at("parked_activity").to_number<int>();
  saga->failure = state.at("failure").as_string();
  saga->traceparent = state.at("traceparent").as_string();
  if (const auto* pause = state.if_contains("pause")) decode_pause(pause->as_object(), *saga);
  if (const auto* edits = state.if_contains("edits")) saga->edits = u16(*edits);
  if (const auto* parent = state.if_contains("parent")) {
    const auto& p = parent->as_object();
    saga->parent_id = p.at("id").as_string();
    saga->parent_step = p.at("step").as_string();
    saga->parent_command = p.at("command").as_string();
    saga->parent_answered = p.at("answered").as_string();
  }
  if (const auto* children = state.if_contains("children")) {
    saga->children = children->as_object();
  }
  if (const auto* at = state.if_contains("start_at")) {
    saga->start_at = from_millis(at->to_number<std::int64_t>());
  }
  return saga;
}

json::value step_result(const SagaRow& row, std::string_view step) {
  boost::system::error_code ec;
  auto state = json::parse(row.state, ec);
  if (ec || !state.is_object()) return nullptr;
  const auto* steps = state.get_object().if_contains("steps");
  const auto* value = steps && steps->is_object() ? steps->get_object().if_contains(step) : nullptr;
  return value ? *value : json::value(nullptr);
}

}  // namespace sagaflow
