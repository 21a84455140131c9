#include "result.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>

#include "sagaflow/postgres/errors.hpp"

namespace sagaflow::postgres {

namespace {

std::string field(const PGresult* result, int code) {
  const char* value = PQresultErrorField(result, code);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

Result::~Result() {
  if (result_ != nullptr) PQclear(result_);
}

Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

Result::Status Result::status() const {
  switch (PQresultStatus(result_)) {
    case PGRES_EMPTY_QUERY:
      return Status::empty;
    case PGRES_COMMAND_OK:
      return Status::command_ok;
    case PGRES_TUPLES_OK:
      return Status::tuples_ok;
    case PGRES_BAD_RESPONSE:
    case PGRES_NONFATAL_ERROR:
    case PGRES_FATAL_ERROR:
      return Status::error;
    case PGRES_PIPELINE_SYNC:
      return Status::pipeline_sync;
    case PGRES_PIPELINE_ABORTED:
      return Status::pipeline_aborted;
    default:
      return Status::other;
  }
}

int Result::rows() const {
  return PQntuples(result_);
}

int Result::columns() const {
  return PQnfields(result_);
}

bool Result::is_null(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

std::string_view Result::view(int row, int column) const {
  return {PQgetvalue(result_, row, column),
          static_cast<std::size_t>(PQgetlength(result_, row, column))};
}

std::int64_t Result::int64(int row, int column) const {
  const std::string_view text = view(row, column);
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw Error("postgres: expected an integer in column " + std::to_string(column) + ", got '" +
                std::string(text) + "'");
  }
  return value;
}

std::int64_t Result::affected() const {
  const char* text = PQcmdTuples(result_);
  return text == nullptr || *text == '\0' ? 0 : std::strtoll(text, nullptr, 10);
}

std::string Result::sqlstate() const {
  return field(result_, PG_DIAG_SQLSTATE);
}

std::string Result::constraint() const {
  return field(result_, PG_DIAG_CONSTRAINT_NAME);
}

std::string Result::message() const {
  std::string primary = field(result_, PG_DIAG_MESSAGE_PRIMARY);
  if (!primary.empty()) return primary;
  std::string text = PQresultErrorMessage(result_);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace sagaflow::postgres
