// The RabbitMQ figures of tools/bench (--amqp URL):
//
// 1. four-step sagas per second with the orchestrator here (SQLite, durable) and alpha and beta
//    as processes of their own (this binary in --serve mode), and the messages they carried
//    per second (4 commands + 4 replies per saga);
// 2. the raw broker limit for as many messages of the same average body: rabbitmq-c alone,
//    persistent, published with confirms (a window of many in flight) to one durable quorum
//    queue and consumed by a second connection with a bounded prefetch and multi-acks;
// 3. their ratio: how much of what the broker can carry the sagas get.
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
#include <cstring>
#include <exception>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "bench.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/rabbitmq/orchestrator_transport.hpp"
#include "sagaflow/rabbitmq/worker.hpp"
#include "sagaflow/sqlite/sqlite_store.hpp"

extern char** environ;

namespace sagaflow::bench {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMessagesPerSaga = 8;  // 4 commands + 4 replies
// The raw run keeps this many publishes unconfirmed at once: "many in flight", as the
// orchestrator's publish of a whole round is.
constexpr std::uint64_t kConfirmWindow = 1024;

// ---------------------------------------------------------------------------------------------
// What the orchestrator sends and receives: the body sizes for the raw run, and how well the
// rounds batch.
class CountingTransport final : public Transport {
 public:
  explicit CountingTransport(Transport& inner) : inner_(inner) {}

  void publish(std::span<const Message> messages) override {
    inner_.publish(messages);  // a failed publish is retried by the orchestrator: count once
    ++publishes;
    for (const auto& m : messages) {
      ++published;
      body_bytes += m.body.size();
    }
  }
  std::size_t receive(std::vector<Delivery>& out, std::size_t max, Duration wait) override {
    const auto first = out.size();
    const auto n = inner_.receive(out, max, wait);
    for (auto i = first; i < out.size(); ++i) {
      ++received;
      body_bytes += out[i].message.body.size();
    }
    return n;
  }
  void ack(std::span<const std::uint64_t> tags) override { inner_.ack(tags); }
  void dead_letter(const Delivery& delivery, std::string_view reason) override {
    ++dead_lettered;
    std::fprintf(stderr, "sagaflow_bench: dead-lettered %s: %.*s\n", delivery.message.id.c_str(),
                 static_cast<int>(reason.size()), reason.data());
    inner_.dead_letter(delivery, reason);
  }

  void reset() { publishes = published = received = body_bytes = dead_lettered = 0; }

  std::size_t publishes = 0, published = 0, received = 0, body_bytes = 0, dead_lettered = 0;

 private:
  Transport& inner_;
};

// A participant process, stopped (SIGTERM, then waited for) when this goes away.
class Process {
 public:
  explicit Process(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (int e = posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), environ); e != 0) {
      throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(e));
    }
  }
  ~Process() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) pid_ = -1;
    return pid_ > 0;
  }

 private:
  pid_t pid_ = -1;
};

struct Round {
  std::size_t rounds = 0;
  std::size_t inputs = 0;
};

