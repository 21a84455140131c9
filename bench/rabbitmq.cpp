// The RabbitMQ figures of tools/bench (--amqp URL), and what postgres.cpp shares (amqp.hpp):
//
// 1. four-step sagas per second with the orchestrator here (SQLite, durable) and alpha and beta
//    as processes of their own (this binary in --serve mode), and the messages they carried
//    per second (4 commands + 4 replies per saga);
// 2. the raw broker limit for as many messages of the same average body: rabbitmq-c alone,
//    persistent, published with confirms (a window of many in flight) to one durable quorum
//    queue and consumed by a second connection with a bounded prefetch and multi-acks;
// 3. their ratio: how much of what the broker can carry the sagas get.
// The raw round trip of one saga step (raw_round_trips) is measured here too, for postgres.cpp.
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "amqp.hpp"
#include "bench.hpp"
#include "sagaflow/rabbitmq/worker.hpp"
#include "sagaflow/sqlite/sqlite_store.hpp"
#include "sagaflow/text/printable.hpp"

extern char** environ;

namespace sagaflow::bench {

using namespace std::chrono_literals;

std::string run_id() {
  static const std::string id =
      std::to_string(getpid()) + "-" +
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  return id;
}

// ---------------------------------------------------------------------------------------------
void CountingTransport::publish(std::span<const Message> messages) {
  const auto started = Clock::now();
  inner_.publish(messages);  // a failed publish is retried by the orchestrator: count once
  publish_seconds += seconds_since(started);
  ++publishes;
  for (const auto& m : messages) {
    ++published;
    body_bytes += m.body.size();
  }
}

Sending CountingTransport::publish_started(std::span<const Message> messages) {
  const auto started = Clock::now();
  auto sending = inner_.publish_started(messages);
  publish_seconds += seconds_since(started);
  ++publishes;
  for (const auto& m : messages) {
    ++published;
    body_bytes += m.body.size();
  }
  std::vector<std::string> traced;  // the sagas of the commands, when tracing
  if (trace != nullptr && trace->on) {
    const auto now = Clock::now();
    for (const auto& m : messages) {
      if (m.kind != MessageKind::command) continue;
      trace->sagas[m.correlation_id].published.push_back(now);
      traced.push_back(m.correlation_id);
    }
  }
  if (!sending) return {};
  auto wait = std::move(sending.wait);
  sending.wait = [this, wait = std::move(wait), traced = std::move(traced)] {
    const auto waiting = Clock::now();
    wait();
    publish_seconds += seconds_since(waiting);
    // Called once the relay sees the sending settled: when the orchestrator learned the confirm.
    if (trace != nullptr && trace->on) {
      const auto now = Clock::now();
      for (const auto& id : traced) trace->sagas[id].confirmed.push_back(now);
    }
  };
  return sending;
}

std::size_t CountingTransport::receive(std::vector<Delivery>& out, std::size_t max, Duration wait) {
  const auto started = Clock::now();
  const auto first = out.size();
  const auto n = inner_.receive(out, max, wait);
  receive_seconds += seconds_since(started);
  const bool tracing = trace != nullptr && trace->on;
  const auto now = Clock::now();
  for (auto i = first; i < out.size(); ++i) {
    ++received;
    const auto& m = out[i].message;
    body_bytes += m.body.size();
    if (tracing && m.kind == MessageKind::reply) {
      auto& saga = trace->sagas[m.correlation_id];
      saga.received.push_back(now);
      // The participant's stamp: "handled_ns":<digits>
      const auto at = m.body.find(kHandledField);
      if (at != std::string::npos) {
        const auto digits = m.body.find_first_of("0123456789", at + kHandledField.size());
        if (digits != std::string::npos) {
          const auto ns = std::strtoll(m.body.c_str() + digits, nullptr, 10);
          saga.handled.push_back(Clock::time_point(std::chrono::nanoseconds(ns)));
        }
      }
    }
  }
  return n;
}

void CountingTransport::ack(std::span<const std::uint64_t> tags) {
  const auto started = Clock::now();
  inner_.ack(tags);
  ack_seconds += seconds_since(started);
}

void CountingTransport::dead_letter(const Delivery& delivery, DeadLetterCode code,
                                    std::string_view detail) {
  ++dead_lettered;
  std::fprintf(stderr, "sagaflow_bench: dead-lettered %s (%s): %s\n",
               text::printable(delivery.message.id).c_str(), to_string(code),
               text::printable(detail).c_str());
  inner_.dead_letter(delivery, code, detail);
}

// ---------------------------------------------------------------------------------------------
Process::Process(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  if (int e = posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), environ); e != 0) {
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(e));
  }
}

