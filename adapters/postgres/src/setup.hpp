#pragma once
// What every connection of the adapter (the store's and a Session's) is opened and set up with.
#include <string>
#include <utility>
#include <vector>

#include "connection.hpp"
#include "sagaflow/postgres/postgres_store.hpp"

namespace sagaflow::postgres {

// The keywords for Connection::connect: the DSN (expanded by libpq) first, then what the adapter
// insists on (UTF-8); application_name only as a fallback for a DSN that names none.
std::vector<std::pair<std::string, std::string>> connect_keywords(const PostgresOptions& options);

// Makes `schema` the session's search_path (nothing when empty). The name travels as a
// parameter value, quoted as an identifier, never as SQL text.
void set_search_path(Connection& connection, const std::string& schema, Deadline deadline);

}  // namespace sagaflow::postgres
