#pragma once
// Why a message was given up on, as a code from a small fixed set (a metric label, a header a
// program can switch on), beside the human-readable detail; and the seam through which whoever
// makes a dead letter (a transport, for the orchestrator or on its own) reports it, so that the
// daemon counts and logs every one without the adapters knowing its metrics or its log.
// docs/protocol.md §9 lists which reason gets which code.
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace sagaflow {

enum class DeadLetterCode : std::uint8_t {
  malformed_envelope,  // a property or header the protocol requires is missing or wrong
  not_json,            // the body (or an event's payload that starts a saga) is not JSON
  oversized,           // the body is over the transport's size limit
  wrong_kind,          // a kind this queue does not take (a reply in a command queue...)
  no_reply_to,         // a command that names no queue for its reply
  unroutable,          // nowhere to deliver it (a reply returned, a service nobody serves)
  unknown_saga,        // a reply whose saga does not exist
  unmatched_event,     // an outside event no saga waits for and no flow starts with
  load_failed,         // its saga could not be read from the store
  processing_failed,   // the engine threw on it; the saga is untouched
  start_refused,       // an event that starts a saga whose start was refused (bad input)
  delivery_limit,      // returned to a classic queue more often than the topology's limit
};

inline constexpr std::array kDeadLetterCodes = {
    DeadLetterCode::malformed_envelope, DeadLetterCode::not_json,
    DeadLetterCode::oversized,          DeadLetterCode::wrong_kind,
    DeadLetterCode::no_reply_to,        DeadLetterCode::unroutable,
    DeadLetterCode::unknown_saga,       DeadLetterCode::unmatched_event,
    DeadLetterCode::load_failed,        DeadLetterCode::processing_failed,
    DeadLetterCode::start_refused,      DeadLetterCode::delivery_limit,
};
// Every code once, in the enum's order: a code's value indexes tables of counts.
static_assert([] {
  for (std::size_t i = 0; i < kDeadLetterCodes.size(); ++i) {
    if (static_cast<std::size_t>(kDeadLetterCodes[i]) != i) return false;
  }
  return static_cast<std::size_t>(DeadLetterCode::delivery_limit) + 1 == kDeadLetterCodes.size();
}());

inline const char* to_string(DeadLetterCode code) {
  switch (code) {
    case DeadLetterCode::malformed_envelope:
      return "malformed_envelope";
    case DeadLetterCode::not_json:
      return "not_json";
    case DeadLetterCode::oversized:
      return "oversized";
    case DeadLetterCode::wrong_kind:
      return "wrong_kind";
    case DeadLetterCode::no_reply_to:
      return "no_reply_to";
    case DeadLetterCode::unroutable:
      return "unroutable";
    case DeadLetterCode::unknown_saga:
      return "unknown_saga";
    case DeadLetterCode::unmatched_event:
      return "unmatched_event";
    case DeadLetterCode::load_failed:
      return "load_failed";
    case DeadLetterCode::processing_failed:
      return "processing_failed";
    case DeadLetterCode::start_refused:
      return "start_refused";
    case DeadLetterCode::delivery_limit:
      return "delivery_limit";
  }
  return "unknown";
}

// What is told of one dead letter. Never the body. The views live only during the call, and
// `detail`, `queue` and `message_id` may hold text from the message itself: escape it before it
// reaches a terminal or a log.
struct DeadLetterNotice {
  DeadLetterCode code = DeadLetterCode::malformed_envelope;
  std::string_view detail;      // the human-readable reason (x-sagaflow-reason)
  std::string_view queue;       // where the message came from
  std::string_view message_id;  // empty when the message had none
};

// Called once per message dead-lettered, on the thread that made the dead letter (a
// transport's I/O thread, the orchestrator's): an implementation must be thread-safe and quick.
class DeadLetterObserver {
 public:
  virtual ~DeadLetterObserver() = default;
  virtual void dead_lettered(const DeadLetterNotice& notice) = 0;
};

// Several observers behind one seam (the daemon's metrics and its log), called in order.
class DeadLetterObservers final : public DeadLetterObserver {
 public:
  DeadLetterObservers(std::initializer_list<DeadLetterObserver*> observers)
      : observers_(observers) {}
  void dead_lettered(const DeadLetterNotice& notice) override {
    for (auto* observer : observers_) observer->dead_lettered(notice);
  }

 private:
  std::vector<DeadLetterObserver*> observers_;
};

}  // namespace sagaflow
