#pragma once
// How an example participant publishes an outside event (payment.succeeded after a webhook, for
// instance): it hands a Message of kind event to an EventSink. Tests wire the sink to
// FlowWorld::publish_event; the embedded daemon to its in-process bus. The event's id is stable
// (derived from what happened, never from a counter of deliveries), so that a republished event is
// recognised as a duplicate by the engine and by subscribers.
#include <functional>
#include <string>
#include <utility>

#include "sagaflow/engine/message.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow::sagas {

using EventSink = std::function<void(Message)>;

// An event envelope: kind event, the given id and type, the body as JSON text.
inline Message make_event(std::string id, std::string type, const json::value& body) {
  Message m;
  m.kind = MessageKind::event;
  m.id = std::move(id);
  m.type = std::move(type);
  m.body = json::serialize(body);
  return m;
}

}  // namespace sagaflow::sagas
