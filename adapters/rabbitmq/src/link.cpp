#include "link.hpp"

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <future>

#include "sagaflow/engine/backoff.hpp"

namespace sagaflow::rabbitmq::detail {

namespace {

constexpr amqp_channel_t kPublishChannel = 1;
constexpr amqp_channel_t kConsumeChannel = 2;
constexpr amqp_channel_t kInspectChannel = 3;
// A longer wait leaves posted work (acks, publishes) waiting; the wake fd cuts it short anyway.
constexpr std::chrono::milliseconds kIdleWait{100};
// Frames handled before posted tasks get their turn again.
constexpr int kFramesPerTurn = 256;
constexpr std::chrono::milliseconds kShutdownGrace{2000};
// Errors of one batch named one by one; the rest are counted.
constexpr std::size_t kErrorsNamed = 5;

using Clock = std::chrono::steady_clock;

timeval to_timeval(std::chrono::milliseconds d) {
  return timeval{static_cast<time_t>(d.count() / 1000),
                 static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

std::string describe(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_connection_close_t*>(r.reply.decoded);
        return "connection closed by the broker: " + std::to_string(m->reply_code) + " " +
               to_string(m->reply_text);
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_channel_close_t*>(r.reply.decoded);
        return "channel closed by the broker: " + std::to_string(m->reply_code) + " " +
               to_string(m->reply_text);
      }
      return "unexpected method " + std::to_string(r.reply.id);
  }
  return "unknown reply";
}

bool ok(const amqp_rpc_reply_t& r) {
  return r.reply_type == AMQP_RESPONSE_NORMAL;
}

amqp_table_entry_t entry(const char* key, const std::string& value) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_UTF8;
  e.value.value.bytes = bytes(value);
  return e;
}

}  // namespace

std::string describe(const Message& m) {
  std::string s = std::string(to_string(m.kind)) + " " + m.type + " (id " + m.id + ")";
  if (!m.destination.empty()) s += " for '" + m.destination + "'";
  return s;
}

Outgoing outside_event(const Topology& topology, Message event, bool mandatory) {
  event.kind = MessageKind::event;
  auto routing_key = event.type;
  return {topology.events_exchange(), std::move(routing_key), mandatory, std::move(event), {}};
}

// ---------------------------------------------------------------------------------------------
// Any thread

Link::Link(LinkSettings settings, DeliveryHandler on_delivery, StateHandler on_state)
    : settings_(std::move(settings)),
      on_delivery_(std::move(on_delivery)),
      on_state_(std::move(on_state)),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      consume_(settings_.consume) {
  if (wake_fd_ < 0) throw Error(settings_.name + ": cannot create an eventfd");
  thread_ = std::thread([this] { run(); });
}

Link::~Link() {
  stopping_ = true;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  thread_.join();
  ::close(wake_fd_);
}

void Link::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

std::string Link::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void Link::set_error(std::string error) {
  {
    std::lock_guard lock(mutex_);
    last_error_ = std::move(error);
  }
  changed_.notify_all();
}

void Link::wait_connected(Duration timeout) const {
  std::unique_lock lock(mutex_);
  if (changed_.wait_for(lock, timeout, [&] { return connected_.load(); })) return;
  throw Error(settings_.name + ": not connected to " + settings_.connection.redacted_url() +
              " after " + std::to_string(timeout.count()) + " ms" +
              (last_error_.empty() ? std::string() : ": " + last_error_));
}

void Link::publish_and_wait(std::vector<Outgoing> batch, Duration timeout) {
  if (auto sending = publish_started(std::move(batch), timeout)) sending.wait();
}

Sending Link::publish_started(std::vector<Outgoing> batch, Duration timeout) {
  if (batch.empty()) return {};
  const auto count = batch.size();
  auto promise = std::make_shared<std::promise<PublishResult>>();
  auto future = promise->get_future().share();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  post([this, batch = std::move(batch), promise]() mutable {
    publish(std::move(batch), [promise](const PublishResult& r) { promise->set_value(r); });
  });
  Sending sending;
  sending.wait = [future, deadline, count, timeout, name = settings_.name] {
    if (future.wait_until(deadline) != std::future_status::ready) {
      throw Error(name + ": the broker did not confirm " + std::to_string(count) +
                  " message(s) within " + std::to_string(timeout.count()) + " ms");
    }
    const auto& result = future.get();
    if (!result.error.empty()) throw Error(result.error);
  };
  sending.settled = [future, deadline] {
    return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready ||
           std::chrono::steady_clock::now() >= deadline;
  };
  return sending;
}

