#pragma once
// Flows run deterministically, without any service: the real orchestrator and engine over the
// in-memory store and a recording transport (engine/testing), participants that are plain
// functions, and a manual clock. `settle()` carries every command to its participant and every
// reply back until nothing moves; `advance()` moves time, stopping at each timer on the way.
//
// Used by the flows' end-to-end tests (tests/flows/flow_world.hpp adds the real participants),
// `sagactl test` (scripted participants) and `sagactl simulate` (generated ones).
//
// Failures are injected per command type (`fail_next`, `drop_next`, `lose_reply_of_next`,
// `duplicate`), the way a broker or a participant would fail, never by changing what the
// participant decides. Threading: one thread.
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/plan.hpp"
#include "sagaflow/testing/fake_transport.hpp"
#include "sagaflow/testing/manual_clock.hpp"
#include "sagaflow/testing/memory_store.hpp"

namespace sagaflow::simulation {

// What a participant answers to a command: its reply, or nothing (the reply never comes).
using Participant = std::function<std::optional<Message>(const Message& command)>;

// The world could not go on: a command nobody serves, a flow that never settles.
class WorldError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class World {
 public:
  World();
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  std::shared_ptr<const Plan> add_flow(std::shared_ptr<const flow::Flow> flow);

  // Commands whose destination is `service` go to `participant`.
  void serve(const std::string& service, Participant participant);
  // Commands of a service that has no participant of its own go here (none by default: such a
  // command throws WorldError).
  void serve_others(Participant participant);

  // Calls `observer` for every event a saga publishes of that type (a subscriber such as bi).
  void subscribe(const std::string& event_type, std::function<void(const Message&)> observer);

  // Starts a saga and settles; returns its id (`saga_id` when given, else a random one).
  // Throws what the orchestrator's start throws (InvalidInput, Refused...).
  std::string start(const std::string& flow, json::value input, std::string idempotency_key = {},
                    std::string saga_id = {});

  // An outside event (e.g. payment.succeeded from the payments service) reaching the engine.
  void publish_event(const std::string& type, json::value payload, std::string id = {});

  // Operator requests, then settle. Throw what the orchestrator refuses with.
  void cancel(const std::string& saga_id, std::string reason);
  void retry(const std::string& saga_id);

  // Moves time forward (timeouts, retry backoff) and lets everything that is due happen.
  // Time stops at each timer that comes due on the way, as it would in a running daemon: a
  // retry's backoff scheduled by an earlier timer still fires within the same `advance`.
  void advance(Duration d);
  // The earliest timer that will come due (attempt timers not started never do); none when
  // nothing is scheduled.
  std::optional<Timestamp> next_timer();
  // Jumps to the next timer and lets it fire; false when there is none.
  bool advance_to_next_timer();

  // The next command of this type is answered with a technical error (the participant crashed
  // or a dependency was down); the participant itself never sees it.
  void fail_next(const std::string& command_type, int times = 1,
                 const std::string& code = "Unavailable");
  // The next command of this type is lost on the way (no reply ever comes; the step times out).
  void drop_next(const std::string& command_type, int times = 1);
  // The next command of this type reaches the participant and is applied, but its reply is lost.
  void lose_reply_of_next(const std::string& command_type);
  // Every command of this type is delivered twice (a broker redelivery).
  void duplicate(const std::string& command_type);
  // Hands a message to the orchestrator as the broker would (a late reply, a redelivery).
  void deliver(Message message);

  // Carries messages until nothing moves: commands to participants, replies and events back.
  // Throws WorldError after 10,000 rounds.
  void settle();

  // Throws WorldError for an unknown saga.
  SagaRow saga(const std::string& id);
  std::string status(const std::string& id) { return saga(id).status; }
  json::value result(const std::string& id, std::string_view step);
  std::vector<HistoryRow> history(const std::string& id);

  // Command types the saga sent going forward (first attempts and retries), in order.
  std::vector<std::string> commands(const std::string& id) const;
  // Compensation command types the saga sent, in order.
  std::vector<std::string> compensations(const std::string& id) const;
  // Event types the saga published, in order.
  std::vector<std::string> events(const std::string& id) const;
  // Every message the sagas published (commands, compensations, events), as sent, in order.
  const std::vector<Message>& sent() const { return sent_; }
  const std::vector<std::pair<Message, std::string>>& dead_letters() const {
    return transport_.dead_letters;
  }

  testing::ManualClock& clock() { return clock_; }
  Orchestrator& orchestrator() { return orchestrator_; }

 private:
  bool carry();
  void carry_command(const Message& command);
  bool listened(const std::string& type) const;
  std::vector<std::string> messages(const std::string& id, MessageKind kind, bool undo) const;

  FlowRegistry flows_;
  testing::MemoryStore store_;
  testing::FakeTransport transport_;
  testing::ManualClock clock_;
  Orchestrator orchestrator_;
  std::map<std::string, Participant, std::less<>> services_;
  Participant others_;
  std::map<std::string, std::vector<std::function<void(const Message&)>>> subscribers_;
  std::map<std::string, std::deque<std::string>> faults_;
  std::map<std::string, int> lose_reply_;
  std::vector<std::string> duplicated_;
  std::vector<Message> sent_;
  std::size_t carried_ = 0;
  int outside_events_ = 0;
};

// The id `sagactl test` and `sagactl simulate` give their sagas, so that what depends on it
// (`$saga.id`, the retries' jitter) is the same in every run.
inline constexpr std::string_view kSimulatedSagaId = "00000000000000000000000000000001";

// Whether a command message is a compensation (its id is `saga/activity/undo/attempt`).
bool is_compensation(const Message& command);

}  // namespace sagaflow::simulation
