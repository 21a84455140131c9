#pragma once
// The envelope every transport carries. Adapters map these fields to their wire (AMQP
// properties and headers, see docs/protocol.md); the engine never sees a wire format.
#include <cstdint>
#include <string>

namespace sagaflow {

enum class MessageKind : std::uint8_t { command, reply, event };

enum class ReplyOutcome : std::uint8_t {
  success,
  business_failure,  // a rule said no (e.g. InsufficientPoints): never retried
  technical_error,   // something broke: retried by the step's policy
};

struct Message {
  std::string id;  // message_id; for commands deterministic: saga/activity/kind/attempt
  MessageKind kind = MessageKind::command;
  std::string type;             // "points.reserve", or an event name ("payment.succeeded")
  std::string destination;      // commands: the service; replies: the reply_to of the command
  std::string correlation_id;   // the saga id
  std::string reply_to;         // commands: where the reply goes
  std::string causation_id;     // replies: the message_id of the command answered
  std::string idempotency_key;  // commands: stable across attempts, so workers apply once
  ReplyOutcome outcome = ReplyOutcome::success;  // replies
  std::string error_code;                        // replies that failed
  std::string flow;
  std::string step;
  std::uint32_t attempt = 0;
  std::string traceparent;  // W3C trace context, carried unchanged
  std::string body;         // JSON text
};

inline const char* to_string(MessageKind kind) {
  switch (kind) {
    case MessageKind::command:
      return "command";
    case MessageKind::reply:
      return "reply";
    case MessageKind::event:
      return "event";
  }
  return "unknown";
}

inline const char* to_string(ReplyOutcome outcome) {
  switch (outcome) {
    case ReplyOutcome::success:
      return "success";
    case ReplyOutcome::business_failure:
      return "business_failure";
    case ReplyOutcome::technical_error:
      return "technical_error";
  }
  return "unknown";
}

}  // namespace sagaflow
