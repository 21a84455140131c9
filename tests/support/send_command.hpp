#pragma once
// Sending one command to a participant's dispatcher, as the engine does for a step:
// with its own idempotency key (a repeated key is a retry or a redelivery).
#include <doctest/doctest.h>

#include <string>

#include "sagaflow/json.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::testing {

inline Message send_command(worker::Dispatcher& dispatcher, const std::string& type,
                            json::value payload, const std::string& key) {
  Message m;
  m.id = key + "/1";
  m.idempotency_key = key;
  m.type = type;
  m.body = json::serialize(payload);
  return dispatcher.handle(m);
}

inline json::value body_of(const Message& reply) {
  return json::parse(reply.body);
}

}  // namespace sagaflow::testing
