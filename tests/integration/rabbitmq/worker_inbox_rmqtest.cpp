// The RabbitMQ worker on a transactional inbox (SQLite), killed at each step of a group against
// the live broker: a child process serves the command queue and _exits at one step (handled,
// released, committed, published, confirmed, acknowledged); a worker started after it receives
// what the broker redelivers. Every effect exists once, and every reply the orchestrator's side
// receives for a key (from before the crash and after it) carries the same body.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "contract/inbox_contract.hpp"
#include "integration/rabbitmq/broker.hpp"
#include "sagaflow/rabbitmq/orchestrator_transport.hpp"
#include "sagaflow/sqlite/inbox_database.hpp"
#include "support/temp_folder.hpp"

namespace {

using namespace sagaflow;
using namespace sagaflow::rabbitmq;
using namespace sagaflow::rabbitmq::testing;

WorkerSettings drill_worker(const Topology& t, worker::FaultPoint fault = {}) {
  WorkerSettings s;
  s.connection = connection();
  s.topology = t;
  s.service = "drill";
  s.fault_point = std::move(fault);
  return s;
}

OrchestratorSettings drill_orchestrator(const Topology& t) {
  OrchestratorSettings s;
  s.connection = connection();
  s.topology = t;
  s.services = {"drill"};
  return s;
}

// In a child: a worker on the inbox file whose fault hooks (the inbox's and the worker's)
// _exit with 3 at the first call of `point`; 6 when it was never reached.
void serve_until_crash(const std::string& file, const Topology& t, std::string_view point) {
  worker::FaultPoint fault = [point](std::string_view at) {
    if (at == point) ::_exit(3);
  };
  try {
    auto dispatcher =
        contract::drill_dispatcher(std::make_shared<sqlite::InboxDatabase>(file), fault);
    HandlerThread handlers;
    Worker worker(handlers.io(), dispatcher, drill_worker(t, fault));
    std::this_thread::sleep_for(20s);
  } catch (...) {
    ::_exit(4);
  }
  ::_exit(6);
}

}  // namespace

TEST_CASE("rabbitmq worker on an inbox: killed at each step of a group, it applies once") {
  const std::string_view points[] = {
      worker::inbox_point::handled,   worker::inbox_point::released,
      worker::inbox_point::committed, worker::inbox_point::published,
      worker::inbox_point::confirmed, worker::inbox_point::acknowledged};
  constexpr int kRepeats = 2;
  int crashes = 0;
  for (const auto point : points) {
    for (int repeat = 0; repeat < kRepeats; ++repeat) {
      CAPTURE(point);
      const std::string name = "inbox-" + std::string(point) + "-" + std::to_string(repeat);
      Scratch scratch(name, {"drill"});
      const auto& t = scratch.topology();
      sagaflow::testing::TempFolder folder;
      const std::string file = folder.file("drill.db");
      contract::prepare_effects(*std::make_shared<sqlite::InboxDatabase>(file));

      // The commands wait in their queue; the transport (and its thread) is gone before fork.
      auto group = contract::drill_group(name);
      for (auto& command : group) command.reply_to = t.reply_queue();
      {
        OrchestratorTransport orchestrator(drill_orchestrator(t));
        orchestrator.wait_connected(Duration(10000));
        orchestrator.publish(group);
      }

      std::fflush(nullptr);
      const pid_t child = ::fork();
      REQUIRE(child >= 0);
      if (child == 0) serve_until_crash(file, t, point);
      int status = 0;
      ::waitpid(child, &status, 0);
      REQUIRE(WIFEXITED(status));
      REQUIRE(WEXITSTATUS(status) == 3);  // it crashed at that step

      // A worker after the crash answers what the broker redelivers.
      OrchestratorTransport orchestrator(drill_orchestrator(t));
      orchestrator.wait_connected(Duration(10000));
      HandlerThread handlers;
      auto dispatcher = contract::drill_dispatcher(std::make_shared<sqlite::InboxDatabase>(file));
      Worker worker(handlers.io(), dispatcher, drill_worker(t));
      std::map<std::string, std::set<std::string>> bodies;  // key -> reply bodies received
      std::set<std::string> answered;                       // command ids
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (answered.size() < group.size() && std::chrono::steady_clock::now() < deadline) {
        std::vector<Delivery> got;
        orchestrator.receive(got, 16, Duration(100));
        std::vector<std::uint64_t> tags;
        for (const auto& d : got) {
          bodies[d.message.idempotency_key].insert(d.message.body);
          answered.insert(d.message.causation_id);
          tags.push_back(d.tag);
        }
        orchestrator.ack(tags);
      }
      CHECK(answered.size() == group.size());
      for (const auto& [key, received] : bodies) {
        CHECK_MESSAGE(received.size() == 1, "key " << key << " was answered differently");
      }
      const auto counts = contract::effect_counts(*std::make_shared<sqlite::InboxDatabase>(file));
      for (const auto& command : group) {
        CHECK_MESSAGE(counts.at(command.idempotency_key) == 1, "key " << command.idempotency_key);
      }
      ++crashes;
    }
  }
  MESSAGE("rabbitmq worker drill: " << crashes << " crashes, each effect once");
  CHECK(crashes == 12);
}

