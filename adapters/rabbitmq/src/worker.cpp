#include "sagaflow/rabbitmq/worker.hpp"

#include <condition_variable>
#include <mutex>

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
  std::unique_ptr<detail::Link> link;

  detail::LinkSettings link_settings() const {
    const auto& t = settings.topology;
    detail::LinkSettings s;
    s.name = "worker '" + settings.service + "'";
    s.connection = settings.connection;
    s.topology = t;
    s.prefetch = settings.prefetch;
    s.max_message_bytes = settings.max_message_bytes;
    const auto queue = t.command_queue(settings.service);
    s.queues.push_back({queue, true, {{t.commands_exchange(), settings.service}}});
    // Declared here too, so that replies are routable before the orchestrator first runs.
    s.queues.push_back({t.reply_queue(), true, {}});
    s.queues.push_back({t.dead_letter_queue(), false, {{t.dead_exchange(), ""}}});
    s.consume = {queue};
    return s;
  }

  // On a handler thread (the io_context's).
  void handle(detail::Incoming&& in) {
    {
      std::lock_guard lock(mutex);
      if (stopped) return;
      ++running;
    }
    struct Done {
      Impl& impl;
      ~Done() {
        std::lock_guard lock(impl.mutex);
        if (--impl.running == 0) impl.idle.notify_all();
      }
    } done{*this};

    auto* l = link.get();
    if (in.message.kind != MessageKind::command) {
      l->post([l, tag = in.tag, message = std::move(in.message)] {
        l->dead_letter(tag, message,
                       "a command queue takes only commands, this is a " +
                           std::string(to_string(message.kind)));
      });
      return;
    }
    // Before the handler: nobody could be told the outcome, so nothing is applied or remembered
    // (docs/protocol.md, section 6).
    if (in.message.reply_to.empty()) {
      l->post([l, tag = in.tag, message = std::move(in.message)] {
        l->dead_letter(tag, message, "command has no reply_to: nowhere to send the reply");
      });
      return;
    }
    // The Dispatcher turns a throwing handler into a technical error; nothing else throws but
    // memory exhaustion, which the redelivery (and its limit) deals with.
    Message reply = dispatcher.handle(in.message);
    l->post([l, tag = in.tag, command = std::move(in.message), reply = std::move(reply)] {
      if (!l->is_current(tag)) return;  // the connection changed: the command comes again
      std::vector<detail::Outgoing> out;
      out.push_back({"", command.reply_to, true, reply, {}});
      l->publish(std::move(out), [l, tag, command](const detail::PublishResult& r) {
        // The commit rule of a worker: the command is acked only once its reply is confirmed.
        if (r.error.empty()) {
          l->ack(std::span(&tag, 1));
        } else if (r.unroutable) {
          l->dead_letter(tag, command, "the reply cannot be delivered: " + r.error);
        }
        // Lost: the broker redelivers the command; the dispatcher's dedup answers it again.
      });
    });
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
    impl_->idle.wait(lock, [&] { return impl_->running == 0; });
  }
  impl_->link.reset();
}

void Worker::publish_event(Message event, bool mandatory) {
  event.kind = MessageKind::event;
  std::vector<detail::Outgoing> out;
  auto type = event.type;
  out.push_back({impl_->settings.topology.events_exchange(),
                 std::move(type),
                 mandatory,
                 std::move(event),
                 {}});
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
