#pragma once
// One AMQP connection and the thread that owns it. rabbitmq-c is not thread-safe per
// connection, so every call into it happens on this thread: other threads post() tasks. The
// link reconnects with backoff, re-declares the topology and resumes consuming; each connection
// gets a generation, carried in the high bits of delivery tags, so that a tag from an earlier
// connection is recognised and ignored (the broker redelivers that input anyway).
//
// Channel 1 publishes in confirm mode; channel 2 consumes (acks must go to the channel the
// delivery came on). Any channel or connection error tears the whole connection down: the
// reconnect restores a known state.
#include <amqp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "codec.hpp"
#include "sagaflow/engine/ports.hpp"
#include "sagaflow/rabbitmq/settings.hpp"

namespace sagaflow::rabbitmq::detail {

struct QueueSpec {
  std::string name;
  // Work queues dead-letter to the topology's dead exchange after its delivery limit; the
  // dead-letter queue itself does not.
  bool work = true;
  std::vector<std::pair<std::string, std::string>> bindings;  // exchange, routing key
};

struct LinkSettings {
  std::string name;  // who this is, in errors: "orchestrator", "worker 'points'"
  ConnectionSettings connection;
  Topology topology;
  std::vector<QueueSpec> queues;
  std::vector<std::string> consume;
  // A publisher of outside events: declares the events exchange only and opens no consuming
  // channel (queues and consume must be empty).
  bool events_only = false;
  std::uint16_t prefetch = 1;
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
  DeadLetterObserver* dead_letters = nullptr;  // told of every dead letter the link makes
};

struct Incoming {
  std::uint64_t tag = 0;
  std::string queue;
  Message message;
};

struct Outgoing {
  std::string exchange;
  std::string routing_key;
  bool mandatory = true;
  Message message;
  ExtraHeaders extra;
};

struct PublishResult {
  std::string error;        // empty: every message of the batch was confirmed
  bool unroutable = false;  // some message came back (basic.return)
  bool lost = false;        // not connected, or the connection dropped before the confirm
};
using Completion = std::function<void(const PublishResult&)>;

inline constexpr int kGenerationShift = 40;
inline constexpr std::uint64_t kRawTagMask = (std::uint64_t{1} << kGenerationShift) - 1;

class Link {
 public:
  using DeliveryHandler = std::function<void(Incoming&&)>;
  // Called on the I/O thread when a connection is up (true) or gone (false).
  using StateHandler = std::function<void(std::uint64_t generation, bool up)>;

  Link(LinkSettings settings, DeliveryHandler on_delivery, StateHandler on_state);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Any thread.
  void post(std::function<void()> task);
  bool connected() const { return connected_.load(); }
  std::uint64_t generation() const { return generation_.load(); }
  std::string last_error() const;
  void wait_connected(Duration timeout) const;
  // Publishes and waits for every confirm; throws Error. Not from the I/O thread.
  void publish_and_wait(std::vector<Outgoing> batch, Duration timeout);
  // Hands the batch to the I/O thread and returns the sending, whose wait for the confirms
  // throws as publish_and_wait does, and which is settled once they came or `timeout` passed.
  // Not from the I/O thread.
  Sending publish_started(std::vector<Outgoing> batch, Duration timeout);
  void interrupt();
  // Consumes from `queues` instead of the queues consumed so far, on a new connection: the
  // current one closes cleanly (after the confirms in flight, as at shutdown), so the broker
  // puts its unacknowledged deliveries back into their queues at once, and their tags, of the
  // old generation, are ignored from then on. Waits up to `timeout` for the new connection;
  // returns whether it is up. Not from the I/O thread.
  bool reconsume(std::vector<std::string> queues, Duration timeout);
  const LinkSettings& settings() const { return settings_; }
  // Declares more queues (and bindings) on the current connection, as open() declares those of
  // the settings, and on every connection after; returns each queue's consumer count, in order.
  // Throws Error when not connected, refused (the connection then starts again without them) or
  // not answered within `timeout`. Not from the I/O thread.
  std::vector<std::uint32_t> declare(std::vector<QueueSpec> queues, Duration timeout);
  // Each queue's consumer and ready message counts, by a passive declaration (which creates
  // nothing), on a channel of its own so that a queue that does not exist (nullopt; the broker
  // closes that channel) disturbs neither publishing nor consuming. Throws Error when not
  // connected or not answered within `timeout`. Not from the I/O thread.
  struct QueueCounts {
    std::uint32_t consumers = 0;
    std::uint64_t messages = 0;
  };
  std::vector<std::optional<QueueCounts>> inspect(std::vector<std::string> queues,
                                                  Duration timeout);

