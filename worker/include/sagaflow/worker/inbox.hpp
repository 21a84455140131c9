#pragma once
// A transactional inbox: a service applies each command once by committing, in one
// transaction of its own database, the handler's writes, the command's idempotency key and the
// reply it will answer; only then is the reply published and the command acknowledged. A crash
// anywhere between those steps leaves either nothing (the command comes again and runs) or the
// committed row (the command comes again and is answered the same reply, without running).
//
// Group commit: commands are applied in groups (the deliveries available, up to a bound), all in
// one transaction, each in its own SAVEPOINT: a handler that throws or answers a technical error
// rolls back its own savepoint only, and is not remembered (its retry runs the handler again).
// Successes and business failures are remembered alike (docs/protocol.md, section 6).
//
// Schema (created on first use, migrations versioned in sagaflow_inbox_schema):
//   sagaflow_inbox(scope, idempotency_key, command_id, command_type, outcome, error_code, body,
//                  applied_at)   PRIMARY KEY (scope, idempotency_key)
// `scope` separates the keys of several dispatchers (services) sharing one database.
//
// Threading: one group at a time per Database (its mutex); several Inboxes may share one.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/engine/message.hpp"
#include "sagaflow/worker/sql.hpp"

namespace sagaflow::worker {

// The steps of one group, named for fault injection (crash drills and tests): each is called
// once its step is done, before the next starts. The transports add "published" (replies
// handed to the broker), "confirmed" (the broker confirmed them) and "acknowledged".
namespace inbox_point {
inline constexpr std::string_view handled = "handled";            // a handler returned
inline constexpr std::string_view released = "released";          // its savepoint was released
inline constexpr std::string_view committed = "committed";        // the group's transaction
inline constexpr std::string_view published = "published";        // replies sent
inline constexpr std::string_view confirmed = "confirmed";        // replies confirmed
inline constexpr std::string_view acknowledged = "acknowledged";  // commands acked
}  // namespace inbox_point

using FaultPoint = std::function<void(std::string_view point)>;

struct InboxOptions {
  // Separates the idempotency keys of dispatchers sharing one database (e.g. the service name).
  std::string scope;
  // Testing and drills only: called at each inbox_point of the group; it may throw or _exit.
  FaultPoint fault_point;
};

// The remembered answer to a command: what the reply carried.
struct RememberedReply {
  ReplyOutcome outcome = ReplyOutcome::success;
  std::string error_code;
  std::string body;  // JSON text
};

class Inbox {
 public:
  // What applying one command gave: the reply, and whether it is an answer to remember (a
  // technical error is not: its savepoint is rolled back).
  struct Applied {
    Message reply;
    bool remember = false;
  };
  // Runs a command's handler inside its savepoint, on the open transaction.
  using Apply = std::function<Applied(const Message& command, Sql& transaction)>;
  // The reply to a command answered before, addressed to this delivery.
  using Reanswer = std::function<Message(const Message& command, RememberedReply remembered)>;

  explicit Inbox(std::shared_ptr<Database> database, InboxOptions options = {});

  // Applies a group of commands in one transaction and returns their replies, in order. A
  // command whose key is remembered (committed before, or earlier in this group) is answered by
  // `reanswer` without running. Throws when the transaction cannot begin or commit: then
  // nothing of the group is committed (or its fate is unknown) and no reply may be sent.
  std::vector<Message> apply(std::span<const Message> commands, const Apply& apply,
                             const Reanswer& reanswer);

  // The remembered reply for a key, read in its own transaction (tests, tools).
  std::optional<RememberedReply> find(std::string_view idempotency_key);

  const InboxOptions& options() const { return options_; }

 private:
  void ensure_schema();  // under the database's mutex: creates or migrates the tables on first use
  void migrate(Sql& sql);  // in the transaction ensure_schema() opens
  void fault(std::string_view point) const;

  std::shared_ptr<Database> database_;
  InboxOptions options_;
  bool migrated_ = false;  // under the database's mutex
};

// The idempotency key a command is remembered under: its own, or for a command sent without
// one its message id (deduplicated at least against redeliveries of the same message).
const std::string& idempotency_key_of(const Message& command);

}  // namespace sagaflow::worker
