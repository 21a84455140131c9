#pragma once
// What the RabbitMQ integration tests share: the broker's URL (from SAGAFLOW_TEST_AMQP_URL, set
// by tools/test after tools/test-broker start; a missing or unreachable broker fails the test,
// it never skips), a topology of its own per test case (ctest runs them in parallel on one
// broker), and a Probe: a plain rabbitmq-c connection that looks at the broker from outside.
#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "sagaflow/rabbitmq/orchestrator_transport.hpp"
#include "sagaflow/rabbitmq/settings.hpp"
#include "sagaflow/rabbitmq/worker.hpp"
#include "support/process.hpp"

namespace sagaflow::rabbitmq::testing {

using namespace std::chrono_literals;

// A worker's handlers need an io_context that someone runs.
class HandlerThread {
 public:
  HandlerThread() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~HandlerThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

inline std::string broker_url() {
  const char* url = std::getenv("SAGAFLOW_TEST_AMQP_URL");
  if (url == nullptr || *url == '\0') {
    FAIL(
        "SAGAFLOW_TEST_AMQP_URL is not set: run tools/test, or tools/test-broker start and "
        "export SAGAFLOW_TEST_AMQP_URL=$(tools/test-broker url)");
  }
  return url;
}

inline ConnectionSettings connection() {
  auto s = ConnectionSettings::from_url(broker_url());
  s.reconnect_min = 50ms;
  s.reconnect_max = 1000ms;
  return s;
}

inline Topology topology(const std::string& test) {
  return Topology{.prefix = "t." + test};
}

inline std::string str(amqp_bytes_t b) {
  return b.len == 0 ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}
inline amqp_bytes_t raw(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

// Every property set, by name, and every header, as "header <name>", with its AMQP field type:
// `S:text`, `l:42`, `t:1`... (what "unchanged" means for a dead letter).
using Envelope = std::map<std::string, std::string>;

inline Envelope envelope_of(const amqp_basic_properties_t& p) {
  Envelope e;
  const auto text = [&](const char* name, amqp_flags_t flag, amqp_bytes_t value) {
    if (p._flags & flag) e[name] = str(value);
  };
  text("content_type", AMQP_BASIC_CONTENT_TYPE_FLAG, p.content_type);
  text("content_encoding", AMQP_BASIC_CONTENT_ENCODING_FLAG, p.content_encoding);
  text("correlation_id", AMQP_BASIC_CORRELATION_ID_FLAG, p.correlation_id);
  text("reply_to", AMQP_BASIC_REPLY_TO_FLAG, p.reply_to);
  text("expiration", AMQP_BASIC_EXPIRATION_FLAG, p.expiration);
  text("message_id", AMQP_BASIC_MESSAGE_ID_FLAG, p.message_id);
  text("type", AMQP_BASIC_TYPE_FLAG, p.type);
  text("user_id", AMQP_BASIC_USER_ID_FLAG, p.user_id);
  text("app_id", AMQP_BASIC_APP_ID_FLAG, p.app_id);
  text("cluster_id", AMQP_BASIC_CLUSTER_ID_FLAG, p.cluster_id);
  if (p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG)
    e["delivery_mode"] = std::to_string(p.delivery_mode);
  if (p._flags & AMQP_BASIC_PRIORITY_FLAG) e["priority"] = std::to_string(p.priority);
  if (p._flags & AMQP_BASIC_TIMESTAMP_FLAG) e["timestamp"] = std::to_string(p.timestamp);
  if (p._flags & AMQP_BASIC_HEADERS_FLAG) {
    for (int i = 0; i < p.headers.num_entries; ++i) {
      const auto& h = p.headers.entries[i];
      std::string value = std::string(1, static_cast<char>(h.value.kind)) + ":";
      switch (h.value.kind) {
        case AMQP_FIELD_KIND_UTF8:
        case AMQP_FIELD_KIND_BYTES:
          value += str(h.value.value.bytes);
          break;
        case AMQP_FIELD_KIND_I64:
          value += std::to_string(h.value.value.i64);
          break;
        case AMQP_FIELD_KIND_I32:
          value += std::to_string(h.value.value.i32);
          break;
        case AMQP_FIELD_KIND_BOOLEAN:
          value += std::to_string(h.value.value.boolean);
          break;
        default:
          break;  // the kind alone
      }
      e["header " + str(h.key)] = value;
    }
  }
  return e;
}

// A message as the probe saw it.
struct Got {
  std::string routing_key;
  std::string message_id;
  std::string type;
  std::string content_type;
  int delivery_mode = 0;
  std::map<std::string, std::string> headers;  // strings, and integers printed
  Envelope envelope;                           // every property and header
  std::string body;
};

// Raw properties for publishing what Sagaflow never would.
struct RawMessage {
  std::string message_id;
  std::string type;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Headers of other field types, and properties the protocol does not use (empty: unset).
  std::vector<std::pair<std::string, std::int64_t>> integer_headers;
  std::vector<std::pair<std::string, bool>> boolean_headers;
  std::string correlation_id;
  std::string reply_to;
  std::string app_id;
  std::string user_id;  // the broker refuses any but the connection's user
  std::string content_encoding;
  std::string expiration;
  std::optional<std::uint8_t> priority;
  std::optional<std::uint64_t> timestamp;
};

// The properties of `m`, pointing into it and into `headers`: keep both until published.
inline amqp_basic_properties_t properties_of(const RawMessage& m,
                                             std::vector<amqp_table_entry_t>& headers) {
  headers.clear();
  for (const auto& [k, v] : m.headers) {
    amqp_table_entry_t e{};
    e.key = raw(k);
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = raw(v);
    headers.push_back(e);
  }
  for (const auto& [k, v] : m.integer_headers) {
    amqp_table_entry_t e{};
    e.key = raw(k);
    e.value.kind = AMQP_FIELD_KIND_I64;
    e.value.value.i64 = v;
    headers.push_back(e);
  }
  for (const auto& [k, v] : m.boolean_headers) {
    amqp_table_entry_t e{};
    e.key = raw(k);
    e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
    e.value.value.boolean = v ? 1 : 0;
    headers.push_back(e);
  }
  amqp_basic_properties_t p{};
  p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
  p.delivery_mode = 2;
  p.headers = amqp_table_t{static_cast<int>(headers.size()), headers.data()};
  const auto text = [&](const std::string& value, amqp_flags_t flag, amqp_bytes_t& field) {
    if (value.empty()) return;
    p._flags |= flag;
    field = raw(value);
  };
  text(m.message_id, AMQP_BASIC_MESSAGE_ID_FLAG, p.message_id);
  text(m.type, AMQP_BASIC_TYPE_FLAG, p.type);
  text(m.content_type, AMQP_BASIC_CONTENT_TYPE_FLAG, p.content_type);
  text(m.correlation_id, AMQP_BASIC_CORRELATION_ID_FLAG, p.correlation_id);
  text(m.reply_to, AMQP_BASIC_REPLY_TO_FLAG, p.reply_to);
  text(m.app_id, AMQP_BASIC_APP_ID_FLAG, p.app_id);
  text(m.user_id, AMQP_BASIC_USER_ID_FLAG, p.user_id);
  text(m.content_encoding, AMQP_BASIC_CONTENT_ENCODING_FLAG, p.content_encoding);
  text(m.expiration, AMQP_BASIC_EXPIRATION_FLAG, p.expiration);
  if (m.priority) {
    p._flags |= AMQP_BASIC_PRIORITY_FLAG;
    p.priority = *m.priority;
  }
  if (m.timestamp) {
    p._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
    p.timestamp = *m.timestamp;
  }
  return p;
}

// The envelope `m` is published with.
inline Envelope envelope_of(const RawMessage& m) {
  std::vector<amqp_table_entry_t> headers;
  return envelope_of(properties_of(m, headers));
}

class Probe {
 public:
  Probe() {
    auto s = connection();
    conn_ = amqp_new_connection();
    auto* socket = amqp_tcp_socket_new(conn_);
    timeval tv{5, 0};
    int rc = amqp_socket_open_noblock(socket, s.host.c_str(), s.port, &tv);
    if (rc != AMQP_STATUS_OK) {
      FAIL("cannot reach the test broker at " << s.redacted_url() << ": "
                                              << std::string(amqp_error_string2(rc)));
    }
    require(amqp_login(conn_, s.vhost.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, s.user.c_str(),
                       s.password.c_str()),
            "login");
    amqp_channel_open(conn_, 1);
    require(amqp_get_rpc_reply(conn_), "channel.open");
    amqp_confirm_select(conn_, 1);
    require(amqp_get_rpc_reply(conn_), "confirm.select");
  }
  ~Probe() {
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn_);
  }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // Removes everything a test's topology may have left from an earlier run.
  void delete_topology(const Topology& t, const std::vector<std::string>& services,
                       int partitions = 0) {
    std::vector<std::string> queues = {t.reply_queue(), t.orchestrator_events_queue(),
                                       t.dead_letter_queue()};
    for (const auto& s : services) queues.push_back(t.command_queue(s));
    for (int p = 0; p < partitions; ++p) queues.push_back(t.reply_queue(p));
    for (const auto& q : queues) delete_queue(q);
    for (const auto& e : {t.commands_exchange(), t.events_exchange(), t.dead_exchange()}) {
      with_channel([&](amqp_channel_t ch) { amqp_exchange_delete(conn_, ch, raw(e), 0); });
    }
  }

  // Declares on a fresh channel; returns the broker's refusal ("406 ..."), or "" when accepted.
  std::string declare_queue(const std::string& name, bool durable,
                            const std::vector<std::pair<std::string, std::string>>& string_args,
                            std::optional<std::int64_t> delivery_limit) {
    std::vector<amqp_table_entry_t> args;
    for (const auto& [k, v] : string_args) {
      amqp_table_entry_t e{};
      e.key = raw(k);
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = raw(v);
      args.push_back(e);
    }
    if (delivery_limit) {
      amqp_table_entry_t e{};
      e.key = amqp_cstring_bytes("x-delivery-limit");
      e.value.kind = AMQP_FIELD_KIND_I64;
      e.value.value.i64 = *delivery_limit;
      args.push_back(e);
    }
    amqp_table_t table{static_cast<int>(args.size()), args.data()};
    return with_channel([&](amqp_channel_t ch) {
      amqp_queue_declare(conn_, ch, raw(name), 0, durable ? 1 : 0, 0, 0, table);
    });
  }
  std::string declare_exchange(const std::string& name, const std::string& type, bool durable) {
    return with_channel([&](amqp_channel_t ch) {
      amqp_exchange_declare(conn_, ch, raw(name), raw(type), 0, durable ? 1 : 0, 0, 0,
                            amqp_empty_table);
    });
  }

  // Whether the exchange exists (a passive declaration: nothing is created).
  bool exchange_exists(const std::string& name) {
    return with_channel([&](amqp_channel_t ch) {
             amqp_exchange_declare(conn_, ch, raw(name), amqp_cstring_bytes("topic"), 1, 0, 0, 0,
                                   amqp_empty_table);
           })
        .empty();
  }
  void bind(const std::string& queue, const std::string& exchange, const std::string& key) {
    auto error = with_channel([&](amqp_channel_t ch) {
      amqp_queue_bind(conn_, ch, raw(queue), raw(exchange), raw(key), amqp_empty_table);
    });
    REQUIRE_MESSAGE(error.empty(), "binding " << queue << " to " << exchange << ": " << error);
  }
  void delete_queue(const std::string& queue) {
    with_channel([&](amqp_channel_t ch) { amqp_queue_delete(conn_, ch, raw(queue), 0, 0); });
  }

  // Ready messages in the queue (not those delivered and unacknowledged).
  std::uint32_t ready(const std::string& queue) {
    std::uint32_t count = 0;
    auto error = with_channel([&](amqp_channel_t ch) {
      auto* ok = amqp_queue_declare(conn_, ch, raw(queue), 1, 0, 0, 0, amqp_empty_table);
      if (ok != nullptr) count = ok->message_count;
    });
    REQUIRE_MESSAGE(error.empty(), "queue " << queue << ": " << error);
    return count;
  }

  std::optional<Got> get(const std::string& queue) {
    auto reply = amqp_basic_get(conn_, 1, raw(queue), 1);
    require(reply, "basic.get");
    if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) return std::nullopt;
    auto* ok = static_cast<amqp_basic_get_ok_t*>(reply.reply.decoded);
    Got got;
    got.routing_key = str(ok->routing_key);
    amqp_message_t m{};
    require(amqp_read_message(conn_, 1, &m, 0), "read message");
    const auto& p = m.properties;
    if (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) got.message_id = str(p.message_id);
    if (p._flags & AMQP_BASIC_TYPE_FLAG) got.type = str(p.type);
    if (p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) got.content_type = str(p.content_type);
    if (p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) got.delivery_mode = p.delivery_mode;
    if (p._flags & AMQP_BASIC_HEADERS_FLAG) {
      for (int i = 0; i < p.headers.num_entries; ++i) {
        const auto& e = p.headers.entries[i];
        std::string value;
        if (e.value.kind == AMQP_FIELD_KIND_UTF8 || e.value.kind == AMQP_FIELD_KIND_BYTES) {
          value = str(e.value.value.bytes);
        } else if (e.value.kind == AMQP_FIELD_KIND_I64) {
          value = std::to_string(e.value.value.i64);
        } else {
          value = "<kind " + std::to_string(e.value.kind) + ">";
        }
        got.headers[str(e.key)] = value;
      }
    }
    got.envelope = envelope_of(p);
    got.body = str(m.body);
    amqp_destroy_message(&m);
    amqp_maybe_release_buffers(conn_);
    return got;
  }

