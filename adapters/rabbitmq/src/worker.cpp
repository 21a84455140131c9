#include "sagaflow/rabbitmq/worker.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <boost/asio/post.hpp>

#include "link.hpp"

namespace sagaflow::rabbitmq {

struct Worker::Impl : std::enable_shared_from_this<Worker::Impl> {
  Impl(boost::asio::io_context& handlers, worker::Dispatcher& dispatcher, WorkerSettings settings)
      : handlers(handlers), dispatcher(dispatcher), settings(std::move(settings)) {}

  boost::asio::io_context& handlers;
  worker::Dispatcher& dispatcher;
  const WorkerSettings settings;
  std::mutex mutex;
  std::condition_variable idle;
  std::size_t running = 0;
  bool stopped = false;
  bool grouping = false;  // a handler thread forms and handles the groups (transactional only)
  std::deque<detail::Incoming> waiting;  // delivered, not yet taken by a handler thread
  std::unique_ptr<detail::Link> link;

  detail::LinkSettings link_settings() const {
    const auto& t = settings.topology;
    detail::LinkSettings s;
    s.name = "worker '" + settings.service + "'";
    s.connection = settings.connection;
    s.topology = t;
    s.prefetch = settings.prefetch;
    s.max_message_bytes = settings.max_message_bytes;
    s.dead_letters = settings.dead_letters;
    const auto queue = t.command_queue(settings.service);
    s.queues.push_back({queue, true, {{t.commands_exchange(), settings.service}}});
    // Declared here too, so that replies are routable before the orchestrator first runs.
    s.queues.push_back({t.reply_queue(), true, {}});
    s.queues.push_back({t.dead_letter_queue(), false, {{t.dead_exchange(), ""}}});
    s.consume = {queue};
    return s;
  }

  // On a handler thread (the io_context's). Queues the delivery, then handles what waits: one
  // delivery on an in-memory dispatcher (handler threads run side by side); on a transactional
  // one, groups (up to the prefetch) one after the other on a single thread, so that the
  // deliveries arriving while a group commits make up the next group. The inbox's database
  // takes one transaction at a time anyway: several threads each forming a group of what had
  // arrived split the deliveries into groups of one or two, each waiting for its own commit
  // (measured: ~60 four-step sagas/s, groups of about one, on tools/bench's peers' workload).
  void handle(detail::Incoming&& in) {
    std::unique_lock lock(mutex);
    if (stopped) return;
    waiting.push_back(std::move(in));
    const bool transactional = dispatcher.transactional();
    if (transactional && grouping) return;  // the thread forming groups takes it next
    ++running;
    struct Done {
      Impl& impl;
      ~Done() {  // under the lock
        if (--impl.running == 0) impl.idle.notify_all();
      }
    } done{*this};
    grouping = grouping || transactional;
    const std::size_t bound = transactional ? std::max<std::size_t>(settings.prefetch, 1) : 1;
    do {
      std::vector<detail::Incoming> group;
      while (!waiting.empty() && group.size() < bound) {
        group.push_back(std::move(waiting.front()));
        waiting.pop_front();
      }
      if (group.empty()) break;
      lock.unlock();
      try {
        handle_group(std::move(group));
      } catch (...) {
        lock.lock();
        if (transactional) grouping = false;
        throw;
      }
      lock.lock();
    } while (transactional && !stopped);
    if (transactional) grouping = false;
  }

  void fault(std::string_view point) const {
    if (settings.fault_point) settings.fault_point(point);
  }

  // The replies to `commands`; on a transactional dispatcher whose database fails (down, a lost
  // connection), tries again with backoff until it commits or the worker stops: the commands
  // stay unacknowledged meanwhile, and requeueing them would only spend their delivery limit.
  std::optional<std::vector<Message>> replies_to(const std::vector<Message>& commands) {
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
      try {
        return dispatcher.handle_batch(commands);
      } catch (const std::exception&) {
        std::unique_lock lock(mutex);
        if (idle.wait_for(lock, backoff, [&] { return stopped; })) return std::nullopt;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      }
    }
  }

  void handle_group(std::vector<detail::Incoming> group) {
    auto* l = link.get();
    std::vector<std::uint64_t> tags;
    std::vector<Message> commands;
    for (auto& in : group) {
      if (in.message.kind != MessageKind::command) {
        l->post([l, tag = in.tag, message = std::move(in.message)] {
          l->dead_letter(tag, message, DeadLetterCode::wrong_kind,
                         "a command queue takes only commands, this is a " +
                             std::string(to_string(message.kind)));
        });
        continue;
      }
      if (in.message.reply_to.empty()) {
        // Dead-lettered before it is applied: an effect nobody can be told of must not happen,
        // nor be remembered (docs/protocol.md 7).
        l->post([l, tag = in.tag, message = std::move(in.message)] {
          l->dead_letter(tag, message, DeadLetterCode::no_reply_to,
                         "command has no reply_to: nowhere to send the reply");
        });
        continue;
      }
      tags.push_back(in.tag);
      commands.push_back(std::move(in.message));
    }
    if (commands.empty()) return;
    // The Dispatcher turns a throwing handler into a technical error; what else throws is the
    // transactional inbox's database, which replies_to() waits out.
    auto replies = replies_to(commands);
    if (!replies) return;  // stopping: the commands go back to the queue
    l->post([self = shared_from_this(), l, tags = std::move(tags), commands = std::move(commands),
             replies = std::move(*replies)]() mutable {
      self->publish_replies(*l, std::move(tags), std::move(commands), std::move(replies));
    });
  }