void Link::interrupt() {
  post([this] {
    if (conn_ != nullptr) ::shutdown(amqp_get_sockfd(conn_), SHUT_RDWR);
  });
}

bool Link::reconsume(std::vector<std::string> queues, Duration timeout) {
  const auto before = generation_.load();
  post([this, queues = std::move(queues)]() mutable {
    consume_ = std::move(queues);
    settle_confirms();
    close();  // the loop opens the next connection at once, consuming consume_
  });
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout,
                           [&] { return connected_.load() && generation_.load() > before; });
}

// ---------------------------------------------------------------------------------------------
// The I/O thread's loop

void Link::run() {
  Backoff backoff({settings_.connection.reconnect_min, settings_.connection.reconnect_max},
                  system_random());
  while (!stopping_) {
    if (conn_ == nullptr) {
      auto error = open();
      if (!error.empty()) {
        if (conn_ != nullptr) amqp_destroy_connection(conn_);
        conn_ = nullptr;
        error = settings_.name + ": cannot connect to " + settings_.connection.redacted_url() +
                ": " + error;
        set_error(error);
        notify(false, error);
        // The eventfd cuts the wait short for the destructor and for posted tasks.
        const auto until = Clock::now() + backoff.next();
        while (!stopping_ && Clock::now() < until) {
          wait_io(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()));
          run_tasks();
        }
        continue;
      }
      backoff.reset();
      last_heard_ = last_heartbeat_sent_ = Clock::now();
      auto generation = generation_.load() + 1;
      {
        std::lock_guard lock(mutex_);
        generation_ = generation;
        connected_ = true;
        last_error_.clear();
      }
      changed_.notify_all();
      notify(true, {});
      if (on_state_) on_state_(generation, true);
    }
    wait_io(kIdleWait);
    run_tasks();
    if (conn_ != nullptr) drain();
    if (conn_ != nullptr) {
      // rabbitmq-c services heartbeats only inside its calls, and we read with zero timeouts:
      // send ours, and watch the broker's, here.
      const int heartbeat = amqp_get_heartbeat(conn_);
      const auto now = Clock::now();
      if (heartbeat > 0 && now - last_heard_ > std::chrono::seconds(2 * heartbeat)) {
        fail("the broker missed two heartbeats");
      } else if (heartbeat > 0 &&
                 now - last_heartbeat_sent_ >= std::chrono::milliseconds(500 * heartbeat)) {
        amqp_frame_t frame{};
        frame.frame_type = AMQP_FRAME_HEARTBEAT;
        frame.channel = 0;
        if (int rc = amqp_send_frame(conn_, &frame); rc != AMQP_STATUS_OK) {
          fail(std::string("sending a heartbeat: ") + amqp_error_string2(rc));
        }
        last_heartbeat_sent_ = now;
      }
    }
    if (conn_ != nullptr && !amqp_frames_enqueued(conn_)) amqp_maybe_release_buffers(conn_);
  }
  // Work handed over before the stop (acks, dead letters) still goes out, and confirms in
  // flight get a moment to arrive, so that a clean shutdown leaves few duplicates behind.
  run_tasks();
  settle_confirms();
  close();
  run_tasks();  // anything posted meanwhile finds no connection and fails at once
}

void Link::settle_confirms() {
  const auto deadline = Clock::now() + kShutdownGrace;
  while (conn_ != nullptr && !unconfirmed_.empty() && Clock::now() < deadline) {
    wait_io(std::chrono::milliseconds(10));
    drain();
  }
}