Process::~Process() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
}

bool Process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) pid_ = -1;
  return pid_ > 0;
}

namespace {

// ---------------------------------------------------------------------------------------------
// rabbitmq-c directly, channel 1 open, for the raw runs and the clean-up. One thread per
// connection.
class RawConnection {
 public:
  explicit RawConnection(const std::string& url) {
    std::string copy = url;
    amqp_connection_info info;
    amqp_default_connection_info(&info);
    if (amqp_parse_url(copy.data(), &info) != AMQP_STATUS_OK) {
      throw std::runtime_error("not an AMQP URL: " + rabbitmq::mask_password(url));
    }
    if (info.ssl) throw std::runtime_error("the raw run speaks plain amqp:// only");
    conn_ = amqp_new_connection();
    auto* socket = amqp_tcp_socket_new(conn_);
    if (socket == nullptr) throw std::runtime_error("raw: cannot create a socket");
    if (int s = amqp_socket_open(socket, info.host, info.port); s != AMQP_STATUS_OK) {
      amqp_destroy_connection(conn_);
      throw std::runtime_error(std::string("raw: cannot connect: ") + amqp_error_string2(s));
    }
    const char* vhost = (info.vhost == nullptr || *info.vhost == '\0') ? "/" : info.vhost;
    check(amqp_login(conn_, vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, info.user, info.password),
          "login");
    open_channel(1);
  }
  ~RawConnection() {
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);  // closes its channels too
    amqp_destroy_connection(conn_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  amqp_connection_state_t get() const { return conn_; }

  void open_channel(amqp_channel_t channel) {
    amqp_channel_open(conn_, channel);
    check("channel.open");
  }

  static void check(const amqp_rpc_reply_t& r, const char* what) {
    switch (r.reply_type) {
      case AMQP_RESPONSE_NORMAL:
        return;
      case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        throw std::runtime_error(std::string("raw ") + what + ": " +
                                 amqp_error_string2(r.library_error));
      case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD || r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
          // channel.close and connection.close share the layout of their first two fields.
          const auto* close = static_cast<const amqp_channel_close_t*>(r.reply.decoded);
          throw std::runtime_error(std::string("raw ") + what + ": " +
                                   std::to_string(close->reply_code) + " " +
                                   std::string(static_cast<const char*>(close->reply_text.bytes),
                                               close->reply_text.len));
        }
        throw std::runtime_error(std::string("raw ") + what + ": server exception");
      default:
        throw std::runtime_error(std::string("raw ") + what + ": no reply");
    }
  }
  void check(const char* what) const { check(amqp_get_rpc_reply(conn_), what); }