  // On the I/O thread: the replies of a group in one publish (one wait for their confirms),
  // then one ack for its commands. The commit rule of a worker: a command is acked only once its
  // reply is confirmed.
  void publish_replies(detail::Link& l, std::vector<std::uint64_t> tags,
                       std::vector<Message> commands, std::vector<Message> replies) {
    std::vector<detail::Outgoing> out;
    std::vector<std::uint64_t> answered;
    std::vector<Message> answered_commands;
    for (std::size_t i = 0; i < tags.size(); ++i) {
      if (!l.is_current(tags[i])) continue;  // the connection changed: the command comes again
      out.push_back({"", commands[i].reply_to, true, std::move(replies[i]), {}});
      answered.push_back(tags[i]);
      answered_commands.push_back(std::move(commands[i]));
    }
    if (out.empty()) return;
    const bool single = out.size() == 1;
    std::vector<detail::Outgoing> copies;
    if (!single) copies = out;  // to publish one by one if one of them comes back
    l.publish(std::move(out), [self = shared_from_this(), &l, answered = std::move(answered),
                               answered_commands = std::move(answered_commands),
                               copies = std::move(copies),
                               single](const detail::PublishResult& r) mutable {
      if (r.error.empty()) {
        self->fault(worker::inbox_point::confirmed);
        l.ack(answered);
        self->fault(worker::inbox_point::acknowledged);
      } else if (r.unroutable && single) {
        l.dead_letter(answered.front(), answered_commands.front(), DeadLetterCode::unroutable,
                      "the reply cannot be delivered: " + r.error);
      } else if (r.unroutable) {
        // Which reply came back is not known: each again on its own, so that only its command
        // is dead-lettered (the broker saw the others already; the orchestrator drops the
        // duplicate replies).
        for (std::size_t i = 0; i < answered.size(); ++i) {
          std::vector<detail::Outgoing> one;
          one.push_back(std::move(copies[i]));
          l.publish(std::move(one),
                    [self, &l, tag = answered[i],
                     command = std::move(answered_commands[i])](const detail::PublishResult& r1) {
                      if (r1.error.empty()) {
                        l.ack(std::span(&tag, 1));
                      } else if (r1.unroutable) {
                        l.dead_letter(tag, command, DeadLetterCode::unroutable,
                                      "the reply cannot be delivered: " + r1.error);
                      }
                    });
        }
      }
      // Lost: the broker redelivers the commands; the dispatcher's dedup answers them again.
    });
    fault(worker::inbox_point::published);
  }
};

Worker::Worker(boost::asio::io_context& handlers, worker::Dispatcher& dispatcher,
               WorkerSettings settings)
    : impl_(std::make_shared<Impl>(handlers, dispatcher, std::move(settings))) {
  std::weak_ptr<Impl> weak = impl_;
  auto* impl = impl_.get();
  impl_->link = std::make_unique<detail::Link>(
      impl_->link_settings(),
      [weak, impl](detail::Incoming&& in) {
        boost::asio::post(impl->handlers, [weak, in = std::move(in)]() mutable {
          if (auto self = weak.lock()) self->handle(std::move(in));
        });
      },
      nullptr);
}

Worker::~Worker() {
  {
    std::unique_lock lock(impl_->mutex);
    impl_->stopped = true;
    impl_->idle.notify_all();  // wakes a group waiting out its database (replies_to)
    impl_->idle.wait(lock, [&] { return impl_->running == 0; });
  }
  impl_->link.reset();
}

void Worker::publish_event(Message event, bool mandatory) {
  std::vector<detail::Outgoing> out;
  out.push_back(detail::outside_event(impl_->settings.topology, std::move(event), mandatory));
  impl_->link->publish_and_wait(std::move(out), impl_->settings.confirm_timeout);
}

void Worker::wait_connected(Duration timeout) const {
  impl_->link->wait_connected(timeout);
}

bool Worker::connected() const {
  return impl_->link->connected();
}

std::uint64_t Worker::connections() const {
  return impl_->link->generation();
}

void Worker::interrupt() {
  impl_->link->interrupt();
}

}  // namespace sagaflow::rabbitmq
