#include "sagaflow/postgres/session.hpp"

#include "connection.hpp"
#include "errors.hpp"
#include "setup.hpp"

namespace sagaflow::postgres {

struct Session::Impl {
  PostgresOptions options;
  Connection connection;

  // Reads every result of what was sent; returns the rows of the last one that had rows.
  std::vector<Row> drain(std::string_view context) {
    const Deadline deadline = deadline_in(options.io_timeout);
    std::vector<Row> rows;
    std::optional<Result> failed;
    while (Result r = connection.get_result(deadline)) {
      if (r.status() == Result::Status::error) {
        if (!failed) failed = std::move(r);
        continue;
      }
      if (r.status() != Result::Status::tuples_ok) continue;
      rows.clear();
      for (int i = 0; i < r.rows(); ++i) {
        Row row;
        for (int c = 0; c < r.columns(); ++c) {
          row.push_back(r.is_null(i, c) ? Value() : Value(r.text(i, c)));
        }
        rows.push_back(std::move(row));
      }
    }
    if (failed) throw_error(*failed, context);
    return rows;
  }
};

Session::Session(const PostgresOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->connection.connect(connect_keywords(options), deadline_in(options.connect_timeout));
  set_search_path(impl_->connection, options.schema, deadline_in(options.io_timeout));
}

Session::~Session() = default;

std::vector<Session::Row> Session::query(std::string_view sql, const std::vector<Value>& params) {
  Params p;
  for (const Value& v : params) p.add(v);
  impl_->connection.send_query_params(std::string(sql), p);
  return impl_->drain("query");
}

Session::Value Session::scalar(std::string_view sql, const std::vector<Value>& params) {
  auto rows = query(sql, params);
  if (rows.empty() || rows[0].empty()) return std::nullopt;
  return rows[0][0];
}

void Session::execute(std::string_view sql) {
  impl_->connection.send_query(std::string(sql));
  impl_->drain("execute");
}

int Session::backend_pid() const {
  return impl_->connection.backend_pid();
}

}  // namespace sagaflow::postgres