 private:
  amqp_connection_state_t conn_ = nullptr;
};

amqp_bytes_t bytes(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

void declare_quorum_queue(RawConnection& c, const std::string& name,
                          const std::string& type = "quorum") {
  static const std::string key = "x-queue-type";
  amqp_table_entry_t entry{};
  entry.key = bytes(key);
  entry.value.kind = AMQP_FIELD_KIND_UTF8;
  entry.value.value.bytes = bytes(type);
  amqp_table_t arguments{1, &entry};
  amqp_queue_declare(c.get(), 1, bytes(name), 0, 1, 0, 0, arguments);
  c.check("queue.declare");
}

void delete_queues(const std::string& url, const std::vector<std::string>& queues) {
  try {
    RawConnection c(url);
    for (const auto& q : queues) {
      amqp_queue_delete(c.get(), 1, bytes(q), 0, 0);
      c.check("queue.delete");
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "sagaflow_bench: raw queues left on the broker: %s\n", error.what());
  }
}

// Publisher confirms, single or multiple, possibly out of order: `low` is the low-water mark,
// every publish up to it is confirmed.
struct Confirms {
  std::vector<char> confirmed{0};  // by publish sequence number, from 1
  std::uint64_t sent = 0, low = 0;

  void published() {
    ++sent;
    if (confirmed.size() <= sent) confirmed.resize(std::max<std::size_t>(sent + 1, 2 * sent), 0);
  }
  void ack(const amqp_basic_ack_t& ack) {
    const auto from = ack.multiple ? low + 1 : ack.delivery_tag;
    for (auto t = from; t <= ack.delivery_tag && t <= sent; ++t) confirmed[t] = 1;
    while (low < sent && confirmed[low + 1]) ++low;
  }
};

// Handles a frame that is not a delivery on a connection that publishes with confirms on
// `channel`: confirms are counted, a refusal or a closed channel throws.
void on_frame(const amqp_frame_t& frame, amqp_channel_t channel, Confirms& confirms,
              const char* who) {
  if (frame.frame_type != AMQP_FRAME_METHOD) return;
  switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD:
      if (frame.channel == channel) {
        confirms.ack(*static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded));
      }
      return;
    case AMQP_BASIC_NACK_METHOD:
      throw std::runtime_error(std::string(who) + ": the broker refused a message");
    case AMQP_BASIC_RETURN_METHOD:
      throw std::runtime_error(std::string(who) + ": a message was unroutable");
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
      throw std::runtime_error(std::string(who) + ": the broker closed the channel");
    default:
      return;
  }
}

// One step of a loop that consumes and publishes with confirms on one connection: waits up to
// `timeout` for a frame; returns true with `envelope` filled for a delivery (to be destroyed by
// the caller), false after any other frame (handled by on_frame) or a timeout.
bool next_delivery(amqp_connection_state_t c, amqp_envelope_t& envelope, timeval timeout,
                   amqp_channel_t confirm_channel, Confirms& confirms, const char* who) {
  amqp_maybe_release_buffers(c);
  auto r = amqp_consume_message(c, &envelope, &timeout, 0);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return true;
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
    if (r.library_error == AMQP_STATUS_TIMEOUT) return false;
    if (r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      amqp_frame_t frame;
      if (int s = amqp_simple_wait_frame(c, &frame); s != AMQP_STATUS_OK) {
        throw std::runtime_error(std::string(who) + ": " + amqp_error_string2(s));
      }
      on_frame(frame, confirm_channel, confirms, who);
      return false;
    }
  }
  RawConnection::check(r, who);
  return false;
}

amqp_basic_properties_t persistent_json() {
  amqp_basic_properties_t properties{};
  properties._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  properties.content_type = amqp_cstring_bytes("application/json");
  properties.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  return properties;
}

void publish(amqp_connection_state_t c, amqp_channel_t channel, const std::string& queue,
             const amqp_basic_properties_t& properties, const std::string& body) {
  if (int s = amqp_basic_publish(c, channel, amqp_empty_bytes, bytes(queue), 1, 0, &properties,
                                 bytes(body));
      s != AMQP_STATUS_OK) {
    throw std::runtime_error(std::string("raw publish: ") + amqp_error_string2(s));
  }
}

void ack(amqp_connection_state_t c, amqp_channel_t channel, std::uint64_t tag) {
  if (int s = amqp_basic_ack(c, channel, tag, 1); s != AMQP_STATUS_OK) {
    throw std::runtime_error(std::string("raw ack: ") + amqp_error_string2(s));
  }
}

