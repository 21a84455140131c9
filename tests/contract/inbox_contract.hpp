#pragma once
// The transactional inbox contract (worker/inbox.hpp): what the worker library guarantees on
// every database adapter (SQLite, PostgreSQL), as doctest template test cases. A test file
// instantiates it for its factories:
//
//   struct MyFactory { std::shared_ptr<sagaflow::worker::Database> make(); };
//   TYPE_TO_STRING(MyFactory);
//   SAGAFLOW_INBOX_CONTRACT(MyFactory);
//
// Each make() opens a new connection to the same database (the factory's), as a restarted
// process would; the factory is destroyed last, so it may clean up.
//
// The crash drill forks a child per run that applies a group of commands and publishes,
// confirms and acknowledges their replies through a pipe (the broker, simulated), and _exits at
// one step; the parent then redelivers every command of the group to a fresh connection and
// checks that each effect exists exactly once and that every reply given for a key, before and
// after the crash, is the same.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::contract {

// Crash runs of the drill across the suites of this process, for the report at the end.
inline int& inbox_crash_runs() {
  static int runs = 0;
  return runs;
}

inline void prepare_effects(worker::Database& db) {
  worker::Sql& sql = db.begin();
  sql.query(
      "CREATE TABLE IF NOT EXISTS drill_effects (idempotency_key TEXT NOT NULL, token TEXT NOT "
      "NULL)");
  db.commit();
}

// Effects per key, read on a connection of its own.
inline std::map<std::string, int> effect_counts(worker::Database& db) {
  std::map<std::string, int> counts;
  worker::Sql& sql = db.begin();
  for (const auto& row :
       sql.query("SELECT idempotency_key, COUNT(*) FROM drill_effects GROUP BY idempotency_key")) {
    counts[row[0].value_or("")] = std::stoi(row[1].value_or("0"));
  }
  db.commit();
  return counts;
}

// drill.apply writes one effect row with a random token and answers that token: a handler run
// twice would write two rows and answer two tokens. {"throw": true} throws; {"refuse": true}
// is a business failure (remembered, its writes kept); {"technical": true} a technical error
// (not remembered, its writes rolled back); {"bad_sql": true} runs invalid SQL.
inline worker::Dispatcher drill_dispatcher(std::shared_ptr<worker::Database> db,
                                           worker::FaultPoint fault = {}) {
  worker::Dispatcher dispatcher(std::make_shared<worker::Inbox>(
      std::move(db), worker::InboxOptions{"drill", std::move(fault)}));
  dispatcher.on("drill.apply", [](const worker::Command& c) {
    const auto& body = c.payload.as_object();
    std::random_device random;
    const std::string token = std::to_string(random()) + "-" + std::to_string(random());
    c.transaction->query("INSERT INTO drill_effects (idempotency_key, token) VALUES ($1, $2)",
                         {c.message.idempotency_key, token});
    if (body.contains("throw")) throw std::runtime_error("the handler threw");
    if (body.contains("bad_sql")) c.transaction->query("INSERT INTO no_such_table VALUES (1)");
    if (body.contains("technical")) return worker::Result::technical_error("Down");
    if (body.contains("refuse")) {
      return worker::Result::business_failure("Refused", json::object{{"token", token}});
    }
    return worker::Result::ok(json::object{{"token", token}});
  });
  return dispatcher;
}

inline Message drill_command(const std::string& id, const std::string& key,
                             std::string body = "{}") {
  Message m;
  m.id = id;
  m.kind = MessageKind::command;
  m.type = "drill.apply";
  m.destination = "drill";
  m.correlation_id = "saga-" + key;
  m.reply_to = "sagaflow.replies";
  m.idempotency_key = key;
  m.body = std::move(body);
  return m;
}

// A group of four: three keys, the first delivered twice (a duplicate within the group).
inline std::vector<Message> drill_group(const std::string& run) {
  return {drill_command(run + "/a/1", run + "/a"), drill_command(run + "/b/1", run + "/b"),
          drill_command(run + "/c/1", run + "/c"), drill_command(run + "/a/2", run + "/a")};
}

struct CrashRun {
  std::map<std::string, std::vector<std::string>> published;  // key -> reply bodies sent
  bool acknowledged = false;
  int exit_status = -1;
};

