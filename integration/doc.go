// Package integration holds the drop-in tests of sqlite3-safe under the
// libraries Go programs put on top of database/sql: GORM, sqlx, goose
// migrations, Litestream replication, a LiteFS primary and read replica,
// and go-sqlite3's online Backup API reached through sqlite3safe.Unwrap.
//
// It is a module of its own so that the library's go.mod does not grow;
// see README.md for the versions tested and the settings each needs.
package integration