// Leaves the broker as it was: a run's quorum queues would otherwise accumulate (each is a Raft
// group with its own log).
void delete_topology(const std::string& url, const rabbitmq::Topology& t,
                     const std::vector<std::string>& services) {
  try {
    RawConnection c(url);
    std::vector<std::string> queues{t.reply_queue(), t.orchestrator_events_queue(),
                                    t.dead_letter_queue()};
    for (const auto& s : services) queues.push_back(t.command_queue(s));
    for (const auto& q : queues) {
      amqp_queue_delete(c.get(), 1, bytes(q), 0, 0);
      c.check("queue.delete");
    }
    for (const auto& e : {t.commands_exchange(), t.events_exchange(), t.dead_exchange()}) {
      amqp_exchange_delete(c.get(), 1, bytes(e), 0);
      c.check("exchange.delete");
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "sagaflow_bench: topology %s left on the broker: %s\n", t.prefix.c_str(),
                 error.what());
  }
}

}  // namespace

std::string body_of(std::size_t size) {
  const std::string open = "{\"pad\":\"", close = "\"}";
  if (size < open.size() + close.size()) return std::string(size, ' ');
  return open + std::string(size - open.size() - close.size(), 'x') + close;
}

// ---------------------------------------------------------------------------------------------
SagaRig::TopologyGuard::~TopologyGuard() {
  if (!url.empty()) delete_topology(url, topology, services);
}

SagaRig::SagaRig(const AmqpOptions& o, Store& store, std::string prefix, SagaChangeFeed* changes)
    : options_(o) {
  auto plan = flows_.add(bench_flow());
  auto events = plan->listened_events();
  for (const auto& e : flows_.add(bench_waiting_flow())->listened_events()) events.push_back(e);
  rabbitmq::OrchestratorSettings settings{
      .connection = rabbitmq::ConnectionSettings::from_url(o.url),
      .topology = rabbitmq::Topology{.prefix = std::move(prefix),
                                     .queue_type = rabbitmq::queue_type_from(o.queue_type)},
      .event_types = std::move(events),
      .services = plan->services(),
      .prefetch = o.prefetch};
  guard_.topology = settings.topology;
  guard_.services = settings.services;
  guard_.url = o.url;  // from here on, the topology may exist
  transport_ = std::make_unique<rabbitmq::OrchestratorTransport>(settings);
  transport_->wait_connected(20s);
  counting_ = std::make_unique<CountingTransport>(*transport_);
  OrchestratorOptions options{.max_batch = o.batch, .idle_wait = o.idle_wait};
  options.engine.reply_to = settings.topology.reply_queue();
  if (changes != nullptr) {
    options.on_committed = [changes](std::vector<SagaChange> committed) {
      changes->publish(std::move(committed));
    };
  }
  orchestrator_ = std::make_unique<Orchestrator>(flows_, store, *counting_, clock_, options);

  const auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  for (const auto& service : settings.services) {
    std::vector<std::string> argv{self,
                                  "--serve",
                                  service,
                                  "--amqp",
                                  o.url,
                                  "--prefix",
                                  settings.topology.prefix,
                                  "--amqp-worker-prefetch",
                                  std::to_string(o.worker_prefetch),
                                  "--amqp-worker-threads",
                                  std::to_string(o.worker_threads),
                                  "--amqp-queue-type",
                                  o.queue_type};
    if (!o.peers_schema.empty()) {
      argv.insert(argv.end(), {"--peers-dsn", o.peers_dsn, "--peers-schema", o.peers_schema});
    }
    participants_.push_back(std::make_unique<Process>(std::move(argv)));
  }
  // One saga through before timing: the participants are connected and consuming, the broker's
  // queues are warm.
  burst(1, 60s);
  counting_->reset();
}

SagaRig::~SagaRig() {
  participants_.clear();
  orchestrator_.reset();
  counting_.reset();
  transport_.reset();
}

void SagaRig::check_participants() {
  for (auto& p : participants_) {
    if (!p->running()) throw std::runtime_error("a participant process exited");
  }
}

std::vector<pid_t> SagaRig::participant_pids() const {
  std::vector<pid_t> pids;
  for (const auto& p : participants_) pids.push_back(p->pid());
  return pids;
}

Round SagaRig::burst(std::size_t count, Duration limit, std::size_t failing_every) {
  std::vector<std::future<StartResult>> starts;
  starts.reserve(count);
  for (std::size_t i = 0; i < count; ++i, ++started_) {
    const bool failing = failing_every != 0 && i % failing_every == failing_every - 1;
    const std::string user =
        (failing ? std::string(kFailingUserPrefix) : std::string("u")) + std::to_string(started_);
    starts.push_back(orchestrator_->start(
        StartRequest{.flow = "bench", .input = json::object{{"user", user}, {"amount", 5}}}));
  }
  return settle(starts, limit);
}

