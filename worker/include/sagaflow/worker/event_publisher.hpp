#pragma once
// Outside events (docs/protocol.md 8) from a program that needs no worker: a payment webhook
// turned into payment.succeeded, a gateway's callback, a batch job reporting a fact. Publishing
// through a rabbitmq::Worker would bind the program to a service and declare that service's
// command queue; an EventPublisher declares no queue at all. rabbitmq::EventPublisher
// (sagaflow/rabbitmq/event_publisher.hpp) is the implementation on RabbitMQ.
#include <string>
#include <utility>

#include "sagaflow/engine/message.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow::worker {

// An outside event's envelope: kind event, attempt 0, the event's type and its body as JSON
// text. `id` becomes the message_id: make it stable for the fact it reports (e.g.
// "payment.succeeded/<payment id>"), never a counter of deliveries, so that a republished event
// is recognised as the same fact. Set `traceparent` on the result when there is one.
inline Message make_event(std::string id, std::string type, const json::value& body) {
  Message m;
  m.kind = MessageKind::event;
  m.id = std::move(id);
  m.type = std::move(type);
  m.body = json::serialize(body);
  return m;
}

class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  // Returns once the event is published (on RabbitMQ: confirmed by the broker). Throws when it
  // is not, or when no one receives it: the caller tries again later with the same id, which a
  // waiting saga or a start by the event sees as one fact.
  virtual void publish(const Message& event) = 0;
};

}  // namespace sagaflow::worker
