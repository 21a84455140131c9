#include "sagaflow/simulation/world.hpp"

#include <algorithm>
#include <chrono>

#include "sagaflow/engine/engine.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::simulation {

namespace {

constexpr int kMaxSettleRounds = 10'000;

// Waits for a request's future while running rounds, so that it is served on this thread.
template <typename T>
T served(Orchestrator& orchestrator, std::future<T> future) {
  for (int round = 0; round < kMaxSettleRounds; ++round) {
    orchestrator.run_once(std::chrono::milliseconds(0));
    if (future.wait_for(std::chrono::seconds(0)) == std::future_status::ready) return future.get();
  }
  throw WorldError("the orchestrator did not serve the request");
}

}  // namespace

bool is_compensation(const Message& command) {
  return command.id.find("/undo/") != std::string::npos;
}

World::World()
    : orchestrator_(flows_, store_, transport_, clock_,
                    OrchestratorOptions{.timer_poll = Duration{0}}) {}

World::~World() = default;

std::shared_ptr<const Plan> World::add_flow(std::shared_ptr<const flow::Flow> flow) {
  return flows_.add(std::move(flow));
}

void World::serve(const std::string& service, Participant participant) {
  services_[service] = std::move(participant);
}

void World::serve_others(Participant participant) {
  others_ = std::move(participant);
}

void World::subscribe(const std::string& event_type, std::function<void(const Message&)> observer) {
  subscribers_[event_type].push_back(std::move(observer));
}

std::string World::start(const std::string& flow, json::value input, std::string idempotency_key,
                         std::string saga_id) {
  StartRequest request{.flow = flow,
                       .input = std::move(input),
                       .idempotency_key = std::move(idempotency_key),
                       .saga_id = std::move(saga_id)};
  auto id = served(orchestrator_, orchestrator_.start(std::move(request))).saga_id;
  settle();
  return id;
}

void World::publish_event(const std::string& type, json::value payload, std::string id) {
  Message m;
  m.kind = MessageKind::event;
  m.type = type;
  m.id = id.empty() ? type + "/" + std::to_string(++outside_events_) : std::move(id);
  m.body = json::serialize(payload);
  transport_.deliver(std::move(m));
  settle();
}

void World::cancel(const std::string& saga_id, std::string reason) {
  served(orchestrator_, orchestrator_.cancel(saga_id, std::move(reason)));
  settle();
}

void World::retry(const std::string& saga_id) {
  served(orchestrator_, orchestrator_.retry(saga_id));
  settle();
}

void World::advance(Duration d) {
  const auto target = clock_.now() + d;
  for (;;) {
    auto due = store_.due_timers(target, 1);
    if (due.empty()) break;
    if (due.front().due > clock_.now()) clock_.set(due.front().due);
    settle();
  }
  clock_.set(target);
  settle();
}

std::optional<Timestamp> World::next_timer() {
  auto due = store_.due_timers(kNotStarted - Duration{1}, 1);
  if (due.empty()) return std::nullopt;
  return due.front().due;
}

bool World::advance_to_next_timer() {
  auto next = next_timer();
  if (!next) return false;
  advance(std::max(Duration{0}, *next - clock_.now()));
  return true;
}

void World::fail_next(const std::string& command_type, int times, const std::string& code) {
  for (int i = 0; i < times; ++i) faults_[command_type].push_back(code);
}

void World::drop_next(const std::string& command_type, int times) {
  for (int i = 0; i < times; ++i) faults_[command_type].push_back({});
}

void World::lose_reply_of_next(const std::string& command_type) {
  lose_reply_[command_type] += 1;
}

void World::duplicate(const std::string& command_type) {
  duplicated_.push_back(command_type);
}

void World::deliver(Message message) {
  transport_.deliver(std::move(message));
}

void World::settle() {
  for (int round = 0; round < kMaxSettleRounds; ++round) {
    orchestrator_.run_once(std::chrono::milliseconds(0));
    if (!carry()) return;
  }
  throw WorldError("the flow did not settle after 10000 rounds");
}

SagaRow World::saga(const std::string& id) {
  auto row = store_.load(id);
  if (!row) throw WorldError("no saga " + id);
  return *row;
}

json::value World::result(const std::string& id, std::string_view step) {
  return step_result(saga(id), step);
}

std::vector<HistoryRow> World::history(const std::string& id) {
  return store_.history(id);
}

std::vector<std::string> World::commands(const std::string& id) const {
  return messages(id, MessageKind::command, false);
}

std::vector<std::string> World::compensations(const std::string& id) const {
  return messages(id, MessageKind::command, true);
}

std::vector<std::string> World::events(const std::string& id) const {
  return messages(id, MessageKind::event, false);
}

// Delivers what the orchestrator published since the last call; returns whether anything was.
bool World::carry() {
  if (carried_ == transport_.published.size()) return false;
  std::vector<Message> batch(transport_.published.begin() + static_cast<long>(carried_),
                             transport_.published.end());
  carried_ = transport_.published.size();
  for (const auto& m : batch) {
    sent_.push_back(m);
    if (m.kind == MessageKind::event) {
      for (auto& observer : subscribers_[m.type]) observer(m);
      if (listened(m.type)) transport_.deliver(m);  // as a broker binding would route it
      continue;
    }
    if (m.kind == MessageKind::command) carry_command(m);
  }
  return true;
}

void World::carry_command(const Message& m) {
  auto fault = faults_.find(m.type);
  if (fault != faults_.end() && !fault->second.empty()) {
    auto code = fault->second.front();
    fault->second.pop_front();
    if (!code.empty()) {
      transport_.deliver(worker::make_reply(m, worker::Result::technical_error(std::move(code))));
    }
    return;
  }
  auto service = services_.find(m.destination);
  const Participant* participant = service != services_.end() ? &service->second : &others_;
  if (!*participant) throw WorldError("no participant serves " + m.destination);
  auto reply = (*participant)(m);
  if (std::find(duplicated_.begin(), duplicated_.end(), m.type) != duplicated_.end()) {
    if (auto again = (*participant)(m)) transport_.deliver(std::move(*again));
  }
  if (auto lost = lose_reply_.find(m.type); lost != lose_reply_.end() && lost->second > 0) {
    --lost->second;
    return;
  }
  if (reply) transport_.deliver(std::move(*reply));
}

bool World::listened(const std::string& type) const {
  for (const auto& plan : flows_.all()) {
    const auto& events = plan->listened_events();
    if (std::find(events.begin(), events.end(), type) != events.end()) return true;
  }
  return false;
}

std::vector<std::string> World::messages(const std::string& id, MessageKind kind, bool undo) const {
  std::vector<std::string> out;
  for (const auto& m : sent_) {
    if (m.correlation_id != id || m.kind != kind) continue;
    if (kind == MessageKind::command && is_compensation(m) != undo) continue;
    out.push_back(m.type);
  }
  return out;
}

}  // namespace sagaflow::simulation