void SagaRig::start_waiting(std::size_t count, Duration limit) {
  std::vector<std::future<StartResult>> starts;
  starts.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    starts.push_back(orchestrator_->start(
        StartRequest{.flow = "bench_wait",
                     .input = json::object{{"user", "w" + std::to_string(waiting_ + i)}}}));
  }
  waiting_ += count;  // once started they stay in the cache: settle() counts them there
  settle(starts, limit);
}

Round SagaRig::settle(std::vector<std::future<StartResult>>& starts, Duration limit) {
  const auto deadline = Clock::now() + limit;
  Round r;
  std::size_t answered = 0;
  while (true) {
    r.inputs += orchestrator_->run_once(options_.idle_wait);
    ++r.rounds;
    while (answered < starts.size() && starts[answered].wait_for(0s) == std::future_status::ready) {
      starts[answered++].get();  // rethrows a refused start
    }
    // A saga leaves the cache once its last transition is committed; waiting ones stay.
    if (answered == starts.size() && orchestrator_->cached_sagas() == waiting_) return r;
    if (r.rounds % 256 == 0) check_participants();
    if (Clock::now() > deadline) {
      throw std::runtime_error(std::to_string(orchestrator_->cached_sagas()) +
                               " sagas still cached (" + std::to_string(waiting_) +
                               " of them waiting) after " + std::to_string(limit.count() / 1000) +
                               " s");
    }
  }
}

// ---------------------------------------------------------------------------------------------
double raw_broker_limit(const RawOptions& o) {
  RawConnection publisher(o.url);
  RawConnection consumer(o.url);
  const auto queue = bytes(o.queue);
  declare_quorum_queue(publisher, o.queue);
  amqp_confirm_select(publisher.get(), 1);
  publisher.check("confirm.select");
  amqp_basic_qos(consumer.get(), 1, 0, o.prefetch, 0);
  consumer.check("basic.qos");
  amqp_basic_consume(consumer.get(), 1, queue, amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  consumer.check("basic.consume");

  const std::uint64_t total = o.messages;
  std::atomic<bool> give_up{false};
  std::exception_ptr consumer_error;
  Clock::time_point finished{};
  // Acks go out as multi-acks, each covering an eighth of the prefetch: the broker never waits
  // for one while it has room to deliver.
  const std::size_t ack_every = std::max<std::size_t>(1, o.prefetch / 8);
  std::thread consuming([&] {
    try {
      auto* c = consumer.get();
      std::uint64_t received = 0, unacked = 0;
      auto last_progress = Clock::now();
      while (received < total) {
        amqp_maybe_release_buffers(c);
        amqp_envelope_t envelope;
        timeval timeout{1, 0};
        auto r = amqp_consume_message(c, &envelope, &timeout, 0);
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_TIMEOUT) {
          if (give_up || Clock::now() - last_progress > 30s) {
            throw std::runtime_error("raw consumer: nothing arrived for 30 s");
          }
          continue;
        }
        RawConnection::check(r, "consume");
        const auto tag = envelope.delivery_tag;
        amqp_destroy_envelope(&envelope);
        ++received;
        last_progress = Clock::now();
        if (++unacked >= ack_every || received == total) {
          ack(c, 1, tag);
          unacked = 0;
        }
      }
      // A synchronous method on the same channel returns once the broker handled every ack sent
      // before it.
      amqp_basic_qos(c, 1, 0, o.prefetch, 0);
      consumer.check("basic.qos after the last ack");
      finished = Clock::now();
    } catch (...) {
      consumer_error = std::current_exception();
    }
  });

  auto* c = publisher.get();
  const auto started = Clock::now();
  try {
    const std::string body = body_of(o.body_size);
    const auto properties = persistent_json();
    Confirms confirms;
    auto next_frame = [&](bool block) {
      amqp_frame_t frame;
      timeval zero{0, 0};
      const int s = block ? amqp_simple_wait_frame(c, &frame)
                          : amqp_simple_wait_frame_noblock(c, &frame, &zero);
      if (s == AMQP_STATUS_TIMEOUT) return false;
      if (s != AMQP_STATUS_OK) {
        throw std::runtime_error(std::string("raw publisher: ") + amqp_error_string2(s));
      }
      on_frame(frame, 1, confirms, "raw publisher");
      return true;
    };
    while (confirms.sent < total) {
      while (confirms.sent - confirms.low >= kConfirmWindow) next_frame(true);
      publish(c, 1, o.queue, properties, body);
      confirms.published();
      if (confirms.sent % 64 == 0) {
        while (next_frame(false)) {
        }
        amqp_maybe_release_buffers(c);
      }
    }
    while (confirms.low < total) next_frame(true);
  } catch (...) {
    give_up = true;
    consuming.join();
    throw;
  }
  consuming.join();
  if (consumer_error) std::rethrow_exception(consumer_error);
  const double elapsed = std::chrono::duration<double>(finished - started).count();
  amqp_queue_delete(c, 1, queue, 0, 0);
  publisher.check("queue.delete");
  return double(total) / elapsed;
}

