#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "demo/demo.hpp"

namespace sagaflow::demo {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr auto kPatience = std::chrono::seconds(30);

bool is_settled(Status s) {
  return is_final(s) || s == Status::failed;
}

struct Run {
  const Scenario* scenario = nullptr;
  std::string saga_id;
};

// "12 ms", "4.2 s", "30 min": a saga's time, from a quick reply to a timed-out wait.
std::string format_duration(Duration d) {
  char text[32];
  const auto ms = static_cast<double>(d.count());
  if (ms < 10'000) {
    std::snprintf(text, sizeof text, "%.0f ms", ms);
  } else if (ms < 600'000) {
    std::snprintf(text, sizeof text, "%.1f s", ms / 1000);
  } else if (ms < 10 * 3'600'000.0) {
    std::snprintf(text, sizeof text, "%.0f min", ms / 60'000);
  } else {
    std::snprintf(text, sizeof text, "%.1f d", ms / 86'400'000);
  }
  return text;
}

// One line per saga: what it did and how it ended. Its time is the saga's own, from its start
// to its last transition, on the daemon's clock (so a timed-out wait shows its timeout).
bool report(World& world, const Run& run) {
  const auto& s = *run.scenario;
  auto row = world.store.load(run.saga_id);
  auto status = row ? row->status : std::string("missing");
  auto elapsed =
      row ? format_duration(std::chrono::duration_cast<Duration>(row->updated_at - row->created_at))
          : std::string("-");
  int commands = 0;
  int compensations = 0;
  std::string undone;
  for (const auto& h : world.store.history(run.saga_id)) {
    commands += h.kind == "command_sent";
    if (h.kind != "compensation_sent") continue;
    ++compensations;
    undone += (undone.empty() ? "; undid " : ", ") + h.step;
  }
  const bool ok = status == s.expected;
  std::printf("%-22s %.8s  %-11s commands %2d  compensations %d  %8s  %s%s%s\n", s.flow.c_str(),
              run.saga_id.c_str(), status.c_str(), commands, compensations, elapsed.c_str(),
              s.name.c_str(), undone.c_str(),
              ok ? "" : ("  UNEXPECTED, wanted " + s.expected).c_str());
  return ok;
}

Run begin(World& world, const Scenario& s) {
  Run run{&s, {}};
  try {
    run.saga_id = s.start(world);
  } catch (const std::exception& error) {
    std::printf("%-23s could not start %s: %s\n", s.flow.c_str(), s.name.c_str(), error.what());
  }
  return run;
}

void drive(World& world, const Run& run) {
  if (run.saga_id.empty() || !run.scenario->drive) return;
  run.scenario->drive(world, run.saga_id);
}

bool finish(World& world, std::vector<Run>& runs) {
  bool all_ok = true;
  for (const auto& run : runs) {
    if (run.saga_id.empty()) {
      all_ok = false;
      continue;
    }
    world.wait_for(run.saga_id,
                   {Status::completed, Status::compensated, Status::cancelled, Status::failed});
    all_ok = report(world, run) && all_ok;
  }
  return all_ok;
}

}  // namespace

std::string World::start(const std::string& flow, json::value input) {
  return orchestrator.start(StartRequest{.flow = flow, .input = std::move(input)}).get().saga_id;
}

void World::publish(const std::string& type, json::value payload, const std::string& id) {
  Message m;
  m.kind = MessageKind::event;
  m.id = id;
  m.type = type;
  m.body = json::serialize(payload);
  bus.publish_event(std::move(m));
}

std::string World::started_by(const std::string& flow, const std::string& key) {
  const auto deadline = SteadyClock::now() + kPatience;
  while (SteadyClock::now() < deadline) {
    if (auto id = store.find_by_idempotency_key(flow, key)) return *id;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  throw std::runtime_error("no " + flow + " saga was started for " + key);
}

json::value World::result(const std::string& saga_id, std::string_view step) {
  auto row = store.load(saga_id);
  return row ? step_result(*row, step) : json::value(nullptr);
}

bool World::wait_for(const std::string& saga_id, std::initializer_list<Status> statuses) {
  const auto deadline = SteadyClock::now() + kPatience;
  while (SteadyClock::now() < deadline) {
    auto row = store.load(saga_id);
    auto status = row ? status_from_string(row->status) : std::nullopt;
    if (status && std::find(statuses.begin(), statuses.end(), *status) != statuses.end()) {
      return true;
    }
    if (status && is_settled(*status)) return false;  // settled elsewhere: never coming
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

bool run(World& world) {
  auto all = scenarios(world.participants);
  std::vector<Run> now_runs;
  std::vector<Run> timeout_runs;
  // Every saga that needs no clock jump runs at once; their drivers act in turn.
  for (const auto& s : all) {
    if (!s.jump) now_runs.push_back(begin(world, s));
  }
  for (const auto& run : now_runs) drive(world, run);
  bool ok = finish(world, now_runs);

  // Then the ones that end by a timeout: they wait; the clock jumps to each one's timeout in
  // turn, and the timers fire.
  for (const auto& s : all) {
    if (s.jump) timeout_runs.push_back(begin(world, s));
  }
  for (const auto& run : timeout_runs) {
    drive(world, run);
    if (!run.saga_id.empty()) world.wait_for(run.saga_id, {Status::waiting});
  }
  std::stable_sort(timeout_runs.begin(), timeout_runs.end(), [](const Run& a, const Run& b) {
    return *a.scenario->jump < *b.scenario->jump;
  });
  Duration jumped{0};
  for (std::size_t i = 0; i < timeout_runs.size();) {
    const Duration target = *timeout_runs[i].scenario->jump;
    std::printf("-- the clock jumps %s ahead: waits time out --\n",
                format_duration(target - jumped).c_str());
    world.clock.jump(target - jumped);
    jumped = target;
    std::vector<Run> due;
    for (; i < timeout_runs.size() && *timeout_runs[i].scenario->jump == target; ++i) {
      due.push_back(timeout_runs[i]);
    }
    ok = finish(world, due) && ok;
  }

  for (const auto& invariant : invariants(world.participants)) {
    const bool holds = invariant.holds();
    ok = ok && holds;
    std::printf("invariant: %s: %s\n", invariant.text.c_str(), holds ? "ok" : "BROKEN");
  }
  std::fflush(stdout);
  return ok;
}

}  // namespace sagaflow::demo