// In a child process: applies `group` on a new connection, "publishes" each reply as a line
// "key<TAB>body" on the pipe, then "ack", calling the fault points in order; the fault hook
// _exits with 3 at the `occurrence`-th call of `point`.
template <class Factory>
CrashRun crash_in_child(Factory& factory, const std::vector<Message>& group, std::string_view point,
                        int occurrence) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    int seen = 0;
    worker::FaultPoint fault = [&](std::string_view at) {
      if (at == point && ++seen == occurrence) ::_exit(3);
    };
    auto write_all = [&](const std::string& text) {
      std::size_t done = 0;
      while (done < text.size()) {
        const auto n = ::write(fds[1], text.data() + done, text.size() - done);
        if (n <= 0) ::_exit(5);
        done += static_cast<std::size_t>(n);
      }
    };
    try {
      auto dispatcher = drill_dispatcher(factory.make(), fault);
      // A group whose database call fails (a connection timing out on a loaded machine) is
      // tried again, as the RabbitMQ worker does; the crash point still ends the child.
      std::vector<Message> replies;
      for (int attempt = 1;; ++attempt) {
        try {
          replies = dispatcher.handle_batch(group);
          break;
        } catch (const std::exception&) {
          if (attempt == 3) throw;
        }
      }
      for (std::size_t i = 0; i < replies.size(); ++i) {
        write_all(group[i].idempotency_key + "\t" + replies[i].body + "\n");
      }
      fault(worker::inbox_point::published);
      fault(worker::inbox_point::confirmed);
      write_all("ack\n");
      fault(worker::inbox_point::acknowledged);
    } catch (...) {
      ::_exit(4);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buffer[4096];
  for (;;) {
    const auto n = ::read(fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CrashRun run;
  run.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    const auto line = text.substr(start, end - start);
    start = end == std::string::npos ? text.size() : end + 1;
    if (line == "ack") {
      run.acknowledged = true;
      continue;
    }
    const auto tab = line.find('\t');
    run.published[line.substr(0, tab)].push_back(line.substr(tab + 1));
  }
  return run;
}

// Redelivers the whole group on a new connection and checks the promise: one effect per key,
// and one reply per key, whatever was published before.
template <class Factory>
void check_redelivery(Factory& factory, const std::vector<Message>& group,
                      const std::map<std::string, std::vector<std::string>>& published) {
  auto db = factory.make();
  auto dispatcher = drill_dispatcher(db);
  auto replies = dispatcher.handle_batch(group);
  REQUIRE(replies.size() == group.size());
  std::map<std::string, std::string> answer;
  for (std::size_t i = 0; i < group.size(); ++i) {
    CHECK(replies[i].outcome == ReplyOutcome::success);
    CHECK(replies[i].causation_id == group[i].id);  // addressed to this delivery
    auto [it, first] = answer.emplace(group[i].idempotency_key, replies[i].body);
    CHECK(it->second == replies[i].body);
  }
  for (const auto& [key, bodies] : published) {
    for (const auto& body : bodies) CHECK_MESSAGE(body == answer[key], "key " << key);
  }
  const auto counts = effect_counts(*factory.make());
  for (const auto& [key, body] : answer) CHECK_MESSAGE(counts.at(key) == 1, "key " << key);
}

}  // namespace sagaflow::contract

// clang-format off
#define SAGAFLOW_INBOX_CONTRACT(...)                                                               \
  TEST_CASE_TEMPLATE_DEFINE("inbox contract", Factory, sagaflow_inbox_contract) {                 \
    sagaflow_inbox_contract_body<Factory>();                                                       \
  }                                                                                                \
  TEST_CASE_TEMPLATE_INVOKE(sagaflow_inbox_contract, __VA_ARGS__)
// clang-format on