std::string Link::open() {
  const auto& c = settings_.connection;
  conn_ = amqp_new_connection();
  if (conn_ == nullptr) return "out of memory";
  amqp_socket_t* socket = nullptr;
  if (c.tls.enabled) {
    socket = amqp_ssl_socket_new(conn_);
    if (socket == nullptr) return "cannot create a TLS socket";
    if (!c.tls.ca_file.empty()) {
      if (int rc = amqp_ssl_socket_set_cacert(socket, c.tls.ca_file.c_str()); rc != 0) {
        return "cannot use CA file '" + c.tls.ca_file + "': " + amqp_error_string2(rc);
      }
    }
    if (!c.tls.cert_file.empty()) {
      int rc = amqp_ssl_socket_set_key(socket, c.tls.cert_file.c_str(), c.tls.key_file.c_str());
      if (rc != 0) {
        return "cannot use client certificate '" + c.tls.cert_file + "' with key '" +
               c.tls.key_file + "': " + amqp_error_string2(rc);
      }
    }
    amqp_ssl_socket_set_verify_peer(socket, c.tls.verify_peer ? 1 : 0);
    amqp_ssl_socket_set_verify_hostname(socket, c.tls.verify_hostname ? 1 : 0);
  } else {
    socket = amqp_tcp_socket_new(conn_);
    if (socket == nullptr) return "cannot create a socket";
  }
  auto connect_timeout = to_timeval(c.connect_timeout);
  auto rpc_timeout = to_timeval(std::max(c.connect_timeout, std::chrono::milliseconds(10000)));
  amqp_set_handshake_timeout(conn_, &connect_timeout);
  amqp_set_rpc_timeout(conn_, &rpc_timeout);
  if (int rc = amqp_socket_open_noblock(socket, c.host.c_str(), c.port, &connect_timeout);
      rc != AMQP_STATUS_OK) {
    return amqp_error_string2(rc);
  }
  // The connection's name shows in rabbitmqctl and the management UI: which process is which.
  const std::string connection_name =
      "sagaflow " + settings_.name + " [" + settings_.topology.prefix + "]";
  amqp_table_entry_t client[] = {entry("connection_name", connection_name)};
  amqp_table_t client_properties{1, client};
  auto login = amqp_login_with_properties(
      conn_, c.vhost.c_str(), 0, 131072, static_cast<int>(c.heartbeat.count()), &client_properties,
      AMQP_SASL_METHOD_PLAIN, c.user.c_str(), c.password.c_str());
  if (!ok(login)) {
    return "login as '" + c.user + "' to vhost '" + c.vhost + "' failed: " + describe(login);
  }

  auto check = [&](const std::string& what) -> std::string {
    auto reply = amqp_get_rpc_reply(conn_);
    return ok(reply) ? std::string() : what + ": " + describe(reply);
  };
  std::string error;
  amqp_channel_open(conn_, kPublishChannel);
  if (!(error = check("opening the publishing channel")).empty()) return error;
  amqp_confirm_select(conn_, kPublishChannel);
  if (!(error = check("enabling publisher confirms")).empty()) return error;

  const auto& t = settings_.topology;
  std::vector<std::pair<std::string, const char*>> exchanges{{t.events_exchange(), "topic"}};
  if (!settings_.events_only) {
    exchanges.emplace_back(t.commands_exchange(), "topic");
    exchanges.emplace_back(t.dead_exchange(), "fanout");
  }
  for (const auto& [name, type] : exchanges) {
    amqp_exchange_declare(conn_, kPublishChannel, bytes(name), amqp_cstring_bytes(type), 0, 1, 0, 0,
                          amqp_empty_table);
    if (!(error = check("declaring exchange '" + name + "'")).empty()) return error;
  }
  for (const auto& q : settings_.queues) {
    if (!(error = declare_queue(q, nullptr)).empty()) return error;
  }
  for (const auto& q : declared_later_) {
    if (!(error = declare_queue(q, nullptr)).empty()) return error;
  }

  next_seq_ = 1;
  unconfirmed_.clear();
  outstanding_.clear();
  held_.clear();
  consumers_.clear();
  if (settings_.events_only) return {};

  amqp_channel_open(conn_, kConsumeChannel);
  if (!(error = check("opening the consuming channel")).empty()) return error;
  amqp_basic_qos(conn_, kConsumeChannel, 0, settings_.prefetch, 0);
  if (!(error = check("setting the prefetch")).empty()) return error;
  for (const auto& queue : consume_) {
    auto* consume_ok = amqp_basic_consume(conn_, kConsumeChannel, bytes(queue), amqp_empty_bytes, 0,
                                          0, 0, amqp_empty_table);
    if (!(error = check("consuming from '" + queue + "'")).empty()) return error;
    consumers_[to_string(consume_ok->consumer_tag)] = queue;
  }
  return {};
}

