// The probe: rabbitmq-c used plainly and synchronously (see probe.hpp). Publishing waits for the
// confirm on the same channel before anything else is asked, so frames never interleave.
#include "sagaflow/rabbitmq/probe.hpp"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <thread>

#include "codec.hpp"

namespace sagaflow::rabbitmq {
namespace {

using detail::bytes;
using detail::to_string;
using Clock = std::chrono::steady_clock;

constexpr amqp_channel_t kChannel = 1;
constexpr auto kPollInterval = std::chrono::milliseconds(20);

std::string describe_reply(const amqp_rpc_reply_t& r) {
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) return amqp_error_string2(r.library_error);
  if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
    if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      const auto* m = static_cast<const amqp_channel_close_t*>(r.reply.decoded);
      return "channel closed by the broker: " + std::to_string(m->reply_code) + " " +
             to_string(m->reply_text);
    }
    if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      const auto* m = static_cast<const amqp_connection_close_t*>(r.reply.decoded);
      return "connection closed by the broker: " + std::to_string(m->reply_code) + " " +
             to_string(m->reply_text);
    }
  }
  return "no answer from the broker";
}

std::optional<std::int64_t> integer_of(const amqp_field_value_t& v) {
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
      return static_cast<std::int64_t>(v.value.u64);
    default:
      return std::nullopt;
  }
}

ProbeMessage read(const amqp_basic_properties_t& p, amqp_bytes_t body) {
  ProbeMessage m;
  auto text = [&](amqp_flags_t flag, amqp_bytes_t value) -> std::optional<std::string> {
    if ((p._flags & flag) == 0) return std::nullopt;
    return to_string(value);
  };
  m.message_id = text(AMQP_BASIC_MESSAGE_ID_FLAG, p.message_id);
  m.type = text(AMQP_BASIC_TYPE_FLAG, p.type);
  m.correlation_id = text(AMQP_BASIC_CORRELATION_ID_FLAG, p.correlation_id);
  m.reply_to = text(AMQP_BASIC_REPLY_TO_FLAG, p.reply_to);
  m.content_type = text(AMQP_BASIC_CONTENT_TYPE_FLAG, p.content_type);
  if ((p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) != 0) m.delivery_mode = p.delivery_mode;
  if ((p._flags & AMQP_BASIC_HEADERS_FLAG) != 0) {
    for (int i = 0; i < p.headers.num_entries; ++i) {
      const auto& e = p.headers.entries[i];
      ProbeHeader h{.name = to_string(e.key)};
      if (e.value.kind == AMQP_FIELD_KIND_UTF8 || e.value.kind == AMQP_FIELD_KIND_BYTES) {
        h.text = to_string(e.value.value.bytes);
      } else if (auto n = integer_of(e.value)) {
        h.kind = ProbeHeader::Kind::integer;
        h.number = *n;
      } else {
        h.kind = ProbeHeader::Kind::other;
      }
      m.headers.push_back(std::move(h));
    }
  }
  m.body = to_string(body);
  return m;
}

}  // namespace

const ProbeHeader* ProbeMessage::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

std::optional<std::string> ProbeMessage::text(std::string_view name) const {
  const auto* h = header(name);
  if (h == nullptr || h->kind != ProbeHeader::Kind::string) return std::nullopt;
  return h->text;
}

struct Probe::Impl {
  Topology topology;
  amqp_connection_state_t conn = nullptr;
  std::string reply_queue;
  std::string dead_queue;

  ~Impl() {
    if (conn == nullptr) return;
    amqp_channel_close(conn, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
  }

  void check(const std::string& what) {
    auto reply = amqp_get_rpc_reply(conn);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
      throw Error(what + ": " + describe_reply(reply));
    }
  }

  std::string declare_private_queue() {
    auto* ok = amqp_queue_declare(conn, kChannel, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
    check("declaring a queue of the probe");
    return to_string(ok->queue);
  }

  std::optional<ProbeMessage> get(const std::string& queue, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      amqp_maybe_release_buffers(conn);
      auto reply = amqp_basic_get(conn, kChannel, bytes(queue), 1);
      if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        throw Error("reading queue '" + queue + "': " + describe_reply(reply));
      }
      if (reply.reply.id == AMQP_BASIC_GET_OK_METHOD) {
        amqp_message_t message;
        auto read_reply = amqp_read_message(conn, kChannel, &message, 0);
        if (read_reply.reply_type != AMQP_RESPONSE_NORMAL) {
          throw Error("reading a message: " + describe_reply(read_reply));
        }
        auto result = read(message.properties, message.body);
        amqp_destroy_message(&message);
        return result;
      }
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(kPollInterval);
    }
  }
};