  // Waits up to `timeout` for a message in the queue.
  std::optional<Got> get_within(const std::string& queue, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (auto got = get(queue)) return got;
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(20ms);
    }
  }

  // Publishes and waits for the broker's confirm.
  void publish(const std::string& exchange, const std::string& routing_key, const RawMessage& m) {
    std::vector<amqp_table_entry_t> headers;
    const auto p = properties_of(m, headers);
    REQUIRE(amqp_basic_publish(conn_, 1, raw(exchange), raw(routing_key), 1, 0, &p, raw(m.body)) ==
            AMQP_STATUS_OK);
    while (true) {
      amqp_frame_t frame{};
      timeval tv{10, 0};
      REQUIRE(amqp_simple_wait_frame_noblock(conn_, &frame, &tv) == AMQP_STATUS_OK);
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      if (frame.payload.method.id == AMQP_BASIC_RETURN_METHOD) FAIL("probe publish returned");
      if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) break;
    }
    amqp_maybe_release_buffers(conn_);
  }

 private:
  void require(const amqp_rpc_reply_t& reply, const char* what) {
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) FAIL("probe: " << what << " failed");
  }

  // Runs `call` on a channel of its own, so that a refusal (which closes the channel) does not
  // affect the rest; returns the refusal's text.
  std::string with_channel(const std::function<void(amqp_channel_t)>& call) {
    const amqp_channel_t ch = next_channel_++;
    amqp_channel_open(conn_, ch);
    require(amqp_get_rpc_reply(conn_), "channel.open");
    call(ch);
    auto reply = amqp_get_rpc_reply(conn_);
    std::string error;
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      auto* m = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
      error = std::to_string(m->reply_code) + " " + str(m->reply_text);
      amqp_channel_close_ok_t close_ok{};
      amqp_send_method(conn_, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
    } else if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
      FAIL("probe: broker call failed on channel " << ch);
    } else {
      amqp_channel_close(conn_, ch, AMQP_REPLY_SUCCESS);
    }
    amqp_maybe_release_buffers(conn_);
    return error;
  }

  amqp_connection_state_t conn_ = nullptr;
  amqp_channel_t next_channel_ = 2;
};

