#include "sagaflow/sqlite/inbox_database.hpp"

#include <sqlite3.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "connection.hpp"

namespace sagaflow::sqlite {

namespace {

// A statement prepared once per SQL text and kept: a group runs the same few statements for
// each of its commands.
struct Prepared {
  Prepared() = default;
  Prepared(const Prepared&) = delete;
  Prepared& operator=(const Prepared&) = delete;
  ~Prepared() { sqlite3_finalize(stmt); }
  sqlite3_stmt* stmt = nullptr;
};

class SqliteSql final : public worker::Sql {
 public:
  explicit SqliteSql(sqlite3* db) : db_(db) {}

  std::vector<Row> query(std::string_view sql, const std::vector<Value>& params) override {
    sqlite3_stmt* stmt = prepare(sql);
    struct Reset {
      sqlite3_stmt* stmt;
      ~Reset() {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
      }
    } reset{stmt};
    const int expected = sqlite3_bind_parameter_count(stmt);
    if (expected != static_cast<int>(params.size())) {
      throw Error(SQLITE_RANGE, "sqlite: the statement takes " + std::to_string(expected) +
                                    " parameters, " + std::to_string(params.size()) +
                                    " given: " + std::string(sql));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const std::string name = "$" + std::to_string(i + 1);
      const int index = sqlite3_bind_parameter_index(stmt, name.c_str());
      if (index == 0) {
        throw Error(SQLITE_RANGE, "sqlite: parameters are written $1, $2, ...; " + name +
                                      " is missing from: " + std::string(sql));
      }
      const int rc = params[i]
                         ? sqlite3_bind_text(stmt, index, params[i]->data(),
                                             static_cast<int>(params[i]->size()), SQLITE_STATIC)
                         : sqlite3_bind_null(stmt, index);
      if (rc != SQLITE_OK) throw_error(db_, rc, "bind");
    }
    std::vector<Row> rows;
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) throw_error(db_, rc, std::string(sql));
      Row row;
      const int columns = sqlite3_column_count(stmt);
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
          continue;
        }
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        row.emplace_back(
            std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, c))));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  sqlite3_stmt* prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second.stmt;
    Prepared prepared;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &prepared.stmt, nullptr);
    if (rc != SQLITE_OK) throw_error(db_, rc, "prepare " + std::string(sql));
    if (prepared.stmt == nullptr) throw Error(SQLITE_MISUSE, "sqlite: empty statement");
    sqlite3_stmt* stmt = prepared.stmt;
    statements_[std::string(sql)].stmt = std::exchange(prepared.stmt, nullptr);
    return stmt;
  }

  sqlite3* db_;
  std::map<std::string, Prepared, std::less<>> statements_;
};

}  // namespace

struct InboxDatabase::Impl {
  explicit Impl(const std::string& path) : connection(path), sql(connection.get()) {}
  Connection connection;
  SqliteSql sql;
};

InboxDatabase::InboxDatabase(const std::string& path, std::chrono::milliseconds busy_timeout)
    : impl_(std::make_unique<Impl>(path)) {
  impl_->connection.busy_timeout(busy_timeout);
  impl_->connection.exec("PRAGMA journal_mode = WAL");
  impl_->connection.exec("PRAGMA synchronous = FULL");
}

InboxDatabase::~InboxDatabase() = default;

worker::Sql& InboxDatabase::begin() {
  impl_->connection.exec("BEGIN IMMEDIATE");
  return impl_->sql;
}

void InboxDatabase::commit() {
  try {
    impl_->connection.exec("COMMIT");
  } catch (...) {
    rollback();  // a failed COMMIT (e.g. SQLITE_BUSY) may leave the transaction open
    throw;
  }
}

void InboxDatabase::rollback() noexcept {
  if (!impl_->connection.autocommit()) {
    sqlite3_exec(impl_->connection.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

worker::Sql& InboxDatabase::sql() {
  return impl_->sql;
}

}  // namespace sagaflow::sqlite
