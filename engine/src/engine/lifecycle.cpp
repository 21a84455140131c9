// The only translation unit that includes Boost.MSM: the machine is slow to compile and its type
// cannot be forward-declared, so it stays behind Lifecycle.
// The transition table has more rows than Boost.MPL's preprocessed default of 20.
#define BOOST_MPL_CFG_NO_PREPROCESSED_HEADERS
#define BOOST_MPL_LIMIT_VECTOR_SIZE 40
#define BOOST_MPL_LIMIT_MAP_SIZE 30

#include "sagaflow/engine/lifecycle.hpp"

#include <array>
#include <new>

#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/functor_row.hpp>
#include <boost/msm/front/state_machine_def.hpp>

namespace sagaflow {
namespace {

namespace msmf = boost::msm::front;
using msmf::none;
using msmf::Row;

// ---------------------------------------------------------------------------------------------
// Events. Those that need a decision carry the facts the guards read.
struct Start {};
struct AwaitEvents {};
struct Resume {};
struct Finish {};
struct Fail {
  bool past_pivot;
};
struct Cancel {
  bool past_pivot;
};
struct Compensated {
  bool cancel_requested;
};
struct Stuck {};
struct Undo {};
struct OperatorRetry {
  bool parked_in_compensation;
};
// An operator pauses a saga, or a start arrives for a paused flow (from pending); resuming
// returns to the status it was paused in.
struct Pause {};
struct Unpause {
  Status to;
};
// Reading a saga back from the store: the machine resumes in the status it was saved with.
struct Restore {
  Status status;
};

// ---------------------------------------------------------------------------------------------
// Guards.
struct PastPivot {
  template <class Event, class Fsm, class Source, class Target>
  bool operator()(const Event& e, Fsm&, Source&, Target&) const {
    return e.past_pivot;
  }
};
struct BeforePivot {
  template <class Event, class Fsm, class Source, class Target>
  bool operator()(const Event& e, Fsm&, Source&, Target&) const {
    return !e.past_pivot;
  }
};
struct CancelRequested {
  template <class Fsm, class Source, class Target>
  bool operator()(const Compensated& e, Fsm&, Source&, Target&) const {
    return e.cancel_requested;
  }
};
struct NoCancelRequested {
  template <class Fsm, class Source, class Target>
  bool operator()(const Compensated& e, Fsm&, Source&, Target&) const {
    return !e.cancel_requested;
  }
};
struct ParkedInCompensation {
  template <class Fsm, class Source, class Target>
  bool operator()(const OperatorRetry& e, Fsm&, Source&, Target&) const {
    return e.parked_in_compensation;
  }
};
struct ParkedGoingForward {
  template <class Fsm, class Source, class Target>
  bool operator()(const OperatorRetry& e, Fsm&, Source&, Target&) const {
    return !e.parked_in_compensation;
  }
};
template <Status S>
struct BackTo {
  template <class Fsm, class Source, class Target>
  bool operator()(const Unpause& e, Fsm&, Source&, Target&) const {
    return e.to == S;
  }
};
template <Status S>
struct Was {
  template <class Fsm, class Source, class Target>
  bool operator()(const Restore& e, Fsm&, Source&, Target&) const {
    return e.status == S;
  }
};

// ---------------------------------------------------------------------------------------------
// States.
struct Pending : msmf::state<> {};
struct Running : msmf::state<> {};
struct Waiting : msmf::state<> {};
struct Compensating : msmf::state<> {};
struct Completed : msmf::state<> {};
struct CompensatedState : msmf::state<> {};
struct Failed : msmf::state<> {};
struct Cancelled : msmf::state<> {};
struct Paused : msmf::state<> {};

struct LifecycleDef : msmf::state_machine_def<LifecycleDef> {
  using initial_state = Pending;

  // clang-format off
  struct transition_table : boost::mpl::vector<
    //    Source        Event          Target            Action Guard
    Row < Pending,      Start,         Running,          none,  none                 >,
    Row < Pending,      Cancel,        Cancelled,        none,  none                 >,
    Row < Running,      AwaitEvents,   Waiting,          none,  none                 >,
    Row < Waiting,      Resume,        Running,          none,  none                 >,
    Row < Running,      Finish,        Completed,        none,  none                 >,
    Row < Running,      Fail,          Compensating,     none,  BeforePivot          >,
    Row < Running,      Fail,          Failed,           none,  PastPivot            >,
    Row < Waiting,      Fail,          Compensating,     none,  BeforePivot          >,
    Row < Waiting,      Fail,          Failed,           none,  PastPivot            >,
    Row < Running,      Cancel,        Compensating,     none,  BeforePivot          >,
    Row < Waiting,      Cancel,        Compensating,     none,  BeforePivot          >,
    Row < Completed,    Undo,          Compensating,     none,  none                 >,
    Row < Compensating, Compensated,   CompensatedState, none,  NoCancelRequested    >,
    Row < Compensating, Compensated,   Cancelled,        none,  CancelRequested      >,
    Row < Compensating, Stuck,         Failed,           none,  none                 >,
    Row < Failed,       OperatorRetry, Compensating,     none,  ParkedInCompensation >,
    Row < Failed,       OperatorRetry, Running,          none,  ParkedGoingForward   >,
    Row < Pending,      Pause,         Paused,           none,  none                 >,
    Row < Running,      Pause,         Paused,           none,  none                 >,
    Row < Waiting,      Pause,         Paused,           none,  none                 >,
    Row < Compensating, Pause,         Paused,           none,  none                 >,
    Row < Paused,       Unpause,       Pending,          none,  BackTo<Status::pending>      >,
    Row < Paused,       Unpause,       Running,          none,  BackTo<Status::running>      >,
    Row < Paused,       Unpause,       Waiting,          none,  BackTo<Status::waiting>      >,
    Row < Paused,       Unpause,       Compensating,     none,  BackTo<Status::compensating> >,
    // A saga read back from the store resumes where it was.
    Row < Pending,      Restore,       Running,          none,  Was<Status::running>      >,
    Row < Pending,      Restore,       Waiting,          none,  Was<Status::waiting>      >,
    Row < Pending,      Restore,       Compensating,     none,  Was<Status::compensating> >,
    Row < Pending,      Restore,       Completed,        none,  Was<Status::completed>    >,
    Row < Pending,      Restore,       CompensatedState, none,  Was<Status::compensated>  >,
    Row < Pending,      Restore,       Failed,           none,  Was<Status::failed>       >,
    Row < Pending,      Restore,       Cancelled,        none,  Was<Status::cancelled>    >,
    Row < Pending,      Restore,       Paused,           none,  Was<Status::paused>       >
  > {};
  // clang-format on