std::string Link::declare_queue(const QueueSpec& q, std::uint32_t* consumers) {
  auto check = [&](const std::string& what) -> std::string {
    auto reply = amqp_get_rpc_reply(conn_);
    return ok(reply) ? std::string() : what + ": " + describe(reply);
  };
  const auto& t = settings_.topology;
  const std::string dead = t.dead_exchange();
  const std::string type = t.queue_type == QueueType::classic ? "classic" : "quorum";
  std::vector<amqp_table_entry_t> args{entry("x-queue-type", type)};
  if (q.work) {
    args.push_back(entry("x-dead-letter-exchange", dead));
  }
  // Only quorum queues count deliveries (RabbitMQ 3.10): a classic queue has no limit.
  if (q.work && t.queue_type == QueueType::quorum) {
    amqp_table_entry_t limit{};
    limit.key = amqp_cstring_bytes("x-delivery-limit");
    limit.value.kind = AMQP_FIELD_KIND_I64;
    limit.value.value.i64 = t.delivery_limit;
    args.push_back(limit);
  }
  amqp_table_t table{static_cast<int>(args.size()), args.data()};
  auto* declared = amqp_queue_declare(conn_, kPublishChannel, bytes(q.name), 0, 1, 0, 0, table);
  std::string error;
  if (!(error = check("declaring queue '" + q.name + "'")).empty()) return error;
  if (consumers != nullptr && declared != nullptr) *consumers = declared->consumer_count;
  for (const auto& [exchange, key] : q.bindings) {
    amqp_queue_bind(conn_, kPublishChannel, bytes(q.name), bytes(exchange), bytes(key),
                    amqp_empty_table);
    if (!(error =
              check("binding queue '" + q.name + "' to '" + exchange + "' with key '" + key + "'"))
             .empty()) {
      return error;
    }
  }
  return {};
}

std::vector<std::uint32_t> Link::declare(std::vector<QueueSpec> queues, Duration timeout) {
  auto promise = std::make_shared<std::promise<std::vector<std::uint32_t>>>();
  auto future = promise->get_future();
  post([this, queues = std::move(queues), promise]() mutable {
    if (conn_ == nullptr) {
      promise->set_exception(std::make_exception_ptr(Error(settings_.name + ": not connected to " +
                                                           settings_.connection.redacted_url() +
                                                           ", cannot declare queues")));
      return;
    }
    std::vector<std::uint32_t> consumers;
    for (auto& q : queues) {
      std::uint32_t count = 0;
      if (auto error = declare_queue(q, &count); !error.empty()) {
        // A refused declaration closed the channel: the reconnect starts clean, without it.
        fail(error);
        promise->set_exception(std::make_exception_ptr(Error(settings_.name + ": " + error)));
        return;
      }
      consumers.push_back(count);
      declared_later_.push_back(std::move(q));  // declared again on every reconnect
    }
    promise->set_value(std::move(consumers));
  });
  if (future.wait_for(timeout) != std::future_status::ready) {
    throw Error(settings_.name + ": the broker did not answer the declarations within " +
                std::to_string(timeout.count()) + " ms");
  }
  return future.get();
}

std::vector<std::optional<Link::QueueCounts>> Link::inspect(std::vector<std::string> queues,
                                                            Duration timeout) {
  using Counts = std::vector<std::optional<QueueCounts>>;
  auto promise = std::make_shared<std::promise<Counts>>();
  auto future = promise->get_future();
  post([this, queues = std::move(queues), promise] {
    if (conn_ == nullptr) {
      promise->set_exception(std::make_exception_ptr(Error(settings_.name + ": not connected to " +
                                                           settings_.connection.redacted_url() +
                                                           ", cannot count consumers")));
      return;
    }
    Counts counts;
    bool open = false;
    for (const auto& queue : queues) {
      if (!open) {
        amqp_channel_open(conn_, kInspectChannel);
        auto reply = amqp_get_rpc_reply(conn_);
        if (!ok(reply)) {
          auto error = "opening the inspecting channel: " + describe(reply);
          fail(error);
          promise->set_exception(std::make_exception_ptr(Error(settings_.name + ": " + error)));
          return;
        }
        open = true;
      }
      auto* declared =
          amqp_queue_declare(conn_, kInspectChannel, bytes(queue), 1, 0, 0, 0, amqp_empty_table);
      auto reply = amqp_get_rpc_reply(conn_);
      if (ok(reply) && declared != nullptr) {
        counts.push_back(QueueCounts{declared->consumer_count, declared->message_count});
        continue;
      }
      if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
          reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        // No such queue (404): the broker closed the inspecting channel; confirm and go on.
        amqp_channel_close_ok_t close_ok{};
        amqp_send_method(conn_, kInspectChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
        open = false;
        counts.push_back(std::nullopt);
        continue;
      }
      auto error = "counting the consumers of '" + queue + "': " + describe(reply);
      fail(error);
      promise->set_exception(std::make_exception_ptr(Error(settings_.name + ": " + error)));
      return;
    }
    if (open) {
      amqp_channel_close(conn_, kInspectChannel, AMQP_REPLY_SUCCESS);
      if (auto reply = amqp_get_rpc_reply(conn_); !ok(reply)) {
        fail("closing the inspecting channel: " + describe(reply));
      }
    }
    promise->set_value(std::move(counts));
  });
  if (future.wait_for(timeout) != std::future_status::ready) {
    throw Error(settings_.name + ": the broker did not answer the queue counts within " +
                std::to_string(timeout.count()) + " ms");
  }
  return future.get();
}

