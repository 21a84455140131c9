#include "errors.hpp"

#include "sagaflow/postgres/errors.hpp"

namespace sagaflow::postgres {

bool is_connection_loss(std::string_view sqlstate) {
  // 08P01 (protocol violation) is the one class 08 error a session survives: the server reports
  // e.g. a wrong parameter count with it.
  return sqlstate.empty() || (sqlstate.substr(0, 2) == "08" && sqlstate != "08P01") ||
         sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
}

void throw_error(const Result& result, std::string_view context) {
  const std::string sqlstate = result.sqlstate();
  std::string what = "postgres: " + std::string(context) + ": " + result.message();
  if (!sqlstate.empty()) what += " (SQLSTATE " + sqlstate + ")";
  if (is_connection_loss(sqlstate)) throw ConnectionError(what);
  const std::string_view sqlclass = std::string_view(sqlstate).substr(0, 2);
  if (sqlstate == "23505") throw UniqueViolation(sqlstate, result.constraint(), what);
  if (sqlclass == "23") throw IntegrityViolation(sqlstate, result.constraint(), what);
  if (sqlclass == "40") throw TransactionRollback(sqlstate, result.constraint(), what);
  throw ServerError(sqlstate, result.constraint(), what);
}

}  // namespace sagaflow::postgres