Probe::Probe(const ConnectionSettings& c, Topology topology) : impl_(std::make_unique<Impl>()) {
  impl_->topology = std::move(topology);
  auto& conn = impl_->conn;
  conn = amqp_new_connection();
  if (conn == nullptr) throw Error("out of memory");
  amqp_socket_t* socket = nullptr;
  if (c.tls.enabled) {
    socket = amqp_ssl_socket_new(conn);
    if (socket == nullptr) throw Error("cannot create a TLS socket");
    if (!c.tls.ca_file.empty() && amqp_ssl_socket_set_cacert(socket, c.tls.ca_file.c_str()) != 0) {
      throw Error("cannot use CA file '" + c.tls.ca_file + "'");
    }
    amqp_ssl_socket_set_verify_peer(socket, c.tls.verify_peer ? 1 : 0);
    amqp_ssl_socket_set_verify_hostname(socket, c.tls.verify_hostname ? 1 : 0);
  } else {
    socket = amqp_tcp_socket_new(conn);
    if (socket == nullptr) throw Error("cannot create a socket");
  }
  const auto ms = c.connect_timeout.count();
  timeval timeout{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  amqp_set_handshake_timeout(conn, &timeout);
  amqp_set_rpc_timeout(conn, &timeout);
  if (int rc = amqp_socket_open_noblock(socket, c.host.c_str(), c.port, &timeout); rc != 0) {
    throw Error("cannot connect to " + c.redacted_url() + ": " + amqp_error_string2(rc));
  }
  // No heartbeats: the probe reads synchronously and lives for seconds.
  auto login = amqp_login(conn, c.vhost.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
                          c.user.c_str(), c.password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    throw Error("login to " + c.redacted_url() + " failed: " + describe_reply(login));
  }
  amqp_channel_open(conn, kChannel);
  impl_->check("opening a channel");
  amqp_confirm_select(conn, kChannel);
  impl_->check("enabling publisher confirms");
  const auto& t = impl_->topology;
  for (auto [name, type] :
       {std::pair{t.commands_exchange(), "topic"}, std::pair{t.dead_exchange(), "fanout"}}) {
    amqp_exchange_declare(conn, kChannel, bytes(name), amqp_cstring_bytes(type), 0, 1, 0, 0,
                          amqp_empty_table);
    impl_->check("declaring exchange '" + name + "'");
  }
  impl_->reply_queue = impl_->declare_private_queue();
  impl_->dead_queue = impl_->declare_private_queue();
  const std::string dead = t.dead_exchange();
  amqp_queue_bind(conn, kChannel, bytes(impl_->dead_queue), bytes(dead), amqp_empty_bytes,
                  amqp_empty_table);
  impl_->check("binding the probe's queue to '" + dead + "'");
}

Probe::~Probe() = default;

const std::string& Probe::reply_queue() const {
  return impl_->reply_queue;
}

void Probe::send_command(std::string_view service, const ProbeMessage& m,
                         std::chrono::milliseconds timeout) {
  amqp_basic_properties_t p{};
  auto set = [&](amqp_flags_t flag, amqp_bytes_t& field, const std::optional<std::string>& v) {
    if (!v) return;
    p._flags |= flag;
    field = bytes(*v);
  };
  set(AMQP_BASIC_MESSAGE_ID_FLAG, p.message_id, m.message_id);
  set(AMQP_BASIC_TYPE_FLAG, p.type, m.type);
  set(AMQP_BASIC_CORRELATION_ID_FLAG, p.correlation_id, m.correlation_id);
  set(AMQP_BASIC_REPLY_TO_FLAG, p.reply_to, m.reply_to);
  set(AMQP_BASIC_CONTENT_TYPE_FLAG, p.content_type, m.content_type);
  if (m.delivery_mode) {
    p._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
    p.delivery_mode = static_cast<std::uint8_t>(*m.delivery_mode);
  }
  std::vector<amqp_table_entry_t> entries;
  for (const auto& h : m.headers) {
    amqp_table_entry_t e{};
    e.key = bytes(h.name);
    if (h.kind == ProbeHeader::Kind::integer) {
      e.value.kind = AMQP_FIELD_KIND_I64;
      e.value.value.i64 = h.number;
    } else {
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = bytes(h.text);
    }
    entries.push_back(e);
  }
  p._flags |= AMQP_BASIC_HEADERS_FLAG;
  p.headers = amqp_table_t{static_cast<int>(entries.size()), entries.data()};

  auto* conn = impl_->conn;
  const std::string exchange = impl_->topology.commands_exchange();
  if (int rc = amqp_basic_publish(conn, kChannel, bytes(exchange), bytes(service), 1, 0, &p,
                                  bytes(m.body));
      rc != AMQP_STATUS_OK) {
    throw Error(std::string("publishing a command: ") + amqp_error_string2(rc));
  }
  bool returned = false;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw Error("no confirm from the broker within the timeout");
    timeval tv{static_cast<time_t>(left.count() / 1000),
               static_cast<suseconds_t>((left.count() % 1000) * 1000)};
    amqp_frame_t frame;
    int rc = amqp_simple_wait_frame_noblock(conn, &frame, &tv);
    if (rc == AMQP_STATUS_TIMEOUT) continue;
    if (rc != AMQP_STATUS_OK)
      throw Error(std::string("waiting for a confirm: ") + amqp_error_string2(rc));
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_RETURN_METHOD: {
        returned = true;
        amqp_message_t message;
        auto reply = amqp_read_message(conn, frame.channel, &message, 0);
        if (reply.reply_type == AMQP_RESPONSE_NORMAL) amqp_destroy_message(&message);
        break;
      }
      case AMQP_BASIC_ACK_METHOD:
        if (returned) {
          throw Error("the command was returned: no queue is bound to '" + exchange +
                      "' with routing key '" + std::string(service) + "'");
        }
        return;
      case AMQP_BASIC_NACK_METHOD:
        throw Error("the broker refused the command (basic.nack)");
      case AMQP_CHANNEL_CLOSE_METHOD:
        throw Error("the broker closed the channel");
      default:
        break;
    }
  }
}

std::optional<ProbeMessage> Probe::next_reply(std::chrono::milliseconds timeout) {
  return impl_->get(impl_->reply_queue, timeout);
}

std::optional<ProbeMessage> Probe::next_dead_letter(std::chrono::milliseconds timeout) {
  return impl_->get(impl_->dead_queue, timeout);
}

}  // namespace sagaflow::rabbitmq
