package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestLedger2Blocks: ledger2 appends 20,000 blocks in all unless -blocks
// is given, then goroutines × blocks.
func TestLedger2Blocks(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, ledger2DefaultBlocks},
		{[]string{"-goroutines", "7"}, ledger2DefaultBlocks},
		{[]string{"-blocks", "5"}, 500},
		{[]string{"-goroutines", "3", "-blocks", "5"}, 15},
	} {
		o, err := parseFlags(append([]string{"-workload", "ledger2"}, tc.args...), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if o.ledger2Blocks != tc.want {
			t.Errorf("%q: ledger2 blocks %d, want %d", tc.args, o.ledger2Blocks, tc.want)
		}
	}
	o, err := parseFlags([]string{"-workload", "all"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(o.workloads, "ledger2") {
		t.Errorf("-workload all: %v, want ledger2 among them", o.workloads)
	}
}

// TestPoolFlag runs ledger2 with -pool 2, in processes of their own and
// not: sqlite3-safe's pool never opens more than two connections, two-pool
// keeps its write pool of one, the header says what -pool did, the JSON
// records it and the targets compare ledger2 with two-pool.
func TestPoolFlag(t *testing.T) {
	for _, isolate := range []bool{false, true} {
		dir := t.TempDir()
		jsonPath := filepath.Join(dir, "r.json")
		args := []string{"-workload", "ledger2", "-configs", "two-pool,sqlite3-safe", "-goroutines", "8", "-blocks", "5",
			"-count", "2", "-pool", "2", "-dir", dir, "-json", jsonPath}
		if isolate {
			args = append(args, "-isolate")
		}
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Fatalf("isolate=%v: exit status %d; stderr %s", isolate, code, &stderr)
		}
		out := stdout.String()
		if !strings.Contains(out, "\npool: sqlite3-safe's database/sql pool capped at 2 connections (-pool 2") {
			t.Errorf("isolate=%v: the header does not say what -pool did:\n%s", isolate, out)
		}
		if !regexp.MustCompile(`\npool, ledger2: sqlite3-safe opened (1 connection|2 connections), goroutines waited for one \d+ times, `).MatchString(out) {
			t.Errorf("isolate=%v: no line on how the capped pool went:\n%s", isolate, out)
		}
		for _, want := range []string{"ledger2: the harness's ledger: 8 goroutines, 40 blocks in all", "ledger2: blocks/s >= 1.0x two-pool", "ledger2: chain intact"} {
			if !strings.Contains(out, want) {
				t.Errorf("isolate=%v: the output does not contain %q:\n%s", isolate, want, out)
			}
		}
		data, err := os.ReadFile(jsonPath)
		if err != nil {
			t.Fatal(err)
		}
		var rep report
		if err := json.Unmarshal(data, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Settings.Pool != 2 || rep.Settings.Ledger2Blocks != 40 {
			t.Errorf("isolate=%v: settings pool %d, ledger2 blocks %d; want 2 and 40", isolate, rep.Settings.Pool, rep.Settings.Ledger2Blocks)
		}
		for _, s := range rep.Runs {
			if isolate { // checkSample expects each run in a process of its own
				checkSample(t, &s, []string{"append"})
			}
			if s.Chain == nil || s.Chain.Committed != 40 && s.Config == "sqlite3-safe" {
				t.Errorf("isolate=%v: %s run %d: chain %+v, want 40 blocks committed", isolate, s.Config, s.Rep, s.Chain)
			}
			switch s.Config {
			case "sqlite3-safe":
				if len(s.Pools) != 1 || s.Pools[0].Opened > 2 || s.Pools[0].Opened < 1 {
					t.Errorf("isolate=%v: sqlite3-safe's pool %+v: want at most 2 connections opened", isolate, s.Pools)
				}
			case "two-pool":
				if len(s.Pools) != 2 || s.Pools[0].Pool != "write" || s.Pools[0].Opened != 1 {
					t.Errorf("isolate=%v: two-pool's pools %+v: want its write pool of one, untouched by -pool", isolate, s.Pools)
				}
			}
		}
		loaded, err := loadReport(jsonPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd, err := fragRunCommand(loaded)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(cmd, "-workload ledger2 ") || !strings.Contains(cmd, " -pool 2") {
			t.Errorf("isolate=%v: the run command %q does not name ledger2 and -pool 2", isolate, cmd)
		}
		why, err := fragLedger2Why(loaded)
		if err != nil || !strings.Contains(why, "two-pool's blocks/s (per repetition ") {
			t.Errorf("isolate=%v: ledger2-why %q, %v", isolate, why, err)
		}
		if p, _ := fragPool(loaded); p != "a pool capped at 2 connections (`-pool 2`)" {
			t.Errorf("isolate=%v: pool fragment %q", isolate, p)
		}
	}
}

// TestPoolDefault: without -pool the header says nothing about pools and
// sqlite3-safe's pool opens a connection for each goroutine that needs
// one, as database/sql's default does.
func TestPoolDefault(t *testing.T) {
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "r.json")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-workload", "ledger2", "-configs", "sqlite3-safe", "-goroutines", "8", "-blocks", "5", "-dir", dir, "-json", jsonPath}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr %s", code, &stderr)
	}
	if strings.Contains(stdout.String(), "\npool") {
		t.Errorf("the header speaks of -pool without it:\n%s", &stdout)
	}
	loaded, err := loadReport(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.opts.pool != 0 || !slices.Equal(loaded.opts.allMeant, allWorkloads) {
		t.Errorf("loaded pool %d, all %v", loaded.opts.pool, loaded.opts.allMeant)
	}
	if p, _ := fragPool(loaded); p != "database/sql's default pool" {
		t.Errorf("pool fragment %q", p)
	}
}

// TestRunCommandAllOfItsTime: results written before ledger2 existed say
// "-workload all" for the seven workloads "all" meant then, and results
// of today's "all" say it for today's.
func TestRunCommandAllOfItsTime(t *testing.T) {
	r, err := loadReport(committedResults)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(r.opts.workloads, "ledger2") {
		t.Skip("the committed results have ledger2")
	}
	cmd, err := fragRunCommand(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cmd, "-workload all ") {
		t.Errorf("committed results: %q, want -workload all", cmd)
	}
	r.opts.allMeant = allWorkloads
	if cmd, _ = fragRunCommand(r); !strings.Contains(cmd, "-workload "+strings.Join(allWorkloadsBeforeLedger2, ",")+" ") {
		t.Errorf("seven workloads when all means eight: %q", cmd)
	}
	r.opts.workloads = allWorkloads
	if cmd, _ = fragRunCommand(r); !strings.Contains(cmd, "-workload all ") {
		t.Errorf("today's all: %q", cmd)
	}
}

// TestLedger2VerifyFindsFork: two rows that follow the same row (two
// transactions that read the same last row) break the chain, and so does a
// row whose hash does not match it.
func TestLedger2VerifyFindsFork(t *testing.T) {
	ctx := t.Context()
	for _, cfg := range []string{"sqlite3", "sqlite3-safe"} {
		h, err := openConfig(ctx, cfg, filepath.Join(t.TempDir(), "chain.db"), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if _, err := h.w.ExecContext(ctx, ledger2Schema); err != nil {
			t.Fatal(err)
		}
		payload := bytes.Repeat([]byte{7}, ledger2PayloadSize)
		for range 3 {
			if err := ledger2Append(ctx, h.w, payload); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := ledger2Verify(ctx, h.r); n != 3 || err != nil {
			t.Fatalf("%s: intact chain: %d rows, %v; want 3, nil", cfg, n, err)
		}
		var prev []byte
		if err := h.r.QueryRowContext(ctx, "SELECT hash FROM chain WHERE id = 2").Scan(&prev); err != nil {
			t.Fatal(err)
		}
		// A fourth row that follows row 2, as row 3 does.
		if _, err := h.w.ExecContext(ctx, "INSERT INTO chain(prev_hash, hash, payload) VALUES (?, ?, ?)", prev, ledger2Hash(prev, payload), payload); err != nil {
			t.Fatal(err)
		}
		if n, err := ledger2Verify(ctx, h.r); n != 3 || err == nil || !strings.Contains(err.Error(), "fork") {
			t.Errorf("%s: forked chain: %d rows, %v; want 3 and a fork", cfg, n, err)
		}
		if c := chainOf(3, nil, 4); c.Intact {
			t.Errorf("%s: 3 rows for 4 committed appends judged intact", cfg)
		}
		if _, err := h.w.ExecContext(ctx, "DELETE FROM chain WHERE id = 4"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.w.ExecContext(ctx, "UPDATE chain SET payload = zeroblob(64) WHERE id = 2"); err != nil {
			t.Fatal(err)
		}
		if n, err := ledger2Verify(ctx, h.r); n != 1 || err == nil || !strings.Contains(err.Error(), "hash does not match") {
			t.Errorf("%s: tampered row: %d rows, %v; want 1 and a hash mismatch", cfg, n, err)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
