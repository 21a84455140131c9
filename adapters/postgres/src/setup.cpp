#include "setup.hpp"

#include <libpq-fe.h>

#include <optional>

#include "errors.hpp"

namespace sagaflow::postgres {

namespace {

// An identifier as search_path takes it: quoted, inner quotes doubled.
std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> connect_keywords(const PostgresOptions& options) {
  return {{"dbname", options.dsn},
          {"fallback_application_name", options.application_name},
          {"client_encoding", "UTF8"}};
}

void set_search_path(Connection& connection, const std::string& schema, Deadline deadline) {
  if (schema.empty()) return;
  Params params;
  params.add(quote_identifier(schema));
  connection.send_query_params("SELECT set_config('search_path', $1, false)", params);
  std::optional<Result> failed;
  while (Result r = connection.get_result(deadline)) {
    if (r.status() == Result::Status::error && !failed) failed = std::move(r);
  }
  if (failed) throw_error(*failed, "setting search_path");
}

std::string redacted_dsn(std::string_view dsn) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(dsn).c_str(), &error);
  if (options == nullptr) {
    // libpq's message may quote the DSN, password and all: never pass it on.
    if (error != nullptr) PQfreemem(error);
    return "<unparseable dsn>";
  }
  std::string out;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || *o->val == '\0') continue;
    const std::string keyword = o->keyword;
    std::string value = keyword == "password" ? "****" : o->val;
    // Quoted as a connection string takes values: inside '...', with \ and ' escaped.
    std::string quoted = "'";
    for (char c : value) {
      if (c == '\\' || c == '\'') quoted += '\\';
      quoted += c;
    }
    quoted += "'";
    if (!out.empty()) out += ' ';
    out += keyword + "=" + quoted;
  }
  PQconninfoFree(options);
  return out;
}

}  // namespace sagaflow::postgres