void Link::notify(bool up, const std::string& error) {
  if (settings_.connection.on_connection) settings_.connection.on_connection(up, error);
}

void Link::fail(const std::string& error, bool deliberate) {
  if (conn_ == nullptr) return;
  if (!deliberate) notify(false, settings_.name + ": " + error);
  amqp_destroy_connection(conn_);
  conn_ = nullptr;
  connected_ = false;
  set_error(settings_.name + ": " + error);
  consumers_.clear();
  outstanding_.clear();
  held_.clear();
  next_seq_ = 1;
  auto pending = std::move(unconfirmed_);
  unconfirmed_.clear();
  for (auto& [seq, p] : pending) {
    settle(p.batch, "connection lost before the broker confirmed " + p.what + " (" + error + ")",
           false, true);
  }
  if (on_state_) on_state_(generation_.load(), false);
}

void Link::close() {
  if (conn_ == nullptr) return;
  // A clean close: the broker puts unacknowledged deliveries back into their queues at once.
  amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  fail("closed", /*deliberate=*/true);
}

void Link::run_tasks() {
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard lock(mutex_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) task();
}

void Link::wait_io(std::chrono::milliseconds timeout) {
  if (conn_ != nullptr && (amqp_frames_enqueued(conn_) || amqp_data_in_buffer(conn_))) {
    timeout = std::chrono::milliseconds(0);
  }
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {-1, POLLIN, 0}};
  nfds_t count = 1;
  if (conn_ != nullptr) {
    fds[1].fd = amqp_get_sockfd(conn_);
    count = 2;
  }
  int ready = ::poll(fds, count, static_cast<int>(timeout.count()));
  if (ready <= 0) return;
  if (fds[0].revents != 0) {
    std::uint64_t value = 0;
    [[maybe_unused]] auto n = ::read(wake_fd_, &value, sizeof value);
  }
  if (count == 2 && fds[1].revents != 0) last_heard_ = Clock::now();
}

void Link::drain() {
  const timeval zero{0, 0};
  for (int i = 0; i < kFramesPerTurn && conn_ != nullptr; ++i) {
    amqp_frame_t frame{};
    int rc = amqp_simple_wait_frame_noblock(conn_, &frame, &zero);
    if (rc == AMQP_STATUS_TIMEOUT) return;
    if (rc != AMQP_STATUS_OK)
      return fail(std::string("connection lost: ") + amqp_error_string2(rc));
    last_heard_ = Clock::now();
    handle(frame);
  }
}

