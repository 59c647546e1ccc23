package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/sqlite3safe/sqlite3safe"
)

type account struct {
	ID      int64  `db:"id"`
	Owner   string `db:"owner"`
	Balance int64  `db:"balance"`
}

type transfer struct {
	From   int64 `db:"from_id"`
	To     int64 `db:"to_id"`
	Amount int64 `db:"amount"`
}

// TestSQLXConcurrent: 50 goroutines use sqlx's NamedExec, Select, Get,
// Beginx and MustBegin (with Preparex/NamedStmt inside transactions) on one
// database. Each moves money between accounts in a transaction that reads
// the balances first; the total never changes, every transfer is logged
// exactly once, and nothing errors.
func TestSQLXConcurrent(t *testing.T) {
	db, err := sqlx.Open(sqlite3safe.DriverName, dsn(dbPath(t, "sqlx.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	db.MustExec(`
		CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL UNIQUE, balance INTEGER NOT NULL);
		CREATE TABLE transfers (id INTEGER PRIMARY KEY, from_id INTEGER NOT NULL, to_id INTEGER NOT NULL, amount INTEGER NOT NULL);
		CREATE TABLE notes (id INTEGER PRIMARY KEY, g INTEGER NOT NULL, i INTEGER NOT NULL, body TEXT NOT NULL);`)

	const accounts, start = 10, 1000
	seed := make([]account, accounts)
	for i := range seed {
		seed[i] = account{ID: int64(i + 1), Owner: fmt.Sprintf("owner-%d", i+1), Balance: start}
	}
	// Batch NamedExec (one multi-row INSERT).
	if _, err := db.NamedExec(`INSERT INTO accounts (id, owner, balance) VALUES (:id, :owner, :balance)`, seed); err != nil {
		t.Fatalf("batch NamedExec: %v", err)
	}

	const goroutines, rounds = 50, 20
	var e errs
	var wg sync.WaitGroup
	ctx := context.Background()
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				from := int64((g+i)%accounts + 1)
				to := int64((g+i+1+g%3)%accounts + 1)
				if from == to {
					to = from%accounts + 1
				}
				e.add(moveMoney(ctx, db, g, from, to, int64(1+i%7)))

				// NamedExec outside a transaction.
				_, err := db.NamedExec(`INSERT INTO notes (g, i, body) VALUES (:g, :i, :body)`,
					map[string]any{"g": g, "i": i, "body": fmt.Sprintf("note %d/%d", g, i)})
				e.add(err)

				// Select and Get outside a transaction (no lock).
				var accts []account
				e.add(db.Select(&accts, `SELECT id, owner, balance FROM accounts ORDER BY id`))
				if len(accts) != accounts {
					e.add(fmt.Errorf("Select: %d accounts", len(accts)))
				}
				var a account
				e.add(db.Get(&a, `SELECT * FROM accounts WHERE id = ?`, from))

				// A read-only transaction with sqlx.
				if i%4 == 0 {
					e.add(readOnlyTotal(ctx, db))
				}
			}
		}(g)
	}
	wg.Wait()
	e.check(t)

	var total int64
	if err := db.Get(&total, `SELECT SUM(balance) FROM accounts`); err != nil {
		t.Fatal(err)
	}
	if total != accounts*start {
		t.Fatalf("total balance = %d, want %d", total, accounts*start)
	}
	var transfers, notes int
	if err := db.Get(&transfers, `SELECT COUNT(*) FROM transfers`); err != nil || transfers != goroutines*rounds {
		t.Fatalf("transfers = %d, want %d (%v)", transfers, goroutines*rounds, err)
	}
	if err := db.Get(&notes, `SELECT COUNT(*) FROM notes`); err != nil || notes != goroutines*rounds {
		t.Fatalf("notes = %d, want %d (%v)", notes, goroutines*rounds, err)
	}
	// The log replays to the balances: no lost or doubled update.
	var log []transfer
	if err := db.Select(&log, `SELECT from_id, to_id, amount FROM transfers`); err != nil {
		t.Fatal(err)
	}
	want := map[int64]int64{}
	for id := int64(1); id <= accounts; id++ {
		want[id] = start
	}
	for _, tr := range log {
		want[tr.From] -= tr.Amount
		want[tr.To] += tr.Amount
	}
	var final []account
	if err := db.Select(&final, `SELECT * FROM accounts`); err != nil {
		t.Fatal(err)
	}
	for _, a := range final {
		if a.Balance != want[a.ID] {
			t.Fatalf("account %d balance %d, transfer log says %d", a.ID, a.Balance, want[a.ID])
		}
	}
	integrityCheck(t, db.DB)
}

// moveMoney reads both balances and writes them back in one transaction,
// taking turns with Beginx, MustBegin and MustBeginTx, and between a prepared
// NamedStmt and NamedExec on the transaction.
func moveMoney(ctx context.Context, db *sqlx.DB, g int, from, to, amount int64) (err error) {
	var tx *sqlx.Tx
	switch g % 3 {
	case 0:
		if tx, err = db.Beginx(); err != nil {
			return fmt.Errorf("Beginx: %w", err)
		}
	case 1:
		tx = db.MustBegin() // panics on error; a lock timeout would show here
	default:
		tx = db.MustBeginTx(ctx, nil)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var a, b account
	if err := tx.Get(&a, `SELECT * FROM accounts WHERE id = ?`, from); err != nil {
		return fmt.Errorf("tx.Get: %w", err)
	}
	if err := tx.Get(&b, `SELECT * FROM accounts WHERE id = ?`, to); err != nil {
		return fmt.Errorf("tx.Get: %w", err)
	}
	a.Balance -= amount
	b.Balance += amount
	if g%4 == 0 {
		stmt, err := tx.PrepareNamed(`UPDATE accounts SET balance = :balance WHERE id = :id`)
		if err != nil {
			return fmt.Errorf("PrepareNamed: %w", err)
		}
		defer stmt.Close()
		for _, acct := range []account{a, b} {
			if _, err := stmt.Exec(acct); err != nil {
				return fmt.Errorf("NamedStmt.Exec: %w", err)
			}
		}
	} else {
		for _, acct := range []account{a, b} {
			if _, err := tx.NamedExec(`UPDATE accounts SET balance = :balance WHERE id = :id`, acct); err != nil {
				return fmt.Errorf("tx.NamedExec: %w", err)
			}
		}
	}
	if _, err := tx.NamedExec(`INSERT INTO transfers (from_id, to_id, amount) VALUES (:from_id, :to_id, :amount)`,
		transfer{From: from, To: to, Amount: amount}); err != nil {
		return fmt.Errorf("tx.NamedExec transfer: %w", err)
	}
	return tx.Commit()
}

// readOnlyTotal sums the balances in a read-only transaction, which takes
// no lock; a write inside it is refused by SQLite.
func readOnlyTotal(ctx context.Context, db *sqlx.DB) error {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var sum int64
	if err := tx.GetContext(ctx, &sum, `SELECT SUM(balance) FROM accounts`); err != nil {
		return err
	}
	if sum != 10*1000 {
		return fmt.Errorf("read-only transaction saw total %d", sum)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET balance = 0`); err == nil {
		return errors.New("write inside a read-only transaction succeeded")
	}
	return nil
}
