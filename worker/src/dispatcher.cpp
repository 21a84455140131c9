#include "sagaflow/worker/dispatcher.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
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

Message make_reply(const Message& command, RememberedReply remembered) {
  Message reply =
      make_reply(command, Result{remembered.outcome, std::move(remembered.error_code), {}});
  reply.body = std::move(remembered.body);
  return reply;
}

Dispatcher::Dispatcher(std::shared_ptr<DedupStore> dedup)
    : dedup_(dedup ? std::move(dedup) : std::make_shared<InMemoryDedupStore>()) {}

Dispatcher::Dispatcher(std::shared_ptr<Inbox> inbox) : inbox_(std::move(inbox)) {
  if (!inbox_) throw std::invalid_argument("Dispatcher: no inbox");
}

void Dispatcher::on(std::string command_type, Handler handler) {
  handlers_.insert_or_assign(std::move(command_type), std::move(handler));
}

bool Dispatcher::handles(std::string_view command_type) const {
  return handlers_.find(std::string(command_type)) != handlers_.end();
}

std::vector<std::string> Dispatcher::command_types() const {
  std::vector<std::string> types;
  for (const auto& [type, handler] : handlers_) types.push_back(type);
  std::sort(types.begin(), types.end());
  return types;
}

std::vector<Message> Dispatcher::handle_batch(std::span<const Message> commands) {
  if (inbox_) {
    return inbox_->apply(
        commands, [this](const Message& command, Sql& sql) { return apply(command, &sql); },
        [](const Message& command, RememberedReply remembered) {
          return make_reply(command, std::move(remembered));
        });
  }
  std::vector<Message> replies;
  replies.reserve(commands.size());
  for (const Message& command : commands) replies.push_back(handle(command));
  return replies;
}

Message Dispatcher::handle(const Message& command) {
  if (inbox_) return std::move(handle_batch(std::span(&command, 1)).front());
  // The idempotency key is stable across the saga's retries of one step; a command sent
  // without one is at least deduplicated against redeliveries of the same message.
  const std::string& key = idempotency_key_of(command);
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
    return make_reply(command, RememberedReply{remembered->outcome, remembered->error_code,
                                               std::move(remembered->body)});
  }
  Inbox::Applied applied = apply(command, nullptr);
  if (applied.remember) dedup_->remember(key, applied.reply);
  return std::move(applied.reply);
}

Inbox::Applied Dispatcher::apply(const Message& command, Sql* transaction) const {
  auto it = handlers_.find(command.type);
  if (it == handlers_.end()) {
    // Not remembered: a handler registered later (a deployment) may serve the retry.
    return {make_reply(command, Result::business_failure("UnknownCommand")), false};
  }

  boost::system::error_code ec;
  json::value payload =
      json::parse(command.body.empty() ? std::string_view("{}") : command.body, ec);
  if (ec) {
    return {make_reply(command, Result::business_failure("MalformedPayload",
                                                         json::object{{"error", ec.message()}})),
            false};
  }

  Result result;
  try {
    result = it->second(Command{command, std::move(payload), transaction});
  } catch (const std::exception& e) {
    result = Result::technical_error("HandlerException", json::object{{"error", e.what()}});
  } catch (...) {
    result =
        Result::technical_error("HandlerException", json::object{{"error", "unknown exception"}});
  }
  // A technical error is not an answer: the retry must run the handler again.
  const bool remember = result.outcome != ReplyOutcome::technical_error;
  return {make_reply(command, result), remember};
}

}  // namespace sagaflow::worker
