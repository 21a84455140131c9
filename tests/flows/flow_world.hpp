#pragma once
// A whole flow, deterministically: the flow file from definitions/ on the simulation world
// (engine/include/sagaflow/simulation/world.hpp: the real orchestrator and engine over the
// in-memory store and a recording transport, a manual clock) with the real participants'
// dispatchers. A test reads as: start, settle, inspect; or: start, settle, send an outside
// event, advance the clock past a timeout, settle, inspect.
//
// Failures are injected per command type (`fail_next`, `drop_next`...), the way a broker or a
// participant would fail, never by changing the participant's rules.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "sagaflow/flow/loader.hpp"
#include "sagaflow/simulation/world.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::testing {

class FlowWorld : public simulation::World {
 public:
  // Loads definitions/<flow>.yaml for each name given.
  explicit FlowWorld(std::initializer_list<std::string_view> flow_names) {
    for (auto name : flow_names) {
      auto path = std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/" + std::string(name) + ".yaml";
      auto result = flow::load_flow_file(path);
      for (const auto& d : result.diagnostics) MESSAGE(d.to_string());
      REQUIRE(result.ok());
      add_flow(result.flow);
    }
  }

  // Commands whose destination is `service` go to `dispatcher` (it must outlive the world).
  void serve(const std::string& service, worker::Dispatcher& dispatcher) {
    World::serve(service, [&dispatcher](const Message& command) -> std::optional<Message> {
      return dispatcher.handle(command);
    });
  }
};

}  // namespace sagaflow::testing
