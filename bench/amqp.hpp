#pragma once
// What the RabbitMQ benchmarks share (rabbitmq.cpp with the SQLite store, postgres.cpp with the
// PostgreSQL store): the orchestrator's counted transport, the participant processes, the saga
// rig that ties them to a store, and rabbitmq-c used directly for the raw broker limits.
// Implemented in rabbitmq.cpp.
#include <amqp.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/saga_changes.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/rabbitmq/orchestrator_transport.hpp"

namespace sagaflow::bench {

inline constexpr std::size_t kMessagesPerSaga = 8;     // 4 commands + 4 replies
inline constexpr std::size_t kTransitionsPerSaga = 5;  // the start + one per reply
// The raw runs keep this many publishes unconfirmed (or round trips unanswered) at once: "many
// in flight", as the orchestrator's publish of a whole round is.
inline constexpr std::uint64_t kConfirmWindow = 1024;

// A name of its own for this run's broker topology, queues and database schema.
std::string run_id();

// ---------------------------------------------------------------------------------------------
// Where a step's time goes, for the latency runs' breakdown: per saga, in order, the times the
// orchestrator's wrappers (the store's commits, the transport's publishes, confirms and
// receives) and the participants saw. A participant stamps its reply's body with
// kHandledField: when its handler ran (steady clock, which is CLOCK_MONOTONIC, the same in
// every process of the machine). Filled on the orchestrator's thread, only while `on`.
inline constexpr std::string_view kHandledField = "handled_ns";

struct ChainTrace {
  struct Saga {
    std::vector<Clock::time_point> commit_started, committed, published, confirmed, handled,
        received;
  };
  bool on = false;
  std::unordered_map<std::string, Saga> sagas;
  void reset() { sagas.clear(); }
};

// ---------------------------------------------------------------------------------------------
// What the orchestrator sends and receives: the body sizes for the raw runs, how well the
// rounds batch, and how long the orchestrator's thread spends publishing.
class CountingTransport final : public Transport {
 public:
  explicit CountingTransport(Transport& inner) : inner_(inner) {}

  void publish(std::span<const Message> messages) override;
  // Forwarded, so that the orchestrator overlaps a round's confirms with the next commit as it
  // does without this wrapper; publish_seconds counts the start and the wait for the confirms.
  Sending publish_started(std::span<const Message> messages) override;
  std::size_t receive(std::vector<Delivery>& out, std::size_t max, Duration wait) override;
  void ack(std::span<const std::uint64_t> tags) override;
  void dead_letter(const Delivery& delivery, DeadLetterCode code, std::string_view detail) override;

  void reset() {
    publishes = published = received = body_bytes = dead_lettered = 0;
    publish_seconds = receive_seconds = ack_seconds = 0;
  }

  std::size_t publishes = 0, published = 0, received = 0, body_bytes = 0, dead_lettered = 0;
  // Time spent in each call (receive includes the waits for input when there is none).
  double publish_seconds = 0, receive_seconds = 0, ack_seconds = 0;
  ChainTrace* trace = nullptr;  // when set and on: the commands' publishes and confirms, and
                                // the replies' receipts

 private:
  Transport& inner_;
};

// A participant process, stopped (SIGTERM, then waited for) when this goes away.
class Process {
 public:
  explicit Process(std::vector<std::string> argv);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  bool running();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

struct Round {
  std::size_t rounds = 0;
  std::size_t inputs = 0;
};

// The four-step sagas over RabbitMQ: the orchestrator in this process on the store given, its
// transport counted, and alpha and beta as processes of their own (this binary in --serve mode),
// on a topology named after `prefix` that is deleted from the broker at the end. One saga has
// gone through when the constructor returns: the participants are connected and consuming.
// With `changes`, every commit's changes are published to it, as sagaflowd does for its admin
// endpoint (the event stream, waiting starts).
class SagaRig {
 public:
  SagaRig(const AmqpOptions& options, Store& store, std::string prefix,
          SagaChangeFeed* changes = nullptr);
  ~SagaRig();
  SagaRig(const SagaRig&) = delete;
  SagaRig& operator=(const SagaRig&) = delete;

  Orchestrator& orchestrator() { return *orchestrator_; }
  FlowRegistry& flows() { return flows_; }
  CountingTransport& counting() { return *counting_; }
  // Throws when a participant process has exited.
  void check_participants();
  std::vector<pid_t> participant_pids() const;
  // Starts `count` sagas at once and runs the orchestrator until every one has finished. With
  // `failing_every` n, the n-th, 2n-th... saga's user is named kFailingUserPrefix... (the peers'
  // participant fails its step three).
  Round burst(std::size_t count, Duration limit, std::size_t failing_every = 0);
  // Starts `count` sagas of bench_waiting_flow() and runs the orchestrator until each one's
  // start is committed: they wait (in the store and in the orchestrator's cache) from then on.
  void start_waiting(std::size_t count, Duration limit);
  std::size_t waiting() const { return waiting_; }

 private:
  // Runs the orchestrator until every start is answered and nothing but the waiting sagas is
  // left in its cache.
  Round settle(std::vector<std::future<StartResult>>& starts, Duration limit);
  // Deletes the topology from the broker when it goes: declared first, so destroyed last, once
  // the participants and the transport have stopped.
  struct TopologyGuard {
    std::string url;
    rabbitmq::Topology topology;
    std::vector<std::string> services;
    ~TopologyGuard();
  };

  AmqpOptions options_;
  TopologyGuard guard_;
  FlowRegistry flows_;
  std::unique_ptr<rabbitmq::OrchestratorTransport> transport_;
  std::unique_ptr<CountingTransport> counting_;
  SystemClock clock_;
  std::unique_ptr<Orchestrator> orchestrator_;
  std::vector<std::unique_ptr<Process>> participants_;  // last: they stop first
  std::size_t started_ = 0;
  std::size_t waiting_ = 0;  // sagas of the waiting flow started
};

// ---------------------------------------------------------------------------------------------
// The raw broker limits: rabbitmq-c alone, persistent messages to durable quorum queues,
// published with confirms and consumed with manual acks.

// A JSON body of exactly `size` bytes (when size allows one), like the sagas' bodies.
std::string body_of(std::size_t size);

struct RawOptions {
  std::string url;
  std::string queue;  // a name of its own; the queues are deleted at the end
  std::size_t messages = 0;
  std::size_t body_size = 0;
  std::uint16_t prefetch = 512;
  // Round trips only: the reply side's prefetch, and how many command queues (and replying
  // connections) there are, as there are participants.
  std::uint16_t worker_prefetch = 512;
  int services = 2;
  // The broker options tools/bench --broker-options compares (round trips only but the queue
  // type): "quorum" or "classic" (durable either way); round trips in flight at once (1: one
  // after the other, the round trip's latency); the replying side's acks: one multi-ack per
  // confirmed run (true) or one ack per command as its reply is confirmed (false); the
  // requesting side's acks: every this many replies (0: prefetch / 8).
  std::string queue_type = "quorum";
  std::uint64_t window = kConfirmWindow;
  bool replier_multi_ack = true;
  std::size_t requester_ack_every = 0;
};

// One way: messages per second from the first publish to the last ack, publisher and consumer
// on connections of their own.
double raw_broker_limit(const RawOptions& options);
// What one saga step costs the broker: a persistent command published with a confirm, consumed
// by a replying connection that publishes a persistent reply with a confirm and then acks the
// command, the reply consumed and acked. Round trips per second, first publish to last ack;
// `options.messages` round trips (2 messages each), kConfirmWindow of them in flight.
double raw_round_trips(const RawOptions& options);

}  // namespace sagaflow::bench
