#pragma once
// The two flows the tests of several orchestrators run: one of commands only (pay), one that
// waits for an outside event (parcel), so that events are routed and forwarded between
// partitions. Every command goes to service a, so one worker serves them all.
#include <string_view>

namespace sagaflow::testing {

constexpr std::string_view kPay = R"(
name: pay
version: 1
input:
  n: integer
steps:
  - name: charge
    command: { service: a, name: charge, input: { n: $input.n } }
    compensation: { service: a, name: refund, input: {} }
  - name: ship
    irreversible: true
    command: { service: a, name: ship, input: {} }
)";

constexpr std::string_view kParcel = R"(
name: parcel
version: 1
input:
  n: integer
steps:
  - name: send
    command: { service: a, name: send, input: { n: $input.n } }
    compensation: { service: a, name: recall, input: {} }
  - name: await_delivery
    wait:
      events: [delivered]
      correlate: $input.n
      key: $event.n
      timeout: 1h
)";

}  // namespace sagaflow::testing
