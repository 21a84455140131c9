#pragma once
// The demo that tools/run shows: every example participant served in-process, a scenario set
// covering each flow's happy path and main failure paths with the outcome each must reach, and
// the flows' invariants checked at the end.
//
// Threading: the demo runs on the main thread. It starts sagas through the orchestrator's
// thread-safe requests, publishes outside events on the bus, and reads the store (which
// serialises its users); participants run on the bus's worker thread.
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/inproc/bus.hpp"
#include "sagaflow/sagas/participants.hpp"

namespace sagaflow::demo {

// Real time plus the jumps the demo makes to show timeouts (a payment that never comes) without
// waiting half an hour for them.
class DemoClock final : public Clock {
 public:
  Timestamp now() const override { return system_.now() + Duration(offset_.load()); }
  // Jumps show timeouts; they are not time that passed for heartbeats and leases.
  Duration monotonic() const override { return system_.monotonic(); }
  void jump(Duration d) { offset_ += d.count(); }

 private:
  SystemClock system_;
  std::atomic<std::int64_t> offset_{0};
};

// What a scenario may touch.
struct World {
  Orchestrator& orchestrator;
  Store& store;
  inproc::Bus& bus;
  DemoClock& clock;
  sagas::Participants& participants;

  std::string start(const std::string& flow, json::value input);
  // An outside event entering the bus (All_SalesOrder, All_Payments, a payment result...).
  void publish(const std::string& type, json::value payload, const std::string& id);
  // The saga a trigger event started, once it exists.
  std::string started_by(const std::string& flow, const std::string& key);
  // A finished step's result as the saga recorded it (null until then).
  json::value result(const std::string& saga_id, std::string_view step);
  // Waits until the saga's status is one of `statuses`; false after 30 s of real time.
  bool wait_for(const std::string& saga_id, std::initializer_list<Status> statuses);
};

struct Scenario {
  std::string flow;
  std::string name;
  std::string expected;  // the final status it must reach
  std::function<std::string(World&)> start;
  // What happens outside while the saga runs (the client pays, payments arrive...); may be empty.
  std::function<void(World&, const std::string& saga_id)> drive;
  // Ends by a wait's timeout: run last, after the clock jumps this far.
  std::optional<Duration> jump;
};

struct Invariant {
  std::string text;
  std::function<bool()> holds;
};

// Every flow's scenarios and invariants (scenarios.cpp), set up on the participants.
std::vector<Scenario> scenarios(sagas::Participants& participants);
std::vector<Invariant> invariants(const sagas::Participants& participants);

// Runs every scenario, prints one line per saga and the invariants; returns whether every saga
// ended as expected and every invariant holds.
bool run(World& world);

}  // namespace sagaflow::demo
