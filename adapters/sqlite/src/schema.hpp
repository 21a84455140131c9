#pragma once
// The store's schema, versioned by PRAGMA user_version.
namespace sagaflow::sqlite {

class Connection;

// Brings the database up to the newest schema: the migrations that the file has not had yet run
// in one transaction together with the user_version bump, so a crash mid-way leaves the previous
// version. Refuses a file written by a newer Sagaflow (unknown user_version).
void migrate(Connection& connection);

}  // namespace sagaflow::sqlite