// ---------------------------------------------------------------------------------------------
// The round trip. On every connection, channel 1 carries the commands and channel 2 the
// replies: the requesting side (the orchestrator's part) publishes commands with confirms, round
// robin over the command queues, and consumes the replies; each replying side (a participant's
// part) consumes its command queue and publishes the replies with confirms. Each side is one
// connection on one thread, as the adapter's transport and worker are.
namespace {

constexpr amqp_channel_t kCommands = 1, kReplies = 2;

// The replying side: each command is answered by a reply of the same size, published with a
// confirm; the command is acknowledged once its reply is confirmed (the worker's rule), by
// multi-acks. Deliveries and replies are numbered alike on one connection (a delivery's tag
// is the sequence number of its reply), so a confirm of reply n acknowledges command n.
void reply_to_commands(const RawOptions& o, const std::string& commands, const std::string& replies,
                       std::uint64_t expected, const std::atomic<bool>& give_up) {
  RawConnection connection(o.url);
  auto* c = connection.get();
  connection.open_channel(kReplies);
  amqp_confirm_select(c, kReplies);
  connection.check("confirm.select");
  amqp_basic_qos(c, kCommands, 0, o.worker_prefetch, 0);
  connection.check("basic.qos");
  amqp_basic_consume(c, kCommands, bytes(commands), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  connection.check("basic.consume");
  const std::string body = body_of(o.body_size);
  const auto properties = persistent_json();
  Confirms confirms;
  std::uint64_t acked = 0;
  auto last_progress = Clock::now();
  while (acked < expected) {
    amqp_envelope_t envelope;
    // Acks wait for nothing more when one per command is sent: at once after a frame.
    const timeval wait =
        o.replier_multi_ack || confirms.low == acked ? timeval{0, 200000} : timeval{0, 0};
    if (next_delivery(c, envelope, wait, kReplies, confirms, "raw replier")) {
      amqp_destroy_envelope(&envelope);
      publish(c, kReplies, replies, properties, body);
      confirms.published();
      last_progress = Clock::now();
    } else if (confirms.low > acked && !o.replier_multi_ack) {
      for (auto tag = acked + 1; tag <= confirms.low; ++tag) {
        if (int s = amqp_basic_ack(c, kCommands, tag, 0); s != AMQP_STATUS_OK) {
          throw std::runtime_error(std::string("raw ack: ") + amqp_error_string2(s));
        }
      }
      acked = confirms.low;
      last_progress = Clock::now();
    } else if (confirms.low > acked) {
      ack(c, kCommands, confirms.low);
      acked = confirms.low;
      last_progress = Clock::now();
    } else if (give_up || Clock::now() - last_progress > 30s) {
      throw std::runtime_error("raw replier: nothing arrived for 30 s");
    }
  }
  // Every ack sent before a synchronous method on its channel is handled when it returns.
  amqp_basic_qos(c, kCommands, 0, o.worker_prefetch, 0);
  connection.check("basic.qos after the last ack");
}

}  // namespace

double raw_round_trips(const RawOptions& o) {
  const int services = std::max(1, o.services);
  const std::string replies = o.queue + ".replies";
  std::vector<std::string> queues{replies};
  for (int i = 0; i < services; ++i) queues.push_back(o.queue + ".commands." + std::to_string(i));

  const std::uint64_t total = o.messages;
  std::atomic<bool> give_up{false};
  std::vector<std::exception_ptr> errors(services);
  std::vector<std::thread> repliers;
  double elapsed = 0;
  try {
    RawConnection requester(o.url);
    auto* c = requester.get();
    for (const auto& q : queues) declare_quorum_queue(requester, q, o.queue_type);
    requester.open_channel(kReplies);
    amqp_confirm_select(c, kCommands);
    requester.check("confirm.select");
    amqp_basic_qos(c, kReplies, 0, o.prefetch, 0);
    requester.check("basic.qos");
    amqp_basic_consume(c, kReplies, bytes(replies), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    requester.check("basic.consume");
    for (int i = 0; i < services; ++i) {
      const std::uint64_t expected = total / services + (std::uint64_t(i) < total % services);
      repliers.emplace_back([&, i, expected] {
        try {
          reply_to_commands(o, queues[1 + i], replies, expected, give_up);
        } catch (...) {
          errors[i] = std::current_exception();
          give_up = true;
        }
      });
    }
    // The repliers consume before the clock starts: what is timed is the broker's work only.
    std::this_thread::sleep_for(500ms);

    const std::string body = body_of(o.body_size);
    const auto properties = persistent_json();
    const std::size_t ack_every = o.requester_ack_every > 0
                                      ? o.requester_ack_every
                                      : std::max<std::size_t>(1, o.prefetch / 8);
    const std::uint64_t window = std::max<std::uint64_t>(1, o.window);
    Confirms confirms;  // of the commands
    std::uint64_t answered = 0, unacked = 0;
    auto last_progress = Clock::now();
    const auto started = Clock::now();
    while (answered < total || confirms.low < total) {
      // Up to a window of round trips in flight, polling the socket every 64 publishes.
      std::uint64_t burst = 0;
      while (confirms.sent < total && confirms.sent - answered < window && burst < 64) {
        publish(c, kCommands, queues[1 + confirms.sent % services], properties, body);
        confirms.published();
        ++burst;
      }
      const bool more = confirms.sent < total && confirms.sent - answered < window;
      amqp_envelope_t envelope;
      if (next_delivery(c, envelope, more ? timeval{0, 0} : timeval{0, 200000}, kCommands, confirms,
                        "raw requester")) {
        const auto tag = envelope.delivery_tag;
        amqp_destroy_envelope(&envelope);
        ++answered;
        last_progress = Clock::now();
        if (++unacked >= ack_every || answered == total) {
          ack(c, kReplies, tag);
          unacked = 0;
        }
      } else if (give_up || Clock::now() - last_progress > 30s) {
        throw std::runtime_error("raw requester: no reply for 30 s");
      }
    }
    amqp_basic_qos(c, kReplies, 0, o.prefetch, 0);
    requester.check("basic.qos after the last ack");
    elapsed = seconds_since(started);
    for (auto& t : repliers) t.join();
    repliers.clear();
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
  } catch (...) {
    give_up = true;
    for (auto& t : repliers) t.join();
    delete_queues(o.url, queues);
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);  // the cause, rather than the requester's time-out
    }
    throw;
  }
  delete_queues(o.url, queues);
  return double(total) / elapsed;
}

