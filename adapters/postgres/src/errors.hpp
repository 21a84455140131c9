#pragma once
// From a server's error result to the adapter's error types (sagaflow/postgres/errors.hpp), by
// SQLSTATE class.
#include <string>
#include <string_view>

#include "result.hpp"

namespace sagaflow::postgres {

// SQLSTATEs raised by the schema's own functions (schema.cpp).
inline constexpr std::string_view kVersionConflictState = "SF001";
inline constexpr std::string_view kStaleLeaseState = "SF002";

// Class 08 (connection exception, but for 08P01 protocol violation) and 57P01-57P03 (the server
// shutting down, crashed, starting up): the session is gone, whatever the statement was. An empty
// SQLSTATE is libpq's own error, which for a result means a lost connection.
bool is_connection_loss(std::string_view sqlstate);

// Throws the type for the result's SQLSTATE: ConnectionError, UniqueViolation,
// IntegrityViolation, TransactionRollback or ServerError. `context` says what was running.
[[noreturn]] void throw_error(const Result& result, std::string_view context);

}  // namespace sagaflow::postgres
