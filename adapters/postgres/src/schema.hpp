#pragma once
// The store's schema, versioned by the schema_migrations table.
namespace sagaflow::postgres {

class Connection;

// Brings the schema up to the newest version: the migrations it has not had yet run in one
// transaction, together with their schema_migrations rows, under a transaction-level advisory
// lock, so that several processes starting at once run each migration once and a crash mid-way
// leaves the previous version. Refuses a schema written by a newer Sagaflow. Needs a connection
// out of pipeline mode (migrations are several statements each: the simple protocol).
void migrate(Connection& connection);

}  // namespace sagaflow::postgres
