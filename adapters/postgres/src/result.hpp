#pragma once
// RAII owner of one PGresult. Internal to the adapter: libpq-fe.h stays in src/*.cpp. Each
// method wraps one libpq call on the result; values are read in text form.
#include <cstdint>
#include <string>
#include <string_view>

struct pg_result;

namespace sagaflow::postgres {

class Result {
 public:
  // What a result is (PQresultStatus, folded to what the adapter tells apart).
  enum class Status { empty, command_ok, tuples_ok, error, pipeline_sync, pipeline_aborted, other };

  Result() = default;
  explicit Result(pg_result* result) : result_(result) {}
  // PQclear.
  ~Result();
  Result(Result&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  // False for the null result that ends one query's results.
  explicit operator bool() const { return result_ != nullptr; }

  // PQresultStatus.
  Status status() const;
  // PQntuples.
  int rows() const;
  // PQnfields.
  int columns() const;
  // PQgetisnull.
  bool is_null(int row, int column) const;
  // PQgetvalue / PQgetlength: the text form ("" for NULL), valid while this Result lives.
  std::string_view view(int row, int column) const;
  std::string text(int row, int column) const { return std::string(view(row, column)); }
  // PQgetvalue of an integer column, parsed; throws Error when it is not one.
  std::int64_t int64(int row, int column) const;
  // PQcmdTuples: rows an INSERT/UPDATE/DELETE touched.
  std::int64_t affected() const;
  // PQresultErrorField(PG_DIAG_SQLSTATE): "" when the error is libpq's own (no server code).
  std::string sqlstate() const;
  // PQresultErrorField(PG_DIAG_CONSTRAINT_NAME).
  std::string constraint() const;
  // PQresultErrorField(PG_DIAG_MESSAGE_PRIMARY), or PQresultErrorMessage without it.
  std::string message() const;

 private:
  pg_result* result_ = nullptr;
};

}  // namespace sagaflow::postgres
