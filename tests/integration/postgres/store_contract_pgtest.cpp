// The store contract (tests/contract/store_contract.hpp), unchanged, against PostgresStore, each
// case in an empty schema of its own; and what only PostgreSQL shows: values that look like SQL
// stay data, the schema is migrated once, and the password never shows.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "contract/retention_under_load.hpp"
#include "contract/store_contract.hpp"
#include "integration/postgres/pg.hpp"
#include "sagaflow/postgres/postgres_store.hpp"

namespace {

using namespace sagaflow;
using namespace sagaflow::contract;
using namespace sagaflow::postgres;
using namespace sagaflow::postgres::testing;

struct PostgresFactory {
  Scratch scratch;
  std::unique_ptr<Store> make() { return std::make_unique<PostgresStore>(scratch.options()); }
};

}  // namespace

TYPE_TO_STRING(PostgresFactory);
SAGAFLOW_STORE_CONTRACT(PostgresFactory);

TEST_CASE("postgres store: quotes, semicolons and comments in values are data, never SQL") {
  Scratch scratch;
  PostgresStore store(scratch.options());
  const std::string id = "s'1\"; DROP TABLE sagas; --";
  const std::string flow = "or'der\"); DELETE FROM sagas; /*";
  const std::string key = "k'); TRUNCATE outbox; --";
  const std::string event = "pay'ment\"; --";

  SagaRow row = saga(id, flow, "run'ning", 1, key);
  row.state = R"({"note":"'; DROP TABLE history; --","q":"\""})";
  SagaWrite w = create(row);
  w.history.push_back({id, 1, at(1), "start'ed", "st\"ep;", R"({"x":"';--"})"});
  Message m = command("cmd'; --", id);
  m.body = R"({"sql":"'); DELETE FROM outbox; --"})";
  m.type = "points.reserve'; --";
  w.outbox.push_back(m);
  w.timers_set.push_back({id, "retry:'; --", at(5)});
  w.subscribe.push_back({event, key, id});
  const auto written = commit(store, {w});
  REQUIRE(written.size() == 1);

  auto loaded = store.load(id);
  REQUIRE(loaded.has_value());
  check_same(*loaded, row);
  CHECK(store.find_by_idempotency_key(flow, key) == std::optional<std::string>(id));
  CHECK(store.find_subscriber(event, key) == std::optional<std::string>(id));
  CHECK(ids(store.list({.flow = flow})) == std::vector<std::string>{id});
  CHECK(ids(store.list({.status = "run'ning"})) == std::vector<std::string>{id});
  CHECK(ids(store.list({.key = key})) == std::vector<std::string>{id});
  CHECK(ids(store.list({.after = SagaCursor{at(1), id + "'"}})) == std::vector<std::string>{id});
  auto history = store.history(id);
  REQUIRE(history.size() == 1);
  CHECK(history[0].kind == "start'ed");
  CHECK(history[0].step == "st\"ep;");
  CHECK(history[0].detail == R"({"x":"';--"})");
  auto outbox = store.unpublished_outbox(10);
  REQUIRE(outbox.size() == 1);
  check_same(outbox[0].message, m);
  CHECK(timer_keys(store.due_timers(at(5), 10)) == std::vector<std::string>{id + "/retry:'; --"});
  CHECK(store.count_by_flow_and_status() == std::vector<SagaCount>{{flow, "run'ning", 1}});

  store.save_flow_definition({flow, 1, "name: \"x'; DROP TABLE flow_definitions; --\"\n", at(1)});
  auto definitions = store.flow_definitions();
  REQUIRE(definitions.size() == 1);
  CHECK(definitions[0].name == flow);

  // And every table is still there.
  auto session = scratch.session();
  CHECK(session.scalar("SELECT count(*) FROM sagas") == std::optional<std::string>("1"));
  CHECK(session.scalar("SELECT count(*) FROM history") == std::optional<std::string>("1"));
  CHECK(session.scalar("SELECT count(*) FROM outbox") == std::optional<std::string>("1"));
}

TEST_CASE("postgres store: a schema name with quotes and a semicolon is an identifier") {
  Scratch scratch;
  // Written here as an identifier by hand; the store sets it as search_path from the options.
  const std::string schema = "we\"ird'; name";
  Session admin(options_for(scratch.dsn(), ""));
  admin.execute(
      R"(DROP SCHEMA IF EXISTS "we""ird'; name" CASCADE; CREATE SCHEMA "we""ird'; name")");
  {
    PostgresStore store(options_for(scratch.dsn(), schema));
    commit(store, {create(saga("s1"))});
    CHECK(store.load("s1").has_value());
  }
  CHECK(admin.scalar(R"(SELECT count(*) FROM "we""ird'; name".sagas)") ==
        std::optional<std::string>("1"));
  admin.execute(R"(DROP SCHEMA "we""ird'; name" CASCADE)");
}

TEST_CASE("postgres store: the schema is migrated once, and a newer one is refused") {
  Scratch scratch;
  {
    PostgresStore first(scratch.options());
    commit(first, {create(saga("s1"))});
  }
  // Two stores opening at once, and a reopening: the migrations ran once, the data is there.
  PostgresStore second(scratch.options());
  PostgresStore third(scratch.options());
  CHECK(second.load("s1").has_value());
  auto session = scratch.session();
  CHECK(session.scalar("SELECT count(*) FROM schema_migrations") ==
        std::optional<std::string>("8"));
  // Migration 2 leaves room on the sagas' pages for their next versions (HOT updates).
  CHECK(session.scalar("SELECT array_to_string(reloptions, ',') FROM pg_class "
                       "WHERE oid = 'sagas'::regclass") ==
        std::optional<std::string>("fillfactor=50"));

  session.execute("INSERT INTO schema_migrations (version) VALUES (999)");
  try {
    PostgresStore newer(scratch.options());
    FAIL("a schema from a newer Sagaflow was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("newer") != std::string::npos);
  }
}

TEST_CASE("postgres store: several processes migrating a fresh schema at once run it once") {
  Scratch scratch;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        PostgresStore store(scratch.options());
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(scratch.session().scalar("SELECT count(*) FROM schema_migrations") ==
        std::optional<std::string>("8"));
}

TEST_CASE("postgres store: the DSN's password never shows") {
  CHECK(redacted_dsn("host=db port=5432 user=app password=s3cret dbname=sagaflow").find("s3cret") ==
        std::string::npos);
  CHECK(redacted_dsn("host=db password=s3cret").find("password='****'") != std::string::npos);
  CHECK(redacted_dsn("postgresql://app:s3cret@db:5432/sagaflow").find("s3cret") ==
        std::string::npos);
  CHECK(redacted_dsn("postgresql://app:s3cret@db:5432/sagaflow").find("host='db'") !=
        std::string::npos);
  CHECK(redacted_dsn("host=db password='s3cret") == "<unparseable dsn>");

  // Nor in the error of a failed connection.
  PostgresOptions o;
  o.dsn = "host=127.0.0.1 port=1 user=app password=s3cret dbname=nothing";
  o.connect_timeout = 1s;
  o.reconnect_timeout = 200ms;
  try {
    PostgresStore store(o);
    FAIL("connected to port 1");
  } catch (const ConnectionError& e) {
    CHECK(std::string(e.what()).find("s3cret") == std::string::npos);
  }
}

TEST_CASE("postgres store: retention on its own connection removes a backlog while commits go on") {
  Scratch scratch;
  PostgresStore writer(scratch.options("sagaflow-test-orchestrator"));
  PostgresStore retention(scratch.options("sagaflow-test-retention"));
  check_retention_under_load(writer, retention);
}

TEST_CASE(
    "postgres store: retention never waits for a commit finishing a saga of its flow and status") {
  // Both write the counts of (order, completed): the orchestrator's commit adds the saga it
  // finishes, retention's batch takes off the ones it removes. They must not share a row, or a
  // commit waits for the row lock while a retention batch flushes (and the other way round).
  Scratch scratch;
  PostgresStore writer(scratch.options("sagaflow-test-orchestrator"));
  PostgresStore retention(scratch.options("sagaflow-test-retention"));
  auto old = saga("old", "order", "completed", 2);
  auto live = saga("live", "order", "running", 1);
  old.partition = live.partition = 3;
  commit(writer, {create(old), create(live)});

  // The commit that finishes `live`, held open: it holds the rows it wrote until it ends.
  auto finishing = scratch.session();
  finishing.execute("BEGIN");
  finishing.query("UPDATE sagas SET status = 'completed', version = 2 WHERE id = $1",
                  {std::string("live")});
  auto removing = std::async(std::launch::async,
                             [&] { return retention.remove_finished(std::vector<SagaRow>{old}); });
  const bool without_waiting =
      removing.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  finishing.execute("COMMIT");
  CHECK(without_waiting);
  const auto removed = removing.get();
  CHECK(removed.sagas == 1);
  CHECK_FALSE(writer.load("old").has_value());
  // The counts say what is there: `live` completed, `old` gone.
  const auto counts = writer.count_by_flow_and_status();
  REQUIRE(counts.size() == 1);
  CHECK(counts[0].flow == "order");
  CHECK(counts[0].status == "completed");
  CHECK(counts[0].count == 1);
}

TEST_CASE("postgres store: a database at schema 7 with sagas is upgraded to 8, its counts kept") {
  Scratch scratch;
  {
    PostgresStore before(scratch.options());
    auto done = saga("done", "order", "completed", 2);
    commit(before, {create(done), create(saga("running"))});
    CHECK(before.remove_finished(std::vector<SagaRow>{done}).sagas == 1);
    commit(before, {create(saga("done-2", "order", "completed", 2))});
  }
  // Back to schema 7 as an older Sagaflow left it: migration 8 not applied, and removals
  // counted on the rows of the sagas' own partitions.
  auto session = scratch.session();
  session.execute("DELETE FROM schema_migrations WHERE version = 8");
  session.execute(
      "INSERT INTO saga_counts AS c (flow, status, partition, count) "
      "SELECT flow, status, -1 - partition, count FROM saga_counts WHERE partition < 0 "
      "ON CONFLICT (flow, status, partition) DO UPDATE SET count = c.count + EXCLUDED.count; "
      "DELETE FROM saga_counts WHERE partition < 0; "
      "DROP TRIGGER sagas_count_delete ON sagas; "
      "CREATE TRIGGER sagas_count_delete AFTER DELETE ON sagas REFERENCING OLD TABLE AS old_rows "
      "FOR EACH STATEMENT EXECUTE FUNCTION sagaflow_count_sagas(); "
      "DROP FUNCTION sagaflow_count_removed_sagas()");
  CHECK(session.scalar("SELECT count(*) FROM saga_counts WHERE partition < 0") ==
        std::optional<std::string>("0"));
  PostgresStore after(scratch.options());
  CHECK(session.scalar("SELECT count(*) FROM schema_migrations") ==
        std::optional<std::string>("8"));
  auto counts = after.count_by_flow_and_status();
  REQUIRE(counts.size() == 2);
  CHECK(counts[0].status == "completed");
  CHECK(counts[0].count == 1);
  CHECK(counts[1].status == "running");
  CHECK(counts[1].count == 1);
  // And removals after the upgrade are counted too.
  CHECK(after.remove_finished(std::vector<SagaRow>{*after.load("done-2")}).sagas == 1);
  counts = after.count_by_flow_and_status();
  REQUIRE(counts.size() == 1);
  CHECK(counts[0].status == "running");
  // On a row of its own, which no commit writes.
  CHECK(session.scalar("SELECT sum(count) FROM saga_counts WHERE partition < 0") ==
        std::optional<std::string>("-1"));
}
