#pragma once
// The transport-agnostic heart of a worker: handlers registered per command type, turning a
// command message into its reply. Transports (adapters/inproc, adapters/rabbitmq) feed it.
//
// A command is applied at most once in effect: the reply to a command that succeeded or failed
// for a business reason is remembered under the command's idempotency key (stable across the
// saga's retries) and answered again without calling the handler. A technical error is not
// remembered, so the retry runs the handler again.
//
// Where replies are remembered: an InMemoryDedupStore (the default; forgotten at exit), or a
// transactional Inbox (inbox.hpp) in the service's own database, where the handler's writes, the
// key and the reply commit together, in groups (handle_batch).
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <span>
#include <vector>

#include "sagaflow/engine/message.hpp"
#include "sagaflow/json.hpp"
#include "sagaflow/worker/inbox.hpp"
#include "sagaflow/worker/sql.hpp"

namespace sagaflow::worker {

struct Command {
  const Message& message;  // the envelope: saga id, step, attempt, idempotency key...
  json::value payload;     // the parsed body
  // On a transactional inbox: the open transaction of the service's database, inside this
  // command's savepoint. The handler writes its effect here, so that it commits with the
  // remembered reply (or not at all). Null with an in-memory dedup store.
  Sql* transaction = nullptr;
};

struct Result {
  ReplyOutcome outcome = ReplyOutcome::success;
  std::string error_code;
  json::value payload;

  static Result ok(json::value payload = json::object{}) {
    return {ReplyOutcome::success, {}, std::move(payload)};
  }
  static Result business_failure(std::string code, json::value payload = json::object{}) {
    return {ReplyOutcome::business_failure, std::move(code), std::move(payload)};
  }
  static Result technical_error(std::string code, json::value payload = json::object{}) {
    return {ReplyOutcome::technical_error, std::move(code), std::move(payload)};
  }
};

using Handler = std::function<Result(const Command&)>;

// Remembers replies by idempotency key. Implementations must be safe to call from the
// dispatcher's threads.
class DedupStore {
 public:
  virtual ~DedupStore() = default;
  virtual std::optional<Message> find(std::string_view idempotency_key) = 0;
  virtual void remember(std::string_view idempotency_key, const Message& reply) = 0;
};

class InMemoryDedupStore final : public DedupStore {
 public:
  std::optional<Message> find(std::string_view idempotency_key) override;
  void remember(std::string_view idempotency_key, const Message& reply) override;

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, Message> replies_;
};

class Dispatcher {
 public:
  // Without a dedup store, an in-memory one is used.
  explicit Dispatcher(std::shared_ptr<DedupStore> dedup = nullptr);
  // Replies remembered in the service's database, committed with the handlers' writes.
  explicit Dispatcher(std::shared_ptr<Inbox> inbox);

  void on(std::string command_type, Handler handler);
  bool handles(std::string_view command_type) const;
  // The command types handled, sorted.
  std::vector<std::string> command_types() const;

  // The reply to `command`. An unknown command type or a body that is not JSON is answered with
  // a business failure ("UnknownCommand", "MalformedPayload"); a handler that throws is a
  // technical error carrying the exception's message.
  // Safe to call from several threads: two deliveries of one command (a redelivery racing its
  // original, or a command published twice after a lost confirm) never run the handler twice;
  // the second waits for the first and answers with its remembered reply.
  Message handle(const Message& command);

  // The replies to a group of commands, in order. On an Inbox: one transaction, each handler in
  // its own savepoint, one commit (see inbox.hpp); throws when the transaction cannot commit,
  // and then no reply may be sent (redelivery decides). Otherwise: handle() for each.
  std::vector<Message> handle_batch(std::span<const Message> commands);

  // Whether replies are committed in the service's database (handle_batch groups them).
  bool transactional() const { return inbox_ != nullptr; }

 private:
  Message run(const Message& command, const std::string& key);
  // Runs the command's handler (or refuses it: unknown type, malformed body).
  Inbox::Applied apply(const Message& command, Sql* transaction) const;

  std::shared_ptr<DedupStore> dedup_;
  std::shared_ptr<Inbox> inbox_;
  std::unordered_map<std::string, Handler> handlers_;
  // Idempotency keys whose handler runs now; shared so that a Dispatcher stays movable.
  struct Running {
    std::mutex mutex;
    std::condition_variable finished;
    std::unordered_set<std::string> keys;
  };
  std::shared_ptr<Running> running_ = std::make_shared<Running>();
};

// The reply envelope for `command` with the given result: message id "<command id>/reply", so
// that a duplicated reply is recognised as one.
Message make_reply(const Message& command, const Result& result);
// The reply to a command answered before: the remembered outcome and payload, addressed to this
// delivery (a retry has another command id and attempt, and the orchestrator matches on those).
Message make_reply(const Message& command, RememberedReply remembered);

}  // namespace sagaflow::worker