// ---------------------------------------------------------------------------------------------
namespace {

struct SagaRun {
  double seconds = 0;
  Round round;
  std::size_t publishes = 0;
  double average_body = 0;
};

SagaRun sagas_over_rabbitmq(const std::filesystem::path& dir, const AmqpOptions& o) {
  auto db = dir / "bench-rabbitmq.db";
  for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix);
  sqlite::SqliteStore store(sqlite::SqliteOptions{.path = db.string(), .durable = true});
  SagaRig rig(o, store, "bench-" + run_id());
  auto& counting = rig.counting();

  SagaRun run;
  const auto started = Clock::now();
  run.round = rig.burst(o.sagas, 600s);
  run.seconds = seconds_since(started);

  const auto completed = store.list(SagaFilter{.status = "completed", .limit = o.sagas + 1}).size();
  if (completed != o.sagas + 1) {
    throw std::runtime_error("only " + std::to_string(completed) + " of " +
                             std::to_string(o.sagas + 1) + " sagas completed");
  }
  const auto messages = counting.published + counting.received;
  if (messages != kMessagesPerSaga * o.sagas || counting.dead_lettered != 0) {
    throw std::runtime_error("the sagas carried " + std::to_string(messages) + " messages, not " +
                             std::to_string(kMessagesPerSaga * o.sagas));
  }
  run.publishes = counting.publishes;
  run.average_body = double(counting.body_bytes) / double(messages);
  return run;
}

}  // namespace

