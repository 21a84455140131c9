// A lost connection loses no transition and doubles none: the fate of a commit whose connection
// broke after COMMIT was sent is looked up, not guessed (committed: its rows are returned;
// rolled back: it runs once more), and commits go on across server restarts.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "contract/store_contract.hpp"
#include "integration/postgres/pg.hpp"
#include "sagaflow/postgres/postgres_store.hpp"

namespace {

using namespace sagaflow;
using namespace sagaflow::contract;
using namespace sagaflow::postgres;
using namespace sagaflow::postgres::testing;

// Moves s1 from `from` to from + 1, with a history record and two messages.
SagaWrite step_of_s1(std::uint64_t from) {
  SagaWrite w = advance(saga("s1", "order", "running", from + 1), from);
  w.history.push_back({"s1", from + 1, at(static_cast<std::int64_t>(from)), "step", "", "{}"});
  w.outbox = {command("s1/cmd/" + std::to_string(from + 1) + "/a", "s1"),
              command("s1/cmd/" + std::to_string(from + 1) + "/b", "s1")};
  return w;
}

// What the store holds of s1, read from outside it.
struct Stored {
  std::string version;
  std::string history;
  std::string outbox;
  std::string commits;
};

Stored stored(Session& session) {
  return {session.scalar("SELECT version FROM sagas WHERE id = 's1'").value_or(""),
          session.scalar("SELECT count(*) FROM history WHERE saga_id = 's1'").value_or(""),
          session.scalar("SELECT count(*) FROM outbox WHERE saga_id = 's1'").value_or(""),
          session.scalar("SELECT count(*) FROM commits").value_or("")};
}

void check_returned_rows_are_stored(Session& session, const std::vector<OutboxRow>& written,
                                    std::uint64_t version) {
  REQUIRE(written.size() == 2);
  CHECK(written[0].message.id == "s1/cmd/" + std::to_string(version) + "/a");
  CHECK(written[1].message.id == "s1/cmd/" + std::to_string(version) + "/b");
  CHECK(written[0].seq < written[1].seq);
  for (const OutboxRow& row : written) {
    CHECK(session.scalar("SELECT message_id FROM outbox WHERE seq = $1",
                         {std::to_string(row.seq)}) == std::optional<std::string>(row.message.id));
  }
}

// Joins a thread however the test leaves its scope (a failed REQUIRE throws).
class Joined {
 public:
  explicit Joined(std::thread thread, std::atomic<bool>* stop = nullptr)
      : thread_(std::move(thread)), stop_(stop) {}
  ~Joined() { join(); }
  void join() {
    if (stop_ != nullptr) *stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
  std::atomic<bool>* stop_;
};

}  // namespace

TEST_CASE("postgres store: a commit lost after COMMIT that did commit is not applied twice") {
  Scratch scratch;
  Session probe = scratch.session();
  PostgresOptions options = scratch.options("sagaflow-fate-committed");
  std::atomic<bool> armed{false};
  std::atomic<int> sent{0};
  options.on_commit_sent = [&] {
    ++sent;
    if (!armed.exchange(false)) return false;
    // Wait until the transaction is visible from outside, committed, then lose its answer.
    REQUIRE(eventually([&] { return stored(probe).version == "2"; }));
    return true;
  };
  PostgresStore store(options);
  commit(store, {create(saga("s1"))});
  REQUIRE(stored(probe).history == "0");

  armed = true;
  sent = 0;
  const auto written = commit(store, {step_of_s1(1)});
  // Sent once: the commit was found committed after reconnecting, and not run again.
  CHECK(sent == 1);
  const Stored after = stored(probe);
  CHECK(after.version == "2");
  CHECK(after.history == "1");
  CHECK(after.outbox == "2");
  CHECK(after.commits == "2");
  check_returned_rows_are_stored(probe, written, 2);

  // The store goes on on its new connection.
  commit(store, {step_of_s1(2)});
  CHECK(stored(probe).version == "3");
}

TEST_CASE("postgres store: a commit lost after COMMIT that rolled back is applied once") {
  Scratch scratch;
  Session probe = scratch.session();
  const std::string application = "sagaflow-fate-rolled-back";
  PostgresOptions options = scratch.options(application);
  std::atomic<bool> armed{false};
  std::atomic<int> sent{0};
  std::atomic<int> stuck_pid{0};
  options.on_commit_sent = [&] {
    ++sent;
    if (!armed.exchange(false)) return false;
    // The transaction waits for the row lock another session holds, so it cannot have
    // committed: lose the connection now. Its server process stays, blocked, until the store's
    // fate check ends it.
    REQUIRE(eventually([&] {
      auto pid = probe.scalar(
          "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND "
          "wait_event_type = 'Lock'",
          {application});
      if (pid) stuck_pid = std::stoi(*pid);
      return pid.has_value();
    }));
    return true;
  };
  PostgresStore store(options);
  commit(store, {create(saga("s1"))});

  // Another session holds s1's row until the blocked transaction's server process is gone, so
  // that one can only roll back; then lets go, for the store's second run.
  Session locker = scratch.session();
  locker.execute("BEGIN; SELECT 1 FROM sagas WHERE id = 's1' FOR UPDATE");
  std::atomic<bool> released{false};
  Joined release(std::thread([&] {
    Session watcher = scratch.session();
    const bool gone = eventually(
        [&] {
          return stuck_pid != 0 && !watcher.scalar("SELECT 1 FROM pg_stat_activity WHERE pid = $1",
                                                   {std::to_string(stuck_pid.load())});
        },
        20s);
    locker.execute("ROLLBACK");
    released = gone;
  }));

  armed = true;
  sent = 0;
  const auto written = commit(store, {step_of_s1(1)});
  release.join();
  CHECK(released);
  // Sent twice: the first run was found rolled back and the batch ran once more.
  CHECK(sent == 2);
  const Stored after = stored(probe);
  CHECK(after.version == "2");
  CHECK(after.history == "1");
  CHECK(after.outbox == "2");
  CHECK(after.commits == "2");
  check_returned_rows_are_stored(probe, written, 2);
}

TEST_CASE("postgres store: commits go on across server restarts, each applied once or refused") {
  PrivateServer server;
  Scratch scratch(server.dsn());
  PostgresStore store(scratch.options("sagaflow-restart"));
  commit(store, {create(saga("counter"))});

  // Each round creates a saga r<i> and moves `counter` on, with a history record and a message.
  std::mutex mutex;
  std::set<int> returned;
  std::map<int, std::string> threw;
  std::atomic<int> rounds{0};
  std::atomic<bool> stop{false};
  Joined writer(std::thread([&] {
                  std::uint64_t version = 1;
                  for (int i = 1; !stop; ++i) {
                    SagaWrite w =
                        advance(saga("counter", "order", "running", version + 1), version);
                    w.history.push_back({"counter", version + 1, at(i), "round", "", "{}"});
                    w.outbox = {command("round/" + std::to_string(i), "counter")};
                    SagaWrite r = create(saga("r" + std::to_string(i)));
                    try {
                      commit(store, {w, r});
                      std::lock_guard lock(mutex);
                      returned.insert(i);
                      ++version;
                    } catch (const std::exception& e) {
                      std::lock_guard lock(mutex);
                      threw[i] = e.what();
                      try {
                        version = store.load("counter")->version;
                      } catch (const std::exception&) {
                        stop = true;
                      }
                    }
                    rounds = i;
                  }
                }),
                &stop);

  auto start_time = [&] {
    return Session(scratch.options()).scalar("SELECT pg_postmaster_start_time()::text");
  };
  const auto started = start_time();
  std::vector<int> restarted_after;
  for (int restart = 0; restart < 2; ++restart) {
    const int before = rounds;
    REQUIRE(eventually([&] { return rounds >= before + 20; }, 30s));
    server.restart();
    restarted_after.push_back(rounds);
  }
  const int last_restart = rounds;
  REQUIRE(eventually([&] { return rounds >= last_restart + 20; }, 60s));
  writer.join();
  CHECK(start_time() != started);

  MESSAGE(rounds.load() << " rounds: " << returned.size() << " returned, " << threw.size()
                        << " threw");
  for (const auto& [i, what] : threw) MESSAGE("round " << i << " threw: " << what);
  // Every round returned or threw; commits returned before, between and after the restarts.
  CHECK(returned.size() + threw.size() == static_cast<std::size_t>(rounds.load()));
  CHECK(std::count_if(returned.begin(), returned.end(),
                      [&](int i) { return i > restarted_after.back(); }) > 0);

  // Exactly the returned rounds are stored, each once, and the counter's versions run on
  // without a gap.
  Session probe = scratch.session();
  const auto counter = store.load("counter");
  REQUIRE(counter.has_value());
  CHECK(counter->version == returned.size() + 1);
  const auto history = store.history("counter");
  REQUIRE(history.size() == returned.size());
  for (std::size_t k = 0; k < history.size(); ++k) CHECK(history[k].saga_version == k + 2);
  std::set<int> created;
  for (const auto& row : probe.query("SELECT substr(id, 2)::int FROM sagas WHERE id LIKE 'r%'")) {
    created.insert(std::stoi(*row[0]));
  }
  CHECK(created == returned);
  std::multiset<std::string> messages;
  for (const auto& row : store.unpublished_outbox(100000)) messages.insert(row.message.id);
  CHECK(messages.size() == returned.size());
  for (int i : returned) CHECK(messages.count("round/" + std::to_string(i)) == 1);
}
