#include "sagaflow/worker/inbox.hpp"

#include <array>
#include <chrono>
#include <initializer_list>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace sagaflow::worker {

namespace {

// Append only: a released migration is never edited, a change is a new entry. Portable SQL
// (PostgreSQL and SQLite), one statement per string.
const std::vector<std::vector<const char*>> kMigrations = {
    // 1: one row per command applied: its key, the delivery that applied it, and the reply it
    // is answered with again. applied_at: milliseconds since the epoch, for pruning old rows.
    {R"sql(
CREATE TABLE sagaflow_inbox (
  scope           TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  command_id      TEXT NOT NULL,
  command_type    TEXT NOT NULL,
  outcome         TEXT NOT NULL,
  error_code      TEXT NOT NULL,
  body            TEXT NOT NULL,
  applied_at      BIGINT NOT NULL,
  PRIMARY KEY (scope, idempotency_key)
))sql",
     "CREATE INDEX sagaflow_inbox_applied_at ON sagaflow_inbox (applied_at)"},
};

ReplyOutcome outcome_from(const std::string& text) {
  if (text == to_string(ReplyOutcome::success)) return ReplyOutcome::success;
  if (text == to_string(ReplyOutcome::business_failure)) return ReplyOutcome::business_failure;
  throw std::runtime_error("sagaflow_inbox: unknown outcome '" + text + "'");
}

std::optional<RememberedReply> read_remembered(Sql& sql, const std::string& scope,
                                               const std::string& key) {
  auto rows = sql.query(
      "SELECT outcome, error_code, body FROM sagaflow_inbox "
      "WHERE scope = $1 AND idempotency_key = $2",
      {scope, key});
  if (rows.empty()) return std::nullopt;
  return RememberedReply{outcome_from(rows[0][0].value_or("")), rows[0][1].value_or(""),
                         rows[0][2].value_or("")};
}

// Inserts the key's row; false when a concurrent transaction (another process serving the same
// queue) committed the same key first, which this insert waited for.
bool insert_remembered(Sql& sql, const std::string& scope, const std::string& key,
                       const Message& command, const Message& reply) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto rows = sql.query(
      "INSERT INTO sagaflow_inbox (scope, idempotency_key, command_id, command_type, outcome, "
      "error_code, body, applied_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
      "ON CONFLICT DO NOTHING RETURNING idempotency_key",
      {scope, key, command.id, command.type, std::string(to_string(reply.outcome)),
       reply.error_code, reply.body, std::to_string(now)});
  return !rows.empty();
}

// Rolls back when the group does not reach its commit (an exception, a fault point throwing).
class OpenTransaction {
 public:
  explicit OpenTransaction(Database& database) : database_(database), sql_(database.begin()) {}
  ~OpenTransaction() {
    if (open_) database_.rollback();
  }
  OpenTransaction(const OpenTransaction&) = delete;
  OpenTransaction& operator=(const OpenTransaction&) = delete;
  Sql& sql() { return sql_; }
  void commit() {
    open_ = false;  // a failed COMMIT ends the transaction too (or leaves its fate unknown)
    database_.commit();
  }

 private:
  Database& database_;
  Sql& sql_;
  bool open_ = true;
};

}  // namespace

const std::string& idempotency_key_of(const Message& command) {
  return command.idempotency_key.empty() ? command.id : command.idempotency_key;
}

Inbox::Inbox(std::shared_ptr<Database> database, InboxOptions options)
    : database_(std::move(database)), options_(std::move(options)) {
  if (!database_) throw std::invalid_argument("Inbox: no database");
}

void Inbox::fault(std::string_view point) const {
  if (options_.fault_point) options_.fault_point(point);
}

void Inbox::ensure_schema() {
  if (migrated_) return;
  OpenTransaction tx(*database_);
  migrate(tx.sql());
  tx.commit();
  migrated_ = true;
}

void Inbox::migrate(Sql& sql) {
  database_->lock_schema();
  sql.query("CREATE TABLE IF NOT EXISTS sagaflow_inbox_schema (version INTEGER NOT NULL)");
  const auto version = std::stoll(
      sql.scalar("SELECT COALESCE(MAX(version), 0) FROM sagaflow_inbox_schema").value_or("0"));
  if (version > static_cast<long long>(kMigrations.size())) {
    throw std::runtime_error("sagaflow_inbox: the database's schema version " +
                             std::to_string(version) + " is newer than this program's (" +
                             std::to_string(kMigrations.size()) + ")");
  }
  for (auto v = static_cast<std::size_t>(version); v < kMigrations.size(); ++v) {
    for (const char* statement : kMigrations[v]) sql.query(statement);
    sql.query("INSERT INTO sagaflow_inbox_schema (version) VALUES ($1)", {std::to_string(v + 1)});
  }
}

std::vector<Message> Inbox::apply(std::span<const Message> commands, const Apply& apply,
                                  const Reanswer& reanswer) {
  std::lock_guard lock(database_->mutex());
  ensure_schema();
  std::vector<Message> replies;
  replies.reserve(commands.size());
  OpenTransaction tx(*database_);
  Sql& sql = tx.sql();
  for (const Message& command : commands) {
    const std::string& key = idempotency_key_of(command);
    if (auto remembered = read_remembered(sql, options_.scope, key)) {
      replies.push_back(reanswer(command, std::move(*remembered)));
      continue;
    }
    sql.query("SAVEPOINT sagaflow_command");
    Applied applied = apply(command, sql);
    fault(inbox_point::handled);
    if (applied.remember && !insert_remembered(sql, options_.scope, key, command, applied.reply)) {
      // Another process applied the key meanwhile and committed: its effect stands, this one is
      // undone, and its answer is the one given.
      sql.query("ROLLBACK TO SAVEPOINT sagaflow_command");
      sql.query("RELEASE SAVEPOINT sagaflow_command");
      auto remembered = read_remembered(sql, options_.scope, key);
      if (!remembered) throw std::runtime_error("sagaflow_inbox: key conflict without a row");
      replies.push_back(reanswer(command, std::move(*remembered)));
      continue;
    }
    if (!applied.remember) sql.query("ROLLBACK TO SAVEPOINT sagaflow_command");
    sql.query("RELEASE SAVEPOINT sagaflow_command");
    fault(inbox_point::released);
    replies.push_back(std::move(applied.reply));
  }
  tx.commit();
  fault(inbox_point::committed);
  return replies;
}

std::optional<RememberedReply> Inbox::find(std::string_view idempotency_key) {
  std::lock_guard lock(database_->mutex());
  ensure_schema();
  OpenTransaction tx(*database_);
  auto remembered = read_remembered(tx.sql(), options_.scope, std::string(idempotency_key));
  tx.commit();
  return remembered;
}

}  // namespace sagaflow::worker
