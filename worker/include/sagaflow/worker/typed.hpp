#pragma once
// Typed contracts: a command's payload and its reply as C++ structs, mapped to and from the
// JSON body by cereal (each struct has a `serialize` naming its fields with CEREAL_NVP). The
// wire stays JSON, so a participant in another language sees the same messages.
//
//   struct Reserve { std::string user_id; std::int64_t amount = 0;
//                    template <class A> void serialize(A& a) { a(CEREAL_NVP(user_id),
//                    CEREAL_NVP(amount)); } };
//   worker::on<Reserve, Reserved>(dispatcher, "points.reserve",
//       [&](const Reserve& r, const Message&) -> worker::Outcome<Reserved> { ... });
//
// Use std::int64_t for integers: cereal writes `long long` as a JSON string. Every field named
// is required; cereal's std::optional is not plain JSON ({"nullopt": ...}), so contracts avoid it.
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include <cereal/archives/json.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::worker {

// What a typed handler answers: its reply, or a failure with a code (a business failure is
// never retried; a technical error is, by the step's retry policy).
template <class Reply>
class Outcome {
 public:
  Outcome(Reply reply) : value_(std::move(reply)) {}  // NOLINT: a reply is an outcome
  static Outcome business_failure(std::string code) {
    return Outcome(Failure{ReplyOutcome::business_failure, std::move(code)});
  }
  static Outcome technical_error(std::string code) {
    return Outcome(Failure{ReplyOutcome::technical_error, std::move(code)});
  }

  bool ok() const { return std::holds_alternative<Reply>(value_); }
  const Reply& reply() const { return std::get<Reply>(value_); }
  ReplyOutcome failure_kind() const { return std::get<Failure>(value_).kind; }
  const std::string& error_code() const { return std::get<Failure>(value_).code; }

 private:
  struct Failure {
    ReplyOutcome kind;
    std::string code;
  };
  explicit Outcome(Failure f) : value_(std::move(f)) {}
  std::variant<Reply, Failure> value_;
};

// A payload that does not fit the contract (a field missing or of the wrong type).
class ContractError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class T>
T from_json_text(std::string_view text) {
  T value{};
  try {
    std::istringstream in{std::string(text)};
    cereal::JSONInputArchive archive(in);
    value.serialize(archive);
  } catch (const cereal::Exception& e) {
    throw ContractError(e.what());
  }
  return value;
}

template <class T>
std::string to_json_text(const T& value) {
  std::ostringstream out;
  {
    cereal::JSONOutputArchive archive(out, cereal::JSONOutputArchive::Options::NoIndent());
    const_cast<T&>(value).serialize(archive);  // cereal's serialize is one non-const function
  }
  return out.str();
}

// Registers a typed handler. A payload that does not fit `Command` is answered with the
// business failure "MalformedPayload" (retrying cannot mend it) and the reason. The handler
// takes (const Command&, const Message&), or (const Command&, const worker::Command&) when it
// writes through the inbox's open transaction (worker::Command::transaction).
template <class Command, class Reply, class Handler>
void on(Dispatcher& dispatcher, std::string command_type, Handler handler) {
  dispatcher.on(std::move(command_type), [handler = std::move(handler)](const worker::Command& c) {
    Command command;
    try {
      command = from_json_text<Command>(c.message.body);
    } catch (const ContractError& e) {
      return Result::business_failure("MalformedPayload", json::object{{"error", e.what()}});
    }
    Outcome<Reply> outcome = [&] {
      if constexpr (std::is_invocable_v<const Handler&, const Command&, const worker::Command&>) {
        return handler(command, c);
      } else {
        return handler(command, c.message);
      }
    }();
    if (!outcome.ok()) {
      return Result{outcome.failure_kind(), outcome.error_code(), json::object{}};
    }
    return Result::ok(json::parse(to_json_text(outcome.reply())));
  });
}

}  // namespace sagaflow::worker
