// The transactional inbox contract (tests/contract/inbox_contract.hpp) on PostgreSQL, each case
// in an empty schema of its own; and what only a server shared by several processes shows: two
// workers applying the same key at once apply it once and answer the same reply, and a lost
// connection fails one group and the next reconnects.
#include <doctest/doctest.h>

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <thread>

#include "contract/inbox_contract.hpp"
#include "integration/postgres/pg.hpp"
#include "sagaflow/postgres/inbox_database.hpp"

namespace {

using namespace sagaflow;
using namespace sagaflow::postgres::testing;

// Each factory's connections carry an application name of their own (its schema's): ctest runs
// these cases in parallel processes, and the lost-connection case must end only its own.
struct PostgresInboxFactory {
  Scratch scratch;
  std::string application_name() const { return "inbox-" + scratch.schema(); }
  std::shared_ptr<worker::Database> make() {
    return std::make_shared<postgres::InboxDatabase>(scratch.options(application_name()));
  }
};

}  // namespace

TYPE_TO_STRING(PostgresInboxFactory);
SAGAFLOW_INBOX_CONTRACT(PostgresInboxFactory);

TEST_CASE("postgres inbox: two workers applying one key at once apply it once, answer alike") {
  PostgresInboxFactory factory;
  contract::prepare_effects(*factory.make());
  for (int round = 0; round < 5; ++round) {
    const std::string key = "race-" + std::to_string(round);
    // Each handler waits a moment after its write, so that both transactions hold their effect
    // uncommitted when they insert the key: the second waits for the first, then finds the key.
    auto slow = [](worker::Dispatcher dispatcher) {
      dispatcher.on("drill.slow", [](const worker::Command& c) {
        c.transaction->query("INSERT INTO drill_effects (idempotency_key, token) VALUES ($1, $2)",
                             {c.message.idempotency_key, c.message.id});
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return worker::Result::ok(json::object{{"by", c.message.id}});
      });
      return dispatcher;
    };
    auto one = slow(contract::drill_dispatcher(factory.make()));
    auto two = slow(contract::drill_dispatcher(factory.make()));
    auto command = [&](const std::string& id) {
      auto m = contract::drill_command(id, key);
      m.type = "drill.slow";
      return m;
    };
    // As the RabbitMQ worker does, a group whose database call fails (a connection that timed
    // out on a loaded machine) is tried again: the key still decides who applied it.
    auto handle = [](worker::Dispatcher& d, const Message& m) {
      for (int attempt = 1;; ++attempt) {
        try {
          return d.handle(m);
        } catch (const std::exception&) {
          if (attempt == 5) throw;
          std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
        }
      }
    };
    Message reply_one, reply_two;
    std::exception_ptr failed_one, failed_two;
    std::thread a([&] {
      try {
        reply_one = handle(one, command("first"));
      } catch (...) {
        failed_one = std::current_exception();
      }
    });
    std::thread b([&] {
      try {
        reply_two = handle(two, command("second"));
      } catch (...) {
        failed_two = std::current_exception();
      }
    });
    a.join();
    b.join();
    REQUIRE_FALSE(failed_one);
    REQUIRE_FALSE(failed_two);
    CHECK(reply_one.outcome == ReplyOutcome::success);
    CHECK(reply_two.outcome == ReplyOutcome::success);
    CHECK(reply_one.body == reply_two.body);
    CHECK(contract::effect_counts(*factory.make()).at(key) == 1);
  }
}

TEST_CASE("postgres inbox: a lost connection fails its group, the next group reconnects") {
  PostgresInboxFactory factory;
  contract::prepare_effects(*factory.make());
  auto dispatcher = contract::drill_dispatcher(factory.make());
  CHECK(dispatcher.handle(contract::drill_command("l/1", "before")).outcome ==
        ReplyOutcome::success);
  // Ends every session of this factory's application name: the inbox's connection.
  auto probe = factory.scratch.session();
  probe.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = $1 AND pid <> pg_backend_pid()",
      {factory.application_name()});
  CHECK_THROWS(dispatcher.handle(contract::drill_command("l/2", "lost")));
  const auto reply = dispatcher.handle(contract::drill_command("l/3", "lost"));
  CHECK(reply.outcome == ReplyOutcome::success);
  CHECK(contract::effect_counts(*factory.make()).at("lost") == 1);
}

TEST_CASE("postgres inbox: a handler that swallows its own SQL error fails alone, not its group") {
  PostgresInboxFactory factory;
  contract::prepare_effects(*factory.make());
  auto dispatcher = contract::drill_dispatcher(factory.make());
  dispatcher.on("drill.swallow", [](const worker::Command& c) {
    try {
      c.transaction->query("INSERT INTO no_such_table VALUES (1)");
    } catch (const std::exception&) {
      // Answering anyway: PostgreSQL has aborted the transaction up to this savepoint.
    }
    return worker::Result::ok();
  });
  auto swallow = contract::drill_command("w/2", "swallowed");
  swallow.type = "drill.swallow";
  const std::vector<Message> group = {contract::drill_command("w/1", "before"), swallow,
                                      contract::drill_command("w/3", "after")};
  const auto replies = dispatcher.handle_batch(group);
  REQUIRE(replies.size() == 3);
  CHECK(replies[0].outcome == ReplyOutcome::success);
  CHECK(replies[1].outcome == ReplyOutcome::technical_error);
  CHECK(replies[1].error_code == "HandlerException");
  CHECK(replies[2].outcome == ReplyOutcome::success);
  const auto counts = contract::effect_counts(*factory.make());
  CHECK(counts.at("before") == 1);
  CHECK(counts.at("after") == 1);
  CHECK_FALSE(worker::Inbox(factory.make(), {"drill"}).find("swallowed").has_value());
}