  // An illegal request is an answer ("refused"), not an error: process_event says so and the
  // caller reports it. (MSM's default here asserts.)
  template <class Fsm, class Event>
  void no_transition(const Event&, Fsm&, int) {}
};

using LifecycleMachine = boost::msm::back::state_machine<LifecycleDef>;

// MSM numbers states by their first appearance in the transition table; map its ids to Status.
template <class State>
constexpr int state_id = boost::msm::back::get_state_id<LifecycleMachine::stt, State>::value;

constexpr std::array<Status, 9> status_by_state_id() {
  std::array<Status, 9> table{};
  table[state_id<Pending>] = Status::pending;
  table[state_id<Running>] = Status::running;
  table[state_id<Waiting>] = Status::waiting;
  table[state_id<Compensating>] = Status::compensating;
  table[state_id<Completed>] = Status::completed;
  table[state_id<CompensatedState>] = Status::compensated;
  table[state_id<Failed>] = Status::failed;
  table[state_id<Cancelled>] = Status::cancelled;
  table[state_id<Paused>] = Status::paused;
  return table;
}
constexpr std::array<Status, 9> kStatusByStateId = status_by_state_id();

}  // namespace

struct Lifecycle::Machine : LifecycleMachine {};

namespace {

// True when a transition was taken; false when no row matched or every guard said no.
template <class Event>
bool fire(LifecycleMachine& m, const Event& e) {
  return m.process_event(e) == boost::msm::back::HANDLED_TRUE;
}

}  // namespace

Lifecycle::Lifecycle(Status status) {
  static_assert(sizeof(Machine) <= sizeof(storage_), "grow Lifecycle::storage_");
  auto* m = new (storage_) Machine();
  m->start();
  if (status != Status::pending) fire<Restore>(*m, Restore{status});
}

Lifecycle::~Lifecycle() {
  machine().~Machine();
}

Lifecycle::Machine& Lifecycle::machine() {
  return *std::launder(reinterpret_cast<Machine*>(storage_));
}
const Lifecycle::Machine& Lifecycle::machine() const {
  return *std::launder(reinterpret_cast<const Machine*>(storage_));
}

Status Lifecycle::status() const {
  return kStatusByStateId.at(machine().current_state()[0]);
}

bool Lifecycle::start() {
  return fire(machine(), Start{});
}
bool Lifecycle::await_events() {
  return fire(machine(), AwaitEvents{});
}
bool Lifecycle::resume() {
  return fire(machine(), Resume{});
}
bool Lifecycle::finish() {
  return fire(machine(), Finish{});
}
bool Lifecycle::fail(bool past_pivot) {
  return fire(machine(), Fail{past_pivot});
}
bool Lifecycle::cancel(bool past_pivot) {
  return fire(machine(), Cancel{past_pivot});
}
bool Lifecycle::compensated(bool cancel_requested) {
  return fire(machine(), Compensated{cancel_requested});
}
bool Lifecycle::undo() {
  return fire(machine(), Undo{});
}
bool Lifecycle::stuck() {
  return fire(machine(), Stuck{});
}
bool Lifecycle::operator_retry(bool parked_in_compensation) {
  return fire(machine(), OperatorRetry{parked_in_compensation});
}
bool Lifecycle::pause() {
  return fire(machine(), Pause{});
}
bool Lifecycle::unpause(Status to) {
  return fire(machine(), Unpause{to});
}

// ---------------------------------------------------------------------------------------------
namespace {
constexpr std::array<const char*, 9> kStatusNames = {"pending",      "running",   "waiting",
                                                     "compensating", "completed", "compensated",
                                                     "failed",       "cancelled", "paused"};
}

const char* to_string(Status status) {
  return kStatusNames.at(static_cast<std::size_t>(status));
}

std::optional<Status> status_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
    if (name == kStatusNames[i]) return static_cast<Status>(i);
  }
  return std::nullopt;
}

bool is_final(Status status) {
  return status == Status::completed || status == Status::compensated ||
         status == Status::cancelled;
}

}  // namespace sagaflow
