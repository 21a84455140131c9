#include "sagaflow/postgres/inbox_database.hpp"

#include <optional>
#include <utility>

#include "sagaflow/postgres/errors.hpp"
#include "sagaflow/postgres/session.hpp"

namespace sagaflow::postgres {

namespace {

// "sagaflow" and "inbox" in ASCII, in the two-integer key space of advisory locks.
constexpr const char* kSchemaLock = "SELECT pg_advisory_xact_lock(1935763297, 1768841848)";

}  // namespace

struct InboxDatabase::Impl : worker::Sql {
  explicit Impl(PostgresOptions options) : options(std::move(options)) {}

  std::vector<Row> query(std::string_view sql, const std::vector<Value>& params) override {
    if (!session) throw ConnectionError("postgres inbox: no open transaction");
    try {
      return session->query(sql, params);
    } catch (const ConnectionError&) {
      session.reset();  // reconnect at the next begin()
      throw;
    }
  }

  PostgresOptions options;
  std::optional<Session> session;
};

InboxDatabase::InboxDatabase(PostgresOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

InboxDatabase::~InboxDatabase() = default;

worker::Sql& InboxDatabase::begin() {
  if (!impl_->session) impl_->session.emplace(impl_->options);
  impl_->query("BEGIN", {});
  return *impl_;
}

void InboxDatabase::commit() {
  impl_->query("COMMIT", {});
}

void InboxDatabase::rollback() noexcept {
  if (!impl_->session) return;
  try {
    impl_->session->query("ROLLBACK");
  } catch (...) {
    impl_->session.reset();
  }
}

void InboxDatabase::lock_schema() {
  impl_->query(kSchemaLock, {});
}

}  // namespace sagaflow::postgres