// Removes the test's topology before and after the test.
class Scratch {
 public:
  Scratch(const std::string& test, std::vector<std::string> services, int partitions = 0)
      : topology_(testing::topology(test)),
        services_(std::move(services)),
        partitions_(partitions) {
    probe_.delete_topology(topology_, services_, partitions_);
  }
  ~Scratch() { probe_.delete_topology(topology_, services_, partitions_); }
  const Topology& topology() const { return topology_; }
  Probe& probe() { return probe_; }

 private:
  Probe probe_;
  Topology topology_;
  std::vector<std::string> services_;
  int partitions_ = 0;  // reply queues of partitions 0 .. partitions_ - 1
};

// The names of the broker's queues that start with `prefix`, as `rabbitmqctl list_queues` tells
// (through tools/test-broker ctl): what exists, whoever declared it. A broker that is not the
// test broker fails the test.
inline std::set<std::string> queues_named(const std::string& prefix) {
  // The data folder comes from the environment tools/test-broker was started with
  // (SAGAFLOW_BUILD_DIR, SAGAFLOW_TEST_BROKER_DIR), the node's name from the URL's port.
  const std::string command = "SAGAFLOW_TEST_AMQP_PORT=" + std::to_string(connection().port) +
                              " '" SAGAFLOW_SOURCE_DIR
                              "/tools/test-broker' ctl -q list_queues --no-table-headers name";
  std::set<std::string> names;
  std::istringstream lines(sagaflow::testing::output_of(command));
  for (std::string line; std::getline(lines, line);) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.starts_with(prefix)) names.insert(line);
  }
  return names;
}

