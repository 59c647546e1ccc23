module github.com/sqlite3safe/sqlite3safe

go 1.26.8

require (
	github.com/mattn/go-sqlite3 v1.14.53
	github.com/ngrok/sqlmw v0.0.0-20220520173518-97c9c04efc79
)
