// Writes the seeds of the rabbitmq_codec fuzz target: the envelopes of docs/protocol.md §11
// (command, replies, compensation, events, a dead letter), encoded by the codec and rabbitmq-c
// as the link publishes them, framed as rabbitmq_codec.cpp reads them. Usage: FOLDER.
#include <amqp.h>
#include <amqp_framing.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "codec.hpp"

namespace {

namespace rmq = sagaflow::rabbitmq::detail;
using sagaflow::Message;
using sagaflow::MessageKind;
using sagaflow::ReplyOutcome;

constexpr std::string_view kSaga = "0f3c5a9e1b2d4c6a8e7f9a1b3c5d7e9f";
constexpr std::string_view kTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

struct Seed {
  std::string name;
  Message message;
  std::string routing_key;
  rmq::ExtraHeaders extra;
};

Message command(std::string step, std::string type, std::string kind, std::uint32_t attempt,
                std::string body) {
  const std::string saga(kSaga);
  Message m;
  m.kind = MessageKind::command;
  m.id = saga + "/" + step + "/" + kind + "/" + std::to_string(attempt);
  m.type = std::move(type);
  m.correlation_id = saga;
  m.reply_to = "sagaflow.replies";
  m.flow = "offer_purchase";
  m.step = std::move(step);
  m.attempt = attempt;
  m.idempotency_key = saga + "/" + m.step + "/" + kind;
  m.traceparent = kTrace;
  m.body = std::move(body);
  return m;
}

Message reply_to(const Message& command, ReplyOutcome outcome, std::string error_code,
                 std::string body) {
  Message m = command;
  m.kind = MessageKind::reply;
  m.id = command.id + "/reply";
  m.reply_to.clear();
  m.causation_id = command.id;
  m.outcome = outcome;
  m.error_code = std::move(error_code);
  m.body = std::move(body);
  return m;
}

std::vector<Seed> seeds() {
  const auto reserve = command("reserve_points", "points.reserve", "do", 1,
                               R"({"user_id":"alice","amount":300,"order_id":"ord-1"})");
  const auto debit = command("debit_points", "points.debit", "do", 2, R"({"amount":300})");
  const auto release =
      command("reserve_points", "points.release", "undo", 1, R"({"order_id":"ord-1"})");

  Message outside;
  outside.kind = MessageKind::event;
  outside.id = "payment.succeeded/pay-42";
  outside.type = "payment.succeeded";
  outside.body = R"({"payment_id":"pay-42","order_id":"ord-9","amount":1200})";

  Message published;
  published.kind = MessageKind::event;
  published.id = std::string(kSaga) + "/points_debited/event";
  published.type = "points.debited";
  published.correlation_id = kSaga;
  published.flow = "offer_purchase";
  published.step = "points_debited";
  published.traceparent = kTrace;
  published.body = R"({"user_id":"alice","order_id":"ord-1","amount":300})";

  Message no_reply_to = reserve;
  no_reply_to.reply_to.clear();

  return {
      {"command", reserve, "points", {}},
      {"reply_success",
       reply_to(reserve, ReplyOutcome::success, "", R"({"reservation_id":"res-7"})"),
       "sagaflow.replies",
       {}},
      {"reply_business_failure",
       reply_to(reserve, ReplyOutcome::business_failure, "InsufficientPoints", "{}"),
       "sagaflow.replies",
       {}},
      {"reply_technical_error",
       reply_to(debit, ReplyOutcome::technical_error, "DatabaseDown",
                R"({"error":"connection refused"})"),
       "sagaflow.replies",
       {}},
      {"command_retry", debit, "points", {}},
      {"compensation", release, "points", {}},
      {"compensation_reply",
       reply_to(release, ReplyOutcome::success, "", R"({"done":false})"),
       "sagaflow.replies",
       {}},
      {"event_outside", outside, "payment.succeeded", {}},
      {"event_of_saga", published, "points.debited", {}},
      {"dead_letter",
       no_reply_to,
       "sagaflow.commands.points",
       {{"x-sagaflow-reason", "command has no reply_to: nowhere to send the reply"},
        {"x-sagaflow-queue", "sagaflow.commands.points"}}},
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " FOLDER\n";
    return 2;
  }
  const std::filesystem::path folder = argv[1];
  std::filesystem::create_directories(folder);
  for (const auto& seed : seeds()) {
    rmq::EncodedProperties encoded;
    rmq::encode(seed.message, seed.extra, encoded);
    std::vector<char> properties(64 * 1024);
    const int size = amqp_encode_properties(AMQP_BASIC_CLASS, &encoded.properties,
                                            amqp_bytes_t{properties.size(), properties.data()});
    if (size < 0 || size > 0xffff || seed.routing_key.size() > 0xff) {
      std::cerr << "cannot encode " << seed.name << "\n";
      return 1;
    }
    std::ofstream out(folder / seed.name, std::ios::binary);
    out.put(static_cast<char>(size >> 8)).put(static_cast<char>(size & 0xff));
    out.write(properties.data(), size);
    out.put(static_cast<char>(seed.routing_key.size()));
    out << seed.routing_key << seed.message.body;
  }
  std::cout << "wrote " << seeds().size() << " seeds to " << folder.string() << "\n";
  return 0;
}