// Polls `condition` until true or `timeout`.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Settings on the test broker for an orchestrator's transport and a worker.
inline OrchestratorSettings orchestrator_settings(const Topology& t,
                                                  std::vector<std::string> services,
                                                  std::vector<std::string> events = {}) {
  OrchestratorSettings s;
  s.connection = connection();
  s.topology = t;
  s.services = std::move(services);
  s.event_types = std::move(events);
  return s;
}

inline WorkerSettings worker_settings(const Topology& t, std::string service) {
  WorkerSettings s;
  s.connection = connection();
  s.topology = t;
  s.service = std::move(service);
  return s;
}

// A command of `service` (type `<service>.do`) whose reply goes to the topology's reply queue.
inline Message command(const Topology& t, std::string service, std::string id) {
  Message m;
  m.kind = MessageKind::command;
  m.id = std::move(id);
  m.type = service + ".do";
  m.destination = std::move(service);
  m.correlation_id = "saga-1";
  m.reply_to = t.reply_queue();
  m.idempotency_key = m.id + "/key";
  m.flow = "test_flow";
  m.step = "step_one";
  m.attempt = 1;
  m.body = R"({"n":1})";
  return m;
}

// Receives until `count` deliveries arrived or `timeout` passed.
inline std::vector<Delivery> receive_n(Transport& t, std::size_t count,
                                       std::chrono::milliseconds timeout = 10s) {
  std::vector<Delivery> out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    t.receive(out, count - out.size(), Duration(50));
  }
  return out;
}

}  // namespace sagaflow::rabbitmq::testing