void bench_rabbitmq(const std::filesystem::path& dir, const AmqpOptions& o) {
  const SagaRun sagas = sagas_over_rabbitmq(dir, o);

  const double saga_messages = kMessagesPerSaga * double(o.sagas) / sagas.seconds;
  report("RabbitMQ four-step sagas, SQLite durable, 2 processes", o.sagas / sagas.seconds,
         "sagas/s");
  report("RabbitMQ messages the sagas carried (8 per saga)", saga_messages, "messages/s");
  report("RabbitMQ orchestrator inputs per round", double(sagas.round.inputs) / sagas.round.rounds,
         "inputs/round");
  report("RabbitMQ orchestrator messages per publish", 4.0 * o.sagas / sagas.publishes,
         "messages/publish");
  report("RabbitMQ sagas' average message body", sagas.average_body, "bytes");

  const auto body_size = static_cast<std::size_t>(sagas.average_body + 0.5);
  const double raw = raw_broker_limit(RawOptions{.url = o.url,
                                                 .queue = "bench-" + run_id() + ".raw",
                                                 .messages = kMessagesPerSaga * o.sagas,
                                                 .body_size = body_size,
                                                 .prefetch = o.prefetch});
  report("RabbitMQ raw limit: rabbitmq-c, quorum, confirmed, acked", raw, "messages/s");
  report("RabbitMQ ratio: saga messages/s / raw messages/s", saga_messages / raw, "ratio");
}

// ---------------------------------------------------------------------------------------------
int serve(const std::string& service, const AmqpOptions& o) {
  // The bench stops its participants; should it die first, they must not linger.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (getppid() == 1) return 1;

  Participant participant;
  std::unique_ptr<worker::Dispatcher> peer;
  auto* dispatcher = participant.dispatcher(service);
  if (!o.peers_schema.empty()) {
    peer = peers_participant(service, o);
    dispatcher = peer.get();
  }
  if (dispatcher == nullptr) {
    std::fprintf(stderr, "sagaflow_bench --serve: no participant '%s'\n", service.c_str());
    return 2;
  }
  rabbitmq::WorkerSettings settings;
  settings.connection = rabbitmq::ConnectionSettings::from_url(o.url);
  settings.topology.prefix = o.prefix;
  settings.topology.queue_type = rabbitmq::queue_type_from(o.queue_type);
  settings.service = service;
  settings.prefetch = o.worker_prefetch;

  boost::asio::io_context handlers;
  auto guard = boost::asio::make_work_guard(handlers);
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, o.worker_threads); ++i) {
    threads.emplace_back([&] { handlers.run(); });
  }
  int exit_code = 0;
  try {
    rabbitmq::Worker worker(handlers, *dispatcher, settings);
    worker.wait_connected(30s);
    int received = 0;
    sigwait(&signals, &received);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "sagaflow_bench --serve %s: %s\n", service.c_str(), error.what());
    exit_code = 1;
  }
  guard.reset();
  handlers.stop();
  for (auto& t : threads) t.join();
  return exit_code;
}

}  // namespace sagaflow::bench