// Starts `count` sagas and runs the orchestrator until every one has finished.
Round drive(Orchestrator& orchestrator, std::size_t count, std::size_t first, Duration wait,
            std::vector<std::unique_ptr<Process>>& participants, Duration limit) {
  std::vector<std::future<StartResult>> starts;
  starts.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    starts.push_back(orchestrator.start(StartRequest{
        .flow = "bench",
        .input = json::object{{"user", "u" + std::to_string(first + i)}, {"amount", 5}}}));
  }
  const auto deadline = Clock::now() + limit;
  Round r;
  std::size_t answered = 0;
  while (true) {
    r.inputs += orchestrator.run_once(wait);
    ++r.rounds;
    while (answered < starts.size() && starts[answered].wait_for(0s) == std::future_status::ready) {
      starts[answered++].get();  // rethrows a refused start
    }
    // A saga leaves the cache once its last transition is committed.
    if (answered == starts.size() && orchestrator.cached_sagas() == 0) return r;
    if (r.rounds % 256 == 0) {
      for (auto& p : participants) {
        if (!p->running()) throw std::runtime_error("a participant process exited");
      }
    }
    if (Clock::now() > deadline) {
      throw std::runtime_error(std::to_string(orchestrator.cached_sagas()) +
                               " sagas still running after " +
                               std::to_string(limit.count() / 1000) + " s");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// rabbitmq-c directly, channel 1, for the raw run and the clean-up. One thread per connection.
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
    amqp_channel_open(conn_, 1);
    check(amqp_get_rpc_reply(conn_), "channel.open");
  }
  ~RawConnection() {
    amqp_channel_close(conn_, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  amqp_connection_state_t get() const { return conn_; }

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

// A JSON body of exactly `size` bytes (when size allows one), like the sagas' bodies.
std::string body_of(std::size_t size) {
  const std::string open = "{\"pad\":\"", close = "\"}";
  if (size < open.size() + close.size()) return std::string(size, ' ');
  return open + std::string(size - open.size() - close.size(), 'x') + close;
}

struct RawOptions {
  std::string url;
  std::string queue;
  std::size_t messages = 0;
  std::size_t body_size = 0;
  std::uint16_t prefetch = 512;
};

// Messages per second from the first publish to the last ack.
double raw_broker_limit(const RawOptions& o) {
  RawConnection publisher(o.url);
  RawConnection consumer(o.url);
  const auto queue = bytes(o.queue);
  {
    static const std::string key = "x-queue-type", quorum = "quorum";
    amqp_table_entry_t entry{};
    entry.key = bytes(key);
    entry.value.kind = AMQP_FIELD_KIND_UTF8;
    entry.value.value.bytes = bytes(quorum);
    amqp_table_t arguments{1, &entry};
    amqp_queue_declare(publisher.get(), 1, queue, 0, 1, 0, 0, arguments);
    publisher.check("queue.declare");
  }
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
          if (int s = amqp_basic_ack(c, 1, tag, 1); s != AMQP_STATUS_OK) {
            throw std::runtime_error(std::string("raw ack: ") + amqp_error_string2(s));
          }
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
    amqp_basic_properties_t properties{};
    properties._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    properties.content_type = amqp_cstring_bytes("application/json");
    properties.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    // Confirms may come single or multiple; `confirmed_up_to` is the low-water mark.
    std::vector<char> confirmed(total + 1, 0);
    std::uint64_t sent = 0, confirmed_up_to = 0;
    auto next_frame = [&](bool block) {
      amqp_frame_t frame;
      timeval zero{0, 0};
      const int s = block ? amqp_simple_wait_frame(c, &frame)
                          : amqp_simple_wait_frame_noblock(c, &frame, &zero);
      if (s == AMQP_STATUS_TIMEOUT) return false;
      if (s != AMQP_STATUS_OK) {
        throw std::runtime_error(std::string("raw publisher: ") + amqp_error_string2(s));
      }
      if (frame.frame_type != AMQP_FRAME_METHOD) return true;
      switch (frame.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
          const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
          const auto from = ack->multiple ? confirmed_up_to + 1 : ack->delivery_tag;
          for (auto t = from; t <= ack->delivery_tag && t <= total; ++t) confirmed[t] = 1;
          while (confirmed_up_to < sent && confirmed[confirmed_up_to + 1]) ++confirmed_up_to;
          return true;
        }
        case AMQP_BASIC_NACK_METHOD:
          throw std::runtime_error("raw publisher: the broker refused a message");
        case AMQP_BASIC_RETURN_METHOD:
          throw std::runtime_error("raw publisher: a message was unroutable");
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD:
          throw std::runtime_error("raw publisher: the broker closed the channel");
        default:
          return true;
      }
    };
    while (sent < total) {
      while (sent - confirmed_up_to >= kConfirmWindow) next_frame(true);
      if (int s = amqp_basic_publish(c, 1, amqp_empty_bytes, queue, 1, 0, &properties, bytes(body));
          s != AMQP_STATUS_OK) {
        throw std::runtime_error(std::string("raw publish: ") + amqp_error_string2(s));
      }
      if (++sent % 64 == 0) {
        while (next_frame(false)) {
        }
        amqp_maybe_release_buffers(c);
      }
    }
    while (confirmed_up_to < total) next_frame(true);
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

struct SagaRun {
  double seconds = 0;
  Round round;
  std::size_t publishes = 0;
  double average_body = 0;
};

SagaRun sagas_over_rabbitmq(const std::filesystem::path& dir, const AmqpOptions& o,
                            const rabbitmq::Topology& topology,
                            std::vector<std::string>& services) {
  auto db = dir / "bench-rabbitmq.db";
  for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix);

  FlowRegistry flows;
  auto plan = flows.add(bench_flow());
  rabbitmq::OrchestratorSettings settings{
      .connection = rabbitmq::ConnectionSettings::from_url(o.url),
      .topology = topology,
      .event_types = plan->listened_events(),
      .services = plan->services(),
      .prefetch = o.prefetch};
  services = settings.services;
  rabbitmq::OrchestratorTransport transport(settings);
  transport.wait_connected(20s);
  CountingTransport counting(transport);
  sqlite::SqliteStore store(sqlite::SqliteOptions{.path = db.string(), .durable = true});
  SystemClock clock;
  OrchestratorOptions options{.max_batch = o.batch, .idle_wait = o.idle_wait};
  options.engine.reply_to = topology.reply_queue();
  Orchestrator orchestrator(flows, store, counting, clock, options);

  // Declared after the orchestrator's transport so that they stop first.
  const auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::unique_ptr<Process>> participants;
  for (const auto& service : services) {
    participants.push_back(std::make_unique<Process>(std::vector<std::string>{
        self, "--serve", service, "--amqp", o.url, "--prefix", topology.prefix,
        "--amqp-worker-prefetch", std::to_string(o.worker_prefetch), "--amqp-worker-threads",
        std::to_string(o.worker_threads)}));
  }
  // One saga through before timing: the participants are connected and consuming, the broker's
  // queues are warm.
  drive(orchestrator, 1, o.sagas, o.idle_wait, participants, 60s);
  counting.reset();

  SagaRun run;
  const auto started = Clock::now();
  run.round = drive(orchestrator, o.sagas, 0, o.idle_wait, participants, 600s);
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
  const auto run_id = std::to_string(getpid()) + "-" +
                      std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  rabbitmq::Topology topology{.prefix = "bench-" + run_id};
  std::vector<std::string> services;
  SagaRun sagas;
  try {
    sagas = sagas_over_rabbitmq(dir, o, topology, services);
  } catch (...) {
    delete_topology(o.url, topology, services);
    throw;
  }
  delete_topology(o.url, topology, services);

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
                                                 .queue = "bench-" + run_id + ".raw",
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
  auto* dispatcher = participant.dispatcher(service);
  if (dispatcher == nullptr) {
    std::fprintf(stderr, "sagaflow_bench --serve: no participant '%s'\n", service.c_str());
    return 2;
  }
  rabbitmq::WorkerSettings settings;
  settings.connection = rabbitmq::ConnectionSettings::from_url(o.url);
  settings.topology.prefix = o.prefix;
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