TEST_CASE(
    "rabbitmq worker on an inbox, four handler threads: what arrives during a commit is "
    "the next group") {
  Scratch scratch("inbox-groups", {"drill"});
  const auto& t = scratch.topology();
  sagaflow::testing::TempFolder folder;
  const std::string file = folder.file("groups.db");
  std::atomic<int> commits{0}, inside{0}, most_inside{0};
  worker::Dispatcher dispatcher(std::make_shared<worker::Inbox>(
      std::make_shared<sqlite::InboxDatabase>(file),
      worker::InboxOptions{"drill", [&](std::string_view at) {
                             if (at == worker::inbox_point::committed) ++commits;
                           }}));
  std::atomic<bool> first{true};
  dispatcher.on("drill.apply", [&](const worker::Command&) {
    const int now = ++inside;
    for (int seen = most_inside; now > seen && !most_inside.compare_exchange_weak(seen, now);) {
    }
    // The first command holds its group while the other 99 arrive.
    if (first.exchange(false)) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    --inside;
    return worker::Result::ok();
  });
  boost::asio::io_context handlers;
  auto guard = boost::asio::make_work_guard(handlers);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { handlers.run(); });
  std::set<std::string> answered;
  {
    OrchestratorTransport orchestrator(drill_orchestrator(t));
    auto settings = drill_worker(t);
    settings.prefetch = 128;  // room for all of them
    Worker worker(handlers, dispatcher, settings);
    orchestrator.wait_connected(Duration(10000));
    worker.wait_connected(Duration(10000));
    std::vector<Message> commands;
    for (int i = 0; i < 100; ++i) {
      auto m = contract::drill_command("g/" + std::to_string(i), "g" + std::to_string(i));
      m.reply_to = t.reply_queue();
      commands.push_back(std::move(m));
    }
    orchestrator.publish(std::span(commands).first(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the first group is open
    orchestrator.publish(std::span(commands).subspan(1));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (answered.size() < commands.size() && std::chrono::steady_clock::now() < deadline) {
      std::vector<Delivery> got;
      orchestrator.receive(got, 128, Duration(100));
      std::vector<std::uint64_t> tags;
      for (const auto& d : got) {
        answered.insert(d.message.causation_id);
        tags.push_back(d.tag);
      }
      orchestrator.ack(tags);
    }
  }
  guard.reset();
  for (auto& thread : threads) thread.join();
  CHECK(answered.size() == 100);
  // One group at a time, on one thread: the first command's, then the 99 that came meanwhile in
  // one or two more (threads forming groups side by side made about one group per delivery,
  // each waiting for the database, then committing alone).
  CHECK(most_inside.load() == 1);
  CHECK(commits.load() >= 2);
  CHECK(commits.load() <= 3);
}
