#pragma once
// The PostgreSQL adapter's errors: a small hierarchy, with the server's errors typed by their
// SQLSTATE class. The Store port's own refusals (VersionConflict, DuplicateIdempotencyKey,
// StaleLease, FlowVersionExists) are thrown as themselves, never as these. No text here ever
// contains a password.
#include <stdexcept>
#include <string>

namespace sagaflow::postgres {

// Every failure of this adapter that is not one of the Store port's refusals.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The connection could not be made or was lost: libpq reported a broken connection, or the
// server answered with SQLSTATE class 08 (connection exception) or 57P01-57P03 (shutting down,
// crashed, starting up). The store reconnects by itself; callers see this only once reconnecting
// took longer than PostgresOptions::reconnect_timeout.
class ConnectionError : public Error {
 public:
  using Error::Error;
};

// commit() lost its connection and could not reconnect in time to learn whether its transaction
// committed. The batch may or may not be in the store: reload what it touched before going on.
class CommitOutcomeUnknown : public ConnectionError {
 public:
  using ConnectionError::ConnectionError;
};

// An error the server reported for a statement.
class ServerError : public Error {
 public:
  ServerError(std::string sqlstate, std::string constraint, const std::string& what)
      : Error(what), sqlstate(std::move(sqlstate)), constraint(std::move(constraint)) {}
  std::string sqlstate;    // e.g. "23505"
  std::string constraint;  // the constraint violated, when the server names one
};

// SQLSTATE class 23: a constraint refused the row.
class IntegrityViolation : public ServerError {
 public:
  using ServerError::ServerError;
};

// 23505: a unique index refused the row (`constraint` names it).
class UniqueViolation : public IntegrityViolation {
 public:
  using IntegrityViolation::IntegrityViolation;
};

// SQLSTATE class 40: the server rolled the transaction back (40001 serialization failure,
// 40P01 deadlock). Nothing was written; running it again may succeed.
class TransactionRollback : public ServerError {
 public:
  using ServerError::ServerError;
};

}  // namespace sagaflow::postgres