void Link::handle(const amqp_frame_t& frame) {
  if (frame.frame_type != AMQP_FRAME_METHOD) return;  // content outside a message: nothing to do
  switch (frame.payload.method.id) {
    case AMQP_BASIC_DELIVER_METHOD:
      return on_deliver(frame);
    case AMQP_BASIC_RETURN_METHOD:
      return on_return(frame);
    case AMQP_BASIC_ACK_METHOD: {
      const auto* m = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
      return on_confirm(m->delivery_tag, m->multiple != 0, true);
    }
    case AMQP_BASIC_NACK_METHOD: {
      const auto* m = static_cast<const amqp_basic_nack_t*>(frame.payload.method.decoded);
      return on_confirm(m->delivery_tag, m->multiple != 0, false);
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      const auto* m = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
      return fail("channel " + std::to_string(frame.channel) + " closed by the broker: " +
                  std::to_string(m->reply_code) + " " + to_string(m->reply_text));
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      const auto* m = static_cast<const amqp_connection_close_t*>(frame.payload.method.decoded);
      auto error = "connection closed by the broker: " + std::to_string(m->reply_code) + " " +
                   to_string(m->reply_text);
      amqp_connection_close_ok_t close_ok{};
      amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &close_ok);
      return fail(error);
    }
    case AMQP_BASIC_CANCEL_METHOD:
      return fail("the broker cancelled a consumer (queue deleted?)");
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Consuming

void Link::on_deliver(const amqp_frame_t& frame) {
  const auto* d = static_cast<const amqp_basic_deliver_t*>(frame.payload.method.decoded);
  const std::uint64_t raw = d->delivery_tag;
  const std::string consumer = to_string(d->consumer_tag);
  const std::string routing_key = to_string(d->routing_key);
  const bool redelivered = d->redelivered != 0;
  amqp_message_t message{};
  auto reply = amqp_read_message(conn_, frame.channel, &message, 0);
  if (!ok(reply)) return fail("reading a delivery: " + describe(reply));

  auto queue_it = consumers_.find(consumer);
  Incoming in;
  in.tag = (generation_.load() << kGenerationShift) | raw;
  in.queue = queue_it == consumers_.end() ? std::string() : queue_it->second;
  // The properties stay until the delivery is settled: a dead letter, whoever asks for it,
  // carries them as received.
  auto& kept = outstanding_[raw] = Outstanding{in.queue, ReceivedProperties(message)};
  const auto& received = kept.properties.get();

  std::optional<Undecodable> error;
  if (message.body.len > settings_.max_message_bytes) {
    error = Undecodable{DeadLetterCode::oversized,
                        "message of " + std::to_string(message.body.len) +
                            " bytes is over the limit of " +
                            std::to_string(settings_.max_message_bytes) + " bytes"};
  } else {
    error = decode(received, message.body, routing_key, in.message);
  }
  if (error) {
    // Never reaches the engine: dead-lettered here, so the queue flows on.
    auto id = received._flags & AMQP_BASIC_MESSAGE_ID_FLAG ? to_string(received.message_id)
                                                           : std::string();
    dead_letter_publish(raw, error->code, std::move(error->detail), message.body,
                        "undecodable message '" + id + "' from '" + in.queue + "'");
    amqp_bytes_free(message.body);
    return;
  }
  if (redelivered && counts_returns(in.queue)) {
    const std::uint64_t returns = std::uint64_t{returns_counted(received)} + 1;
    if (returns > settings_.topology.delivery_limit) {
      dead_letter_publish(raw, DeadLetterCode::delivery_limit,
                          "returned " + std::to_string(returns) + " times to '" + in.queue +
                              "', over the delivery limit of " +
                              std::to_string(settings_.topology.delivery_limit),
                          message.body, "dead letter of " + describe(in.message));
    } else {
      return_to_queue(raw, static_cast<std::uint32_t>(returns), message.body, std::move(in));
    }
    amqp_bytes_free(message.body);
    return;
  }
  amqp_bytes_free(message.body);
  // Only while a return is in flight (classic queues, after a redelivery): nothing per message
  // otherwise.
  if (!held_.empty()) {
    if (auto held = held_.find(in.message.id); held != held_.end()) {
      held->second.copies.push_back(std::move(in));
      return;
    }
  }
  on_delivery_(std::move(in));
}

bool Link::counts_returns(const std::string& queue) const {
  return settings_.topology.queue_type == QueueType::classic && !queue.empty() &&
         queue != settings_.topology.dead_letter_queue();
}

void Link::return_to_queue(std::uint64_t raw, std::uint32_t returns, amqp_bytes_t body,
                           Incoming in) {
  const auto& original = outstanding_.at(raw);
  EncodedProperties copy;
  returned_properties(original.properties.get(), returns, copy);
  auto what = "return of " + describe(in.message) + " to '" + original.queue + "'";
  auto message_id = in.message.id;
  const auto generation = generation_.load();
  // The broker hands the copy to its consumers before it confirms it; held until the original
  // is acked, the copy cannot crash this process while the original would still come back too.
  ++held_[message_id].returns;
  auto kept = std::make_shared<Incoming>(std::move(in));
  auto batch = std::make_shared<Batch>();
  batch->remaining = 1;
  batch->done = [this, generation, raw, kept, id = message_id](const PublishResult& r) {
    // Connection lost: the broker redelivers the original (and the copy, if it took it).
    if (conn_ == nullptr || generation_.load() != generation || !outstanding_.count(raw)) return;
    if (r.error.empty()) {
      const std::uint64_t tag = (generation << kGenerationShift) | raw;
      ack(std::span(&tag, 1));
    } else if (!r.lost) {
      // The copy was refused: the original is handled as it is, uncounted, rather than
      // returned again at once, in a loop.
      on_delivery_(std::move(*kept));
    }
    auto held = held_.find(id);
    if (held == held_.end() || --held->second.returns > 0) return;
    auto copies = std::move(held->second.copies);
    held_.erase(held);
    for (auto& copy : copies) on_delivery_(std::move(copy));
  };
  // To the default exchange, whose routing key is the queue's name: back to this queue only.
  publish_one("", original.queue, true, copy.properties, body, std::move(message_id),
              std::move(what), batch);
}

bool Link::is_current(std::uint64_t tag) const {
  return conn_ != nullptr && (tag >> kGenerationShift) == generation_.load() &&
         outstanding_.count(tag & kRawTagMask) != 0;
}

void Link::ack(std::span<const std::uint64_t> tags) {
  std::vector<std::uint64_t> raws;
  for (auto tag : tags) {
    if (is_current(tag)) raws.push_back(tag & kRawTagMask);
  }
  if (raws.empty()) return;
  std::sort(raws.begin(), raws.end());
  raws.erase(std::unique(raws.begin(), raws.end()), raws.end());
  // One multiple-ack covers the run of tags that starts at the oldest unacknowledged one; the
  // rest (gaps left by inputs still in progress) are acked one by one.
  std::size_t run = 0;
  for (auto it = outstanding_.begin(); run < raws.size() && it != outstanding_.end(); ++it, ++run) {
    if (it->first != raws[run]) break;
  }
  auto send = [&](std::uint64_t raw, bool multiple) {
    if (conn_ == nullptr) return;
    if (int rc = amqp_basic_ack(conn_, kConsumeChannel, raw, multiple ? 1 : 0);
        rc != AMQP_STATUS_OK) {
      fail(std::string("acknowledging: ") + amqp_error_string2(rc));
    }
  };
  if (run > 0) {
    send(raws[run - 1], run > 1);
    outstanding_.erase(outstanding_.begin(), outstanding_.upper_bound(raws[run - 1]));
  }
  for (std::size_t i = run; i < raws.size(); ++i) {
    send(raws[i], false);
    outstanding_.erase(raws[i]);
  }
}

void Link::requeue(std::span<const std::uint64_t> tags) {
  for (auto tag : tags) {
    if (!is_current(tag)) continue;
    const auto raw = tag & kRawTagMask;
    outstanding_.erase(raw);
    if (int rc = amqp_basic_nack(conn_, kConsumeChannel, raw, 0, 1); rc != AMQP_STATUS_OK) {
      return fail(std::string("requeueing: ") + amqp_error_string2(rc));
    }
  }
}

void Link::dead_letter(std::uint64_t tag, const Message& message, DeadLetterCode code,
                       std::string_view detail) {
  if (!is_current(tag)) return;  // from an earlier connection: the broker redelivers it
  dead_letter_publish(tag & kRawTagMask, code, std::string(detail), bytes(message.body),
                      "dead letter of " + describe(message));
}

void Link::dead_letter_publish(std::uint64_t raw, DeadLetterCode code, std::string detail,
                               amqp_bytes_t body, std::string what) {
  const auto& original = outstanding_.at(raw);
  const auto& received = original.properties.get();
  // The headers point into `extra`: it lives until the publish call returns.
  const ExtraHeaders extra{{std::string(kReasonHeader), detail},
                           {std::string(kReasonCodeHeader), to_string(code)},
                           {std::string(kQueueHeader), original.queue}};
  EncodedProperties copy;
  dead_letter_properties(received, extra, copy);
  auto message_id =
      received._flags & AMQP_BASIC_MESSAGE_ID_FLAG ? to_string(received.message_id) : std::string();
  const auto generation = generation_.load();
  auto batch = std::make_shared<Batch>();
  batch->remaining = 1;
  batch->done = [this, generation, raw, code, detail = std::move(detail), queue = original.queue,
                 message_id](const PublishResult& r) {
    if (conn_ == nullptr || generation_.load() != generation || !outstanding_.count(raw)) return;
    if (r.error.empty()) {
      const std::uint64_t tag = (generation << kGenerationShift) | raw;
      ack(std::span(&tag, 1));
    } else if (!r.lost) {
      // The copy was refused: reject the original, and the queue's own dead-lettering takes it.
      outstanding_.erase(raw);
      if (int rc = amqp_basic_reject(conn_, kConsumeChannel, raw, 0); rc != AMQP_STATUS_OK) {
        return fail(std::string("rejecting: ") + amqp_error_string2(rc));
      }
    } else {
      return;  // the connection dropped: the broker redelivers the original
    }
    if (settings_.dead_letters != nullptr) {
      settings_.dead_letters->dead_lettered({code, detail, queue, message_id});
    }
  };
  publish_one(settings_.topology.dead_exchange(), original.queue, true, copy.properties, body,
              message_id, std::move(what), batch);
}

// ---------------------------------------------------------------------------------------------
// Publishing with confirms

void Link::publish(std::vector<Outgoing> outgoing, Completion done) {
  auto batch = std::make_shared<Batch>();
  batch->remaining = outgoing.size();
  batch->done = std::move(done);
  if (outgoing.empty()) return batch->done(PublishResult{});
  EncodedProperties properties;
  for (const auto& o : outgoing) {
    encode(o.message, o.extra, properties);
    publish_one(o.exchange, o.routing_key, o.mandatory, properties.properties,
                bytes(o.message.body), o.message.id,
                describe(o.message) + " to exchange '" + o.exchange + "' with routing key '" +
                    o.routing_key + "'",
                batch);
  }
}

bool Link::publish_one(const std::string& exchange, const std::string& routing_key, bool mandatory,
                       const amqp_basic_properties_t& properties, amqp_bytes_t body,
                       std::string message_id, std::string what,
                       const std::shared_ptr<Batch>& batch) {
  if (conn_ == nullptr) {
    auto error = last_error();
    settle(batch,
           settings_.name + ": not connected to " + settings_.connection.redacted_url() +
               ", cannot publish " + what + (error.empty() ? "" : " (" + error + ")"),
           false, true);
    return false;
  }
  int rc = amqp_basic_publish(conn_, kPublishChannel, bytes(exchange), bytes(routing_key),
                              mandatory ? 1 : 0, 0, &properties, body);
  if (rc != AMQP_STATUS_OK) {
    auto error = std::string("publishing ") + what + ": " + amqp_error_string2(rc);
    settle(batch, error, false, true);
    fail(error);
    return false;
  }
  unconfirmed_.emplace(next_seq_++, Pending{batch, std::move(message_id), std::move(what), {}});
  return true;
}

void Link::on_return(const amqp_frame_t& frame) {
  const auto* r = static_cast<const amqp_basic_return_t*>(frame.payload.method.decoded);
  const std::string why = std::to_string(r->reply_code) + " " + to_string(r->reply_text);
  amqp_message_t message{};
  auto reply = amqp_read_message(conn_, frame.channel, &message, 0);
  if (!ok(reply)) return fail("reading a returned message: " + describe(reply));
  const auto id = message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG
                      ? to_string(message.properties.message_id)
                      : std::string();
  amqp_destroy_message(&message);
  // The return comes before the confirm of the same message; confirms of other messages may
  // come in any order, so the message is found by its id.
  for (auto& [seq, p] : unconfirmed_) {
    if (p.returned.empty() && p.message_id == id) {
      p.returned = "unroutable: " + p.what + " was returned by the broker (" + why + ")";
      return;
    }
  }
}

void Link::on_confirm(std::uint64_t seq, bool multiple, bool confirmed) {
  std::vector<Pending> done;
  auto end = multiple ? (seq == 0 ? unconfirmed_.end() : unconfirmed_.upper_bound(seq))
                      : unconfirmed_.find(seq);
  auto begin = multiple ? unconfirmed_.begin() : end;
  if (!multiple && end != unconfirmed_.end()) end = std::next(end);
  for (auto it = begin; it != end;) {
    done.push_back(std::move(it->second));
    it = unconfirmed_.erase(it);
  }
  for (auto& p : done) {
    if (!confirmed) {
      settle(p.batch, "the broker refused " + p.what + " (basic.nack)", false, false);
    } else if (!p.returned.empty()) {
      settle(p.batch, p.returned, true, false);
    } else {
      settle(p.batch, {}, false, false);
    }
  }
}

void Link::settle(const std::shared_ptr<Batch>& batch, const std::string& error, bool unroutable,
                  bool lost) {
  auto& r = batch->result;
  if (!error.empty()) {
    ++batch->failures;
    if (batch->failures <= kErrorsNamed) {
      if (!r.error.empty()) r.error += "; ";
      r.error += error;
    }
  }
  r.unroutable = r.unroutable || unroutable;
  r.lost = r.lost || lost;
  if (--batch->remaining == 0 && batch->done) {
    if (batch->failures > kErrorsNamed) {
      r.error += "; and " + std::to_string(batch->failures - kErrorsNamed) + " more";
    }
    auto done = std::move(batch->done);
    done(r);
  }
}

}  // namespace sagaflow::rabbitmq::detail
