// The transactional inbox contract (tests/contract/inbox_contract.hpp) on an SQLite file, and
// what only SQLite shows: parameters are written $1, $2 ... and bound by name, in any order.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "contract/inbox_contract.hpp"
#include "sagaflow/sqlite/inbox_database.hpp"
#include "support/temp_folder.hpp"

namespace {

using namespace sagaflow;

struct SqliteInboxFactory {
  std::shared_ptr<worker::Database> make() {
    return std::make_shared<sqlite::InboxDatabase>(folder.file("service.db"));
  }
  testing::TempFolder folder;
};

}  // namespace

TYPE_TO_STRING(SqliteInboxFactory);
SAGAFLOW_INBOX_CONTRACT(SqliteInboxFactory);

TEST_CASE("sqlite inbox: $n parameters bind by name, values stay data") {
  SqliteInboxFactory factory;
  auto db = factory.make();
  worker::Sql& sql = db->begin();
  sql.query("CREATE TABLE t (a TEXT, b INTEGER)");
  sql.query("INSERT INTO t (b, a) VALUES ($2, $1)", {"'); DROP TABLE t; --", "7"});
  const auto rows = sql.query("SELECT a, b, NULL FROM t WHERE b = $1", {"7"});
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0] == "'); DROP TABLE t; --");
  CHECK(rows[0][1] == "7");
  CHECK_FALSE(rows[0][2].has_value());
  CHECK_THROWS_WITH(sql.query("SELECT ?", {"1"}), doctest::Contains("$1, $2"));
  CHECK_THROWS_WITH(sql.query("SELECT $1, $2", {"1"}), doctest::Contains("2 parameters, 1 given"));
  db->rollback();
}
