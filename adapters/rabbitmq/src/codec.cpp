#include "codec.hpp"

#include <cstdint>
#include <limits>
#include <span>

#include "sagaflow/json.hpp"

namespace sagaflow::rabbitmq::detail {

namespace {

constexpr std::string_view kJson = "application/json";

// Header names: docs/protocol.md lists them; a worker in another language reads these.
constexpr std::string_view kKind = "sagaflow-kind";
constexpr std::string_view kFlow = "flow";
constexpr std::string_view kStep = "step";
constexpr std::string_view kAttempt = "attempt";
constexpr std::string_view kIdempotencyKey = "idempotency-key";
constexpr std::string_view kCausationId = "causation-id";
constexpr std::string_view kOutcome = "outcome";
constexpr std::string_view kErrorCode = "error-code";
constexpr std::string_view kTraceparent = "traceparent";

amqp_table_entry_t string_entry(std::string_view key, std::string_view value) {
  amqp_table_entry_t e{};
  e.key = bytes(key);
  e.value.kind = AMQP_FIELD_KIND_UTF8;
  e.value.value.bytes = bytes(value);
  return e;
}

bool equals(amqp_bytes_t b, std::string_view s) {
  return b.len == s.size() &&
         (s.empty() || std::string_view(static_cast<const char*>(b.bytes), b.len) == s);
}

const amqp_field_value_t* find(const amqp_basic_properties_t& p, std::string_view key) {
  if (!(p._flags & AMQP_BASIC_HEADERS_FLAG)) return nullptr;
  for (int i = 0; i < p.headers.num_entries; ++i) {
    if (equals(p.headers.entries[i].key, key)) return &p.headers.entries[i].value;
  }
  return nullptr;
}

std::optional<Undecodable> malformed(std::string detail) {
  return Undecodable{DeadLetterCode::malformed_envelope, std::move(detail)};
}

// Absent is empty; a present header must be a string (long string or byte array).
std::optional<Undecodable> string_header(const amqp_basic_properties_t& p, std::string_view key,
                                         std::string& out) {
  const auto* v = find(p, key);
  if (v == nullptr) return std::nullopt;
  if (v->kind != AMQP_FIELD_KIND_UTF8 && v->kind != AMQP_FIELD_KIND_BYTES) {
    return malformed("header '" + std::string(key) + "' is not a string");
  }
  out = to_string(v->value.bytes);
  return std::nullopt;
}

std::optional<std::int64_t> integer(const amqp_field_value_t& v) {
  switch (v.kind) {
    case AMQP_FIELD_KIND_I8:
      return v.value.i8;
    case AMQP_FIELD_KIND_U8:
      return v.value.u8;
    case AMQP_FIELD_KIND_I16:
      return v.value.i16;
    case AMQP_FIELD_KIND_U16:
      return v.value.u16;
    case AMQP_FIELD_KIND_I32:
      return v.value.i32;
    case AMQP_FIELD_KIND_U32:
      return v.value.u32;
    case AMQP_FIELD_KIND_I64:
      return v.value.i64;
    case AMQP_FIELD_KIND_U64:
      if (v.value.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return std::nullopt;
      }
      return static_cast<std::int64_t>(v.value.u64);
    default:
      return std::nullopt;
  }
}

std::optional<std::string> property(const amqp_basic_properties_t& p, amqp_flags_t flag,
                                    amqp_bytes_t value) {
  if (!(p._flags & flag)) return std::nullopt;
  return to_string(value);
}

}  // namespace

void encode(const Message& m, const ExtraHeaders& extra, EncodedProperties& out) {
  auto& p = out.properties;
  p = amqp_basic_properties_t{};
  p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
             AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_HEADERS_FLAG;
  p.content_type = bytes(kJson);
  p.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  p.message_id = bytes(m.id);
  p.type = bytes(m.type);
  if (!m.correlation_id.empty()) {
    p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
    p.correlation_id = bytes(m.correlation_id);
  }
  if (!m.reply_to.empty()) {
    p._flags |= AMQP_BASIC_REPLY_TO_FLAG;
    p.reply_to = bytes(m.reply_to);
  }

  auto& h = out.headers;
  h.clear();
  h.push_back(string_entry(kKind, to_string(m.kind)));
  amqp_table_entry_t attempt{};
  attempt.key = bytes(kAttempt);
  attempt.value.kind = AMQP_FIELD_KIND_I64;
  attempt.value.value.i64 = m.attempt;
  h.push_back(attempt);
  auto optional = [&](std::string_view key, const std::string& value) {
    if (!value.empty()) h.push_back(string_entry(key, value));
  };
  optional(kFlow, m.flow);
  optional(kStep, m.step);
  optional(kIdempotencyKey, m.idempotency_key);
  optional(kCausationId, m.causation_id);
  if (m.kind == MessageKind::reply) h.push_back(string_entry(kOutcome, to_string(m.outcome)));
  optional(kErrorCode, m.error_code);
  optional(kTraceparent, m.traceparent);
  for (const auto& [key, value] : extra) h.push_back(string_entry(key, value));
  p.headers.num_entries = static_cast<int>(h.size());
  p.headers.entries = h.data();
}

std::optional<Undecodable> decode(const amqp_basic_properties_t& p, amqp_bytes_t body,
                                  std::string_view routing_key, Message& m) {
  auto id = property(p, AMQP_BASIC_MESSAGE_ID_FLAG, p.message_id);
  if (!id || id->empty()) return malformed("no message_id");
  m.id = std::move(*id);
  if (auto type = property(p, AMQP_BASIC_CONTENT_TYPE_FLAG, p.content_type);
      type && *type != kJson) {
    return malformed("content_type is '" + *type + "', not application/json");
  }

  std::string kind;
  if (auto error = string_header(p, kKind, kind)) return error;
  if (kind == "command") {
    m.kind = MessageKind::command;
  } else if (kind == "reply") {
    m.kind = MessageKind::reply;
  } else if (kind == "event") {
    m.kind = MessageKind::event;
  } else if (kind.empty()) {
    return malformed("no sagaflow-kind header");
  } else {
    return malformed("unknown sagaflow-kind '" + kind + "'");
  }

  m.type = property(p, AMQP_BASIC_TYPE_FLAG, p.type).value_or("");
  if (m.type.empty()) return malformed("no type");
  m.correlation_id = property(p, AMQP_BASIC_CORRELATION_ID_FLAG, p.correlation_id).value_or("");
  m.reply_to = property(p, AMQP_BASIC_REPLY_TO_FLAG, p.reply_to).value_or("");
  // Events are routed by type; their destination does not travel.
  m.destination = m.kind == MessageKind::event ? std::string() : std::string(routing_key);

  for (auto [key, field] :
       {std::pair{kFlow, &m.flow}, std::pair{kStep, &m.step},
        std::pair{kIdempotencyKey, &m.idempotency_key}, std::pair{kCausationId, &m.causation_id},
        std::pair{kErrorCode, &m.error_code}, std::pair{kTraceparent, &m.traceparent}}) {
    if (auto error = string_header(p, key, *field)) return error;
  }

  m.attempt = 0;
  if (const auto* v = find(p, kAttempt)) {
    auto n = integer(*v);
    if (!n || *n < 0 || *n > std::numeric_limits<std::uint32_t>::max()) {
      return malformed("header 'attempt' is not an integer from 0 to 2^32-1");
    }
    m.attempt = static_cast<std::uint32_t>(*n);
  }

  std::string outcome;
  if (auto error = string_header(p, kOutcome, outcome)) return error;
  if (outcome.empty() || outcome == "success") {
    m.outcome = ReplyOutcome::success;
  } else if (outcome == "business_failure") {
    m.outcome = ReplyOutcome::business_failure;
  } else if (outcome == "technical_error") {
    m.outcome = ReplyOutcome::technical_error;
  } else {
    return malformed("unknown outcome '" + outcome + "'");
  }

  m.body = to_string(body);
  boost::system::error_code ec;
  json::parse(m.body, ec);
  if (ec) return Undecodable{DeadLetterCode::not_json, "body is not JSON: " + ec.message()};
  return std::nullopt;
}

namespace {

// The original's properties, its headers but those named in `replaced`, delivery_mode 2 and no
// expiration: a copy the adapter publishes in the original's place lasts until it is consumed.
void copy_properties(const amqp_basic_properties_t& original,
                     std::span<const std::string_view> replaced, EncodedProperties& out) {
  out.properties = original;
  auto& h = out.headers;
  h.clear();
  if (original._flags & AMQP_BASIC_HEADERS_FLAG) {
    for (int i = 0; i < original.headers.num_entries; ++i) {
      const auto& e = original.headers.entries[i];
      bool drop = false;
      for (auto key : replaced) drop = drop || equals(e.key, key);
      if (!drop) h.push_back(e);
    }
  }
  out.properties._flags |= AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  out.properties._flags &= ~AMQP_BASIC_EXPIRATION_FLAG;
  out.properties.delivery_mode = AMQP_DELIVERY_PERSISTENT;
}

void point_at_headers(EncodedProperties& out) {
  out.properties.headers.num_entries = static_cast<int>(out.headers.size());
  out.properties.headers.entries = out.headers.data();
}

}  // namespace

void dead_letter_properties(const amqp_basic_properties_t& original, const ExtraHeaders& extra,
                            EncodedProperties& out) {
  std::vector<std::string_view> replaced;
  for (const auto& [key, value] : extra) replaced.push_back(key);
  copy_properties(original, replaced, out);
  for (const auto& [key, value] : extra) out.headers.push_back(string_entry(key, value));
  point_at_headers(out);
}

std::uint32_t returns_counted(const amqp_basic_properties_t& p) {
  const auto* v = find(p, kReturnsHeader);
  if (v == nullptr) return 0;
  auto n = integer(*v);
  if (!n || *n < 0 || *n > std::numeric_limits<std::uint32_t>::max()) return 0;
  return static_cast<std::uint32_t>(*n);
}

void returned_properties(const amqp_basic_properties_t& original, std::uint32_t returns,
                         EncodedProperties& out) {
  const std::string_view replaced[] = {kReturnsHeader};
  copy_properties(original, replaced, out);
  amqp_table_entry_t count{};
  count.key = bytes(kReturnsHeader);
  count.value.kind = AMQP_FIELD_KIND_I64;
  count.value.value.i64 = returns;
  out.headers.push_back(count);
  point_at_headers(out);
}

ReceivedProperties::ReceivedProperties(amqp_message_t& message)
    : properties_(message.properties), pool_(message.pool), owned_(true) {
  message.properties = amqp_basic_properties_t{};
  message.pool = amqp_pool_t{};
}

ReceivedProperties::~ReceivedProperties() {
  release();
}

ReceivedProperties::ReceivedProperties(ReceivedProperties&& other) noexcept
    : properties_(other.properties_), pool_(other.pool_), owned_(other.owned_) {
  other.owned_ = false;
}

ReceivedProperties& ReceivedProperties::operator=(ReceivedProperties&& other) noexcept {
  if (this != &other) {
    release();
    properties_ = other.properties_;
    pool_ = other.pool_;
    owned_ = other.owned_;
    other.owned_ = false;
  }
  return *this;
}

void ReceivedProperties::release() {
  if (owned_) empty_amqp_pool(&pool_);
  owned_ = false;
  properties_ = amqp_basic_properties_t{};
}

}  // namespace sagaflow::rabbitmq::detail
