#include "sagaflow/worker/dispatcher.hpp"

#include <exception>
#include <utility>

namespace sagaflow::worker {

std::optional<Message> InMemoryDedupStore::find(std::string_view idempotency_key) {
  std::lock_guard lock(mutex_);
  // Heterogeneous lookup needs a transparent hash; a temporary string keeps this simple and the
  // map private.
  auto it = replies_.find(std::string(idempotency_key));
  if (it == replies_.end()) return std::nullopt;
  return it->second;
}

void InMemoryDedupStore::remember(std::string_view idempotency_key, const Message& reply) {
  std::lock_guard lock(mutex_);
  replies_.insert_or_assign(std::string(idempotency_key), reply);
}

Message make_reply(const Message& command, const Result& result) {
  Message reply;
  reply.id = command.id + "/reply";
  reply.kind = MessageKind::reply;
  reply.type = command.type;
  reply.destination = command.reply_to;
  reply.correlation_id = command.correlation_id;
  reply.causation_id = command.id;
  reply.idempotency_key = command.idempotency_key;
  reply.outcome = result.outcome;
  reply.error_code = result.error_code;
  reply.flow = command.flow;
  reply.step = command.step;
  reply.attempt = command.attempt;
  reply.traceparent = command.traceparent;
  reply.body = json::serialize(result.payload);
  return reply;
}

Dispatcher::Dispatcher(std::shared_ptr<DedupStore> dedup)
    : dedup_(dedup ? std::move(dedup) : std::make_shared<InMemoryDedupStore>()) {}

void Dispatcher::on(std::string command_type, Handler handler) {
  handlers_.insert_or_assign(std::move(command_type), std::move(handler));
}

bool Dispatcher::handles(std::string_view command_type) const {
  return handlers_.find(std::string(command_type)) != handlers_.end();
}

Message Dispatcher::handle(const Message& command) {
  // The idempotency key is stable across the saga's retries of one step; a command sent
  // without one is at least deduplicated against redeliveries of the same message.
  const std::string& key = command.idempotency_key.empty() ? command.id : command.idempotency_key;
  Running& running = *running_;
  {
    std::unique_lock lock(running.mutex);
    running.finished.wait(lock, [&] { return !running.keys.contains(key); });
    running.keys.insert(key);
  }
  struct Finish {
    Running& running;
    const std::string& key;
    ~Finish() {
      {
        std::lock_guard lock(running.mutex);
        running.keys.erase(key);
      }
      running.finished.notify_all();
    }
  } finish{running, key};
  return run(command, key);
}

Message Dispatcher::run(const Message& command, const std::string& key) {
  if (auto remembered = dedup_->find(key)) {
    // Answer again with the remembered outcome and payload, but addressed to this delivery: a
    // retry has another command id and attempt, and the orchestrator matches on those.
    Result result{remembered->outcome, remembered->error_code, {}};
    Message reply = make_reply(command, result);
    reply.body = std::move(remembered->body);
    return reply;
  }

  auto it = handlers_.find(command.type);
  if (it == handlers_.end()) {
    // Not remembered: a handler registered later (a deployment) may serve the retry.
    return make_reply(command, Result::business_failure("UnknownCommand"));
  }

  boost::system::error_code ec;
  json::value payload =
      json::parse(command.body.empty() ? std::string_view("{}") : command.body, ec);
  if (ec) {
    return make_reply(command, Result::business_failure("MalformedPayload",
                                                        json::object{{"error", ec.message()}}));
  }

  Result result;
  try {
    result = it->second(Command{command, std::move(payload)});
  } catch (const std::exception& e) {
    result = Result::technical_error("HandlerException", json::object{{"error", e.what()}});
  } catch (...) {
    result =
        Result::technical_error("HandlerException", json::object{{"error", "unknown exception"}});
  }

  Message reply = make_reply(command, result);
  // A technical error is not an answer: the retry must run the handler again.
  if (result.outcome != ReplyOutcome::technical_error) dedup_->remember(key, reply);
  return reply;
}

}  // namespace sagaflow::worker