  // I/O thread only.
  bool is_current(std::uint64_t tag) const;
  void publish(std::vector<Outgoing> batch, Completion done);
  void ack(std::span<const std::uint64_t> tags);
  void requeue(std::span<const std::uint64_t> tags);
  // Publishes a copy to the dead exchange - the delivery's own properties and headers as
  // received, `message`'s body, and the reason headers - then acks the original; if the copy is
  // refused, rejects the original so that the queue's own dead-lettering takes it.
  void dead_letter(std::uint64_t tag, const Message& message, DeadLetterCode code,
                   std::string_view detail);

 private:
  struct Batch {
    std::size_t remaining = 0;
    std::size_t failures = 0;
    PublishResult result;
    Completion done;
  };
  struct Pending {
    std::shared_ptr<Batch> batch;
    std::string message_id;
    std::string what;  // the message, for errors
    std::string returned;
  };
  // An unacknowledged delivery: the queue it came from and its properties as received.
  struct Outstanding {
    std::string queue;
    ReceivedProperties properties;
  };

  void run();
  std::string open();
  // Declares the queue and its bindings on the publishing channel; the error, or empty. Its
  // consumer count goes to `consumers` when given.
  std::string declare_queue(const QueueSpec& q, std::uint32_t* consumers);
  // Drops the connection; unless `deliberate` (a clean close), tells the observer it was lost.
  void fail(const std::string& error, bool deliberate = false);
  // Tells ConnectionSettings::on_connection, if any.
  void notify(bool up, const std::string& error);
  void close();
  // Waits a moment (kShutdownGrace at most) for the confirms in flight.
  void settle_confirms();
  void run_tasks();
  void wait_io(std::chrono::milliseconds timeout);
  void drain();
  void handle(const amqp_frame_t& frame);
  void on_deliver(const amqp_frame_t& frame);
  void on_return(const amqp_frame_t& frame);
  void on_confirm(std::uint64_t seq, bool multiple, bool ok);
  bool publish_one(const std::string& exchange, const std::string& routing_key, bool mandatory,
                   const amqp_basic_properties_t& properties, amqp_bytes_t body,
                   std::string message_id, std::string what, const std::shared_ptr<Batch>& batch);
  void dead_letter_publish(std::uint64_t raw, DeadLetterCode code, std::string detail,
                           amqp_bytes_t body, std::string what);
  // Classic queues count no deliveries: the link counts a message's returns itself, on the
  // message (kReturnsHeader), for every queue but the dead letters'.
  bool counts_returns(const std::string& queue) const;
  // Publishes a copy of the redelivered input, its returns counted, back to its queue, then
  // acks the original; a refused copy leaves the original to be handled as it is.
  void return_to_queue(std::uint64_t raw, std::uint32_t returns, amqp_bytes_t body, Incoming in);
  static void settle(const std::shared_ptr<Batch>& batch, const std::string& error, bool unroutable,
                     bool lost);
  void set_error(std::string error);

  const LinkSettings settings_;
  const DeliveryHandler on_delivery_;
  const StateHandler on_state_;
  int wake_fd_ = -1;

  // Shared with other threads.
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<std::function<void()>> tasks_;
  std::string last_error_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> generation_{0};

  // I/O thread only.
  std::vector<std::string> consume_;  // the queues consumed (settings_.consume, then reconsume())
  std::vector<QueueSpec> declared_later_;  // by declare(), after settings_.queues
  amqp_connection_state_t conn_ = nullptr;
  std::uint64_t next_seq_ = 1;
  std::map<std::uint64_t, Pending> unconfirmed_;
  std::map<std::uint64_t, Outstanding> outstanding_;  // by raw delivery tag
  // Inputs returned to their queue whose copies are not yet confirmed, by message id, and the
  // deliveries of that id held back until they are (return_to_queue).
  struct Held {
    int returns = 0;
    std::vector<Incoming> copies;
  };
  std::unordered_map<std::string, Held> held_;
  std::unordered_map<std::string, std::string> consumers_;  // consumer tag -> queue
  std::chrono::steady_clock::time_point last_heard_{};
  std::chrono::steady_clock::time_point last_heartbeat_sent_{};

  std::thread thread_;  // last: starts after everything above exists
};

// "command points.reserve (id ...)": how errors name a message.
std::string describe(const Message& m);

// An outside event as published (docs/protocol.md 8): to the events exchange, routing key = its
// type, persistent, kind event.
Outgoing outside_event(const Topology& topology, Message event, bool mandatory);

}  // namespace sagaflow::rabbitmq::detail