template <class Factory>
void sagaflow_inbox_contract_body() {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  Factory factory;
  prepare_effects(*factory.make());

  SUBCASE("a command is applied once; a redelivery is answered the same reply without running") {
    auto dispatcher = drill_dispatcher(factory.make());
    const auto first = dispatcher.handle(drill_command("c/1", "k"));
    auto retry = drill_command("c/2", "k");
    retry.attempt = 2;
    const auto again = dispatcher.handle(retry);
    CHECK(first.outcome == ReplyOutcome::success);
    CHECK(again.body == first.body);
    CHECK(again.id == "c/2/reply");
    CHECK(again.attempt == 2);
    // A restarted process (a new connection, a new inbox) remembers it too.
    const auto after_restart = drill_dispatcher(factory.make()).handle(drill_command("c/3", "k"));
    CHECK(after_restart.body == first.body);
    CHECK(effect_counts(*factory.make()).at("k") == 1);
  }

  SUBCASE("in a group, a handler that throws or fails technically rolls back only its own writes") {
    auto dispatcher = drill_dispatcher(factory.make());
    std::vector<Message> group = {drill_command("g/1", "ok-1"),
                                  drill_command("g/2", "throws", R"({"throw":true})"),
                                  drill_command("g/3", "technical", R"({"technical":true})"),
                                  drill_command("g/4", "bad-sql", R"({"bad_sql":true})"),
                                  drill_command("g/5", "refused", R"({"refuse":true})"),
                                  drill_command("g/6", "ok-2")};
    const auto replies = dispatcher.handle_batch(group);
    REQUIRE(replies.size() == 6);
    CHECK(replies[0].outcome == ReplyOutcome::success);
    CHECK(replies[1].outcome == ReplyOutcome::technical_error);
    CHECK(replies[1].error_code == "HandlerException");
    CHECK(replies[2].outcome == ReplyOutcome::technical_error);
    CHECK(replies[3].outcome == ReplyOutcome::technical_error);
    CHECK(replies[4].outcome == ReplyOutcome::business_failure);
    CHECK(replies[5].outcome == ReplyOutcome::success);
    const auto counts = effect_counts(*factory.make());
    CHECK(counts.at("ok-1") == 1);
    CHECK(counts.at("ok-2") == 1);
    CHECK(counts.at("refused") == 1);  // a business failure is an answer: its writes stand
    CHECK_FALSE(counts.contains("throws"));
    CHECK_FALSE(counts.contains("technical"));
    CHECK_FALSE(counts.contains("bad-sql"));
    // Remembered: the successes and the business failure; the technical errors run again.
    auto inbox = worker::Inbox(factory.make(), {"drill"});
    CHECK(inbox.find("ok-1").has_value());
    CHECK(inbox.find("refused")->outcome == ReplyOutcome::business_failure);
    CHECK(inbox.find("refused")->error_code == "Refused");
    CHECK_FALSE(inbox.find("throws").has_value());
    CHECK_FALSE(inbox.find("technical").has_value());
    const auto retried = dispatcher.handle(drill_command("g/3b", "technical"));
    CHECK(retried.outcome == ReplyOutcome::success);
    CHECK(effect_counts(*factory.make()).at("technical") == 1);
  }

  SUBCASE("scopes keep the keys of dispatchers sharing a database apart") {
    auto db = factory.make();
    worker::Dispatcher other(std::make_shared<worker::Inbox>(db, worker::InboxOptions{"other"}));
    other.on("drill.apply", [](const worker::Command&) { return worker::Result::ok(); });
    drill_dispatcher(db).handle(drill_command("s/1", "shared"));
    const auto reply = other.handle(drill_command("s/2", "shared"));
    CHECK(reply.body == "{}");  // its own handler ran: not the drill's remembered token
  }

  SUBCASE("the schema is created on first use at version 1, and a newer one is refused") {
    auto db = factory.make();
    worker::Inbox(db, {"drill"}).find("nothing");
    worker::Sql& sql = db->begin();
    CHECK(sql.scalar("SELECT MAX(version) FROM sagaflow_inbox_schema") == "1");
    sql.query("INSERT INTO sagaflow_inbox_schema (version) VALUES ($1)", {"99"});
    db->commit();
    CHECK_THROWS_WITH_AS(worker::Inbox(factory.make(), {"drill"}).find("nothing"),
                         doctest::Contains("newer than this program's"), std::runtime_error);
  }

  SUBCASE("a crash between any two steps applies each effect once and answers the same reply") {
    struct Point {
      std::string_view name;
      int occurrences;  // per command (handled, released) or per group
    };
    const Point points[] = {
        {worker::inbox_point::handled, 3},   {worker::inbox_point::released, 3},
        {worker::inbox_point::committed, 1}, {worker::inbox_point::published, 1},
        {worker::inbox_point::confirmed, 1}, {worker::inbox_point::acknowledged, 1}};
    constexpr int kRepeats = 3;
    int run_number = 0;
    for (const auto& point : points) {
      for (int occurrence = 1; occurrence <= point.occurrences; ++occurrence) {
        for (int repeat = 0; repeat < kRepeats; ++repeat) {
          CAPTURE(point.name);
          CAPTURE(occurrence);
          const auto group = drill_group("crash-" + std::to_string(run_number++));
          const auto crashed = crash_in_child(factory, group, point.name, occurrence);
          REQUIRE(crashed.exit_status == 3);  // it did crash there
          const bool before_commit = point.name == worker::inbox_point::handled ||
                                     point.name == worker::inbox_point::released;
          CHECK(crashed.published.empty() ==
                (before_commit || point.name == worker::inbox_point::committed));
          CHECK(crashed.acknowledged == (point.name == worker::inbox_point::acknowledged));
          check_redelivery(factory, group, crashed.published);
          ++inbox_crash_runs();
        }
      }
    }
    // The same points, throwing in the process instead of ending it: the group fails, and its
    // redelivery finds the database as a crash would have left it.
    for (const auto& point : points) {
      if (point.name != worker::inbox_point::handled &&
          point.name != worker::inbox_point::released &&
          point.name != worker::inbox_point::committed) {
        continue;
      }
      for (int occurrence = 1; occurrence <= point.occurrences; ++occurrence) {
        CAPTURE(point.name);
        const auto group = drill_group("throw-" + std::to_string(run_number++));
        int seen = 0;
        auto dispatcher = drill_dispatcher(factory.make(), [&](std::string_view at) {
          if (at == point.name && ++seen == occurrence) throw std::runtime_error("fault");
        });
        CHECK_THROWS_AS(dispatcher.handle_batch(group), std::runtime_error);
        check_redelivery(factory, group, {});
        ++inbox_crash_runs();
      }
    }
    MESSAGE("inbox crash drill: " << inbox_crash_runs() << " crash runs so far, each effect once");
  }
}
