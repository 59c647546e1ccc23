//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sqlite3safe/sqlite3safe"
)

// Read your own writes across a LiteFS primary and its replicas: the
// primary hands the client the TXID its write made (here in a cookie), and
// a replica waits until it has that transaction before it reads for the
// client. On the primary the wait returns at once. (No output: it needs a
// LiteFS mount; integration/litefs_test.go runs it on a real cluster.)
func ExampleWaitLiteFSTXID() {
	const path = "/litefs/app.db" // the database in the LiteFS mount
	db, err := sql.Open("sqlite3-safe", path)
	if err != nil {
		panic(err)
	}

	// On the primary: write, then tell the client where the write is.
	http.HandleFunc("POST /notes", func(w http.ResponseWriter, r *http.Request) {
		if _, err := db.ExecContext(r.Context(), "INSERT INTO notes(body) VALUES (?)", r.FormValue("body")); err != nil {
			if errors.Is(err, sqlite3safe.ErrReadOnlyReplica) {
				// A replica: send the client to the primary the error names.
				var re *sqlite3safe.ReplicaError
				errors.As(err, &re)
				http.Error(w, "write to "+re.Primary, http.StatusMisdirectedRequest)
				return
			}
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		txid, err := sqlite3safe.LiteFSTXID(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "txid", Value: strconv.FormatUint(txid, 16), MaxAge: 60})
	})

	// On any node: wait (a little) for the client's last write, then read.
	http.HandleFunc("GET /notes", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("txid"); err == nil {
			if txid, err := strconv.ParseUint(c.Value, 16, 64); err == nil {
				ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
				defer cancel()
				if err := sqlite3safe.WaitLiteFSTXID(ctx, path, txid); err != nil {
					http.Error(w, err.Error(), http.StatusServiceUnavailable)
					return
				}
			}
		}
		var n int
		if err := db.QueryRowContext(r.Context(), "SELECT count(*) FROM notes").Scan(&n); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d notes\n", n)
	})
}
