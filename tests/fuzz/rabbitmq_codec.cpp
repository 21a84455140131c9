// Fuzz target: the RabbitMQ envelope codec (adapters/rabbitmq/src/codec.hpp) on what a broker
// delivers. An input is framed as
//   u16 (big-endian) n | n bytes: basic properties as in a content header frame (flags, then the
//   fields) | u8 r | r bytes: routing key | the rest: the body
// (make_codec_seeds.cpp writes real envelopes so). rabbitmq-c decodes the properties as the
// link does; then the codec must refuse the message with a reason or decode it into an envelope
// that encodes back to itself, and a dead letter of it must still encode.
#include <amqp.h>
#include <amqp_framing.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "codec.hpp"

namespace {

namespace rmq = sagaflow::rabbitmq::detail;
using sagaflow::Message;
using sagaflow::MessageKind;

void check(bool holds) {
  if (!holds) std::abort();  // a broken promise of the codec: libFuzzer keeps the input
}

// The encoded properties, or an empty vector when rabbitmq-c cannot encode them.
std::vector<char> encode_properties(amqp_basic_properties_t& properties, std::size_t room) {
  std::vector<char> buffer(room);
  const int size =
      amqp_encode_properties(AMQP_BASIC_CLASS, &properties, amqp_bytes_t{room, buffer.data()});
  if (size < 0) return {};
  buffer.resize(static_cast<std::size_t>(size));
  return buffer;
}

bool same_envelope(const Message& a, const Message& b) {
  return a.id == b.id && a.kind == b.kind && a.type == b.type && a.destination == b.destination &&
         a.correlation_id == b.correlation_id && a.reply_to == b.reply_to &&
         a.causation_id == b.causation_id && a.idempotency_key == b.idempotency_key &&
         // Only a reply carries its outcome; one on another kind means nothing and is not sent.
         (a.kind != MessageKind::reply || a.outcome == b.outcome) && a.error_code == b.error_code &&
         a.flow == b.flow && a.step == b.step && a.attempt == b.attempt &&
         a.traceparent == b.traceparent && a.body == b.body;
}

class Pool {
 public:
  Pool() { init_amqp_pool(&pool_, 4096); }
  ~Pool() { empty_amqp_pool(&pool_); }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  amqp_pool_t* get() { return &pool_; }

 private:
  amqp_pool_t pool_;
};

const amqp_basic_properties_t* decode_properties(Pool& pool, std::string_view encoded) {
  void* decoded = nullptr;
  const int status =
      amqp_decode_properties(AMQP_BASIC_CLASS, pool.get(), rmq::bytes(encoded), &decoded);
  if (status < 0) return nullptr;
  return static_cast<const amqp_basic_properties_t*>(decoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.size() < 2) return 0;
  const std::size_t properties_size = (data[0] << 8) | data[1];
  input.remove_prefix(2);
  if (input.size() < properties_size + 1) return 0;
  const auto encoded = input.substr(0, properties_size);
  input.remove_prefix(properties_size);
  const std::size_t key_size = static_cast<unsigned char>(input[0]);
  input.remove_prefix(1);
  if (input.size() < key_size) return 0;
  const auto routing_key = input.substr(0, key_size);
  const auto body = input.substr(key_size);

  Pool pool;
  const auto* properties = decode_properties(pool, encoded);
  if (properties == nullptr) return 0;  // the broker would not have delivered it

  Message message;
  const auto refusal = rmq::decode(*properties, rmq::bytes(body), routing_key, message);
  if (refusal) {
    check(!refusal->detail.empty());
  } else {
    rmq::EncodedProperties again;
    rmq::encode(message, {}, again);
    const auto reencoded = encode_properties(again.properties, encoded.size() + body.size() + 4096);
    check(!reencoded.empty());
    Pool second_pool;
    const auto* redecoded =
        decode_properties(second_pool, std::string_view(reencoded.data(), reencoded.size()));
    check(redecoded != nullptr);
    Message round_trip;
    check(!rmq::decode(*redecoded, rmq::bytes(body), routing_key, round_trip));
    check(same_envelope(message, round_trip));
  }

  // A dead letter keeps the delivery's properties and adds the reason.
  const std::string detail = refusal ? refusal->detail : std::string("fuzz");
  const rmq::ExtraHeaders reason{
      {"x-sagaflow-reason", detail},
      {"x-sagaflow-queue", std::string(routing_key)},
  };
  rmq::EncodedProperties dead_letter;
  rmq::dead_letter_properties(*properties, reason, dead_letter);
  check(!encode_properties(dead_letter.properties,
                           encoded.size() + detail.size() + routing_key.size() + 4096)
             .empty());
  return 0;
}
