package integration

import (
	"bufio"
	"context"
	"database/sql"
	"debug/buildinfo"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/sqlite3safe/sqlite3safe"
	"github.com/sqlite3safe/sqlite3safe/internal/ledger"
)

// LiteFSVersion is the LiteFS release these tests run against (the module
// proxy serves no later one); .ci/run installs exactly this one.
const LiteFSVersion = "v0.5.14"

// liteFSPrimaryName is the primary's hostname in the static lease: what
// LiteFS writes into a replica's .primary file.
const liteFSPrimaryName = "litefs-primary"

// skipOrFail skips the test saying why, except under CI (CI set), where
// .ci/run has installed what the test needs and its absence is a failure.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// liteFSBin finds the litefs command ($LITEFS_BIN, else PATH) and checks
// that FUSE can be used: LiteFS is Linux-only, needs /dev/fuse, and mounts
// and unmounts with fusermount3.
func liteFSBin(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("LiteFS runs on Linux only, not %s", runtime.GOOS)
	}
	bin := os.Getenv("LITEFS_BIN")
	if bin == "" {
		p, err := exec.LookPath("litefs")
		if err != nil {
			skipOrFail(t, "litefs not found: set LITEFS_BIN or run "+
				"`CGO_ENABLED=0 go install github.com/superfly/litefs/cmd/litefs@"+LiteFSVersion+"`")
		}
		bin = p
	}
	if info, err := buildinfo.ReadFile(bin); err != nil {
		t.Logf("note: cannot read the build info of %s: %v", bin, err)
	} else if v := info.Main.Version; v != LiteFSVersion {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is LiteFS %s, the tests are for %s", bin, v, LiteFSVersion)
		}
		t.Logf("note: %s is LiteFS %s; these tests were written for %s", bin, v, LiteFSVersion)
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		skipOrFail(t, "FUSE cannot be mounted here: "+err.Error())
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		skipOrFail(t, "FUSE cannot be mounted here: fusermount3 not found (apt-get install fuse3)")
	}
	return bin
}

// liteFSNode is one running `litefs mount` process.
type liteFSNode struct {
	name    string // "primary" or "replica"
	mount   string // the FUSE mount: the databases are here
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has been waited for
	waitErr error         // cmd.Wait's result, set before exited closes
}

// path is the path of a database on the node's mount.
func (n *liteFSNode) path(db string) string { return filepath.Join(n.mount, db) }

// startLiteFSCluster starts a primary and a replica on loopback with a
// static lease, each with its own data dir, mount and HTTP port, and waits
// until both are mounted and the replica is connected (its mount shows
// .primary). Both are stopped, and their mounts removed, when the test
// ends, whatever happened (stopLiteFS).
func startLiteFSCluster(t *testing.T) (primary, replica *liteFSNode) {
	t.Helper()
	bin := liteFSBin(t)
	root := t.TempDir() // its removal is registered first, so it runs after the nodes' cleanups
	primaryAddr := freeAddr(t)
	primary = startLiteFS(t, bin, root, "primary", primaryAddr, true, primaryAddr)
	replica = startLiteFS(t, bin, root, "replica", freeAddr(t), false, primaryAddr)
	waitFor(t, 30*time.Second, "the replica to connect to the primary", func() bool {
		b, err := os.ReadFile(filepath.Join(replica.mount, ".primary"))
		return err == nil && strings.TrimSpace(string(b)) == liteFSPrimaryName
	})
	return primary, replica
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startLiteFS starts one node and registers its stop. candidate makes it
// the primary; primaryAddr is the primary's HTTP address, which the static
// lease names on every node.
func startLiteFS(t *testing.T, bin, root, name, addr string, candidate bool, primaryAddr string) *liteFSNode {
	t.Helper()
	dir := filepath.Join(root, name)
	n := &liteFSNode{name: name, mount: filepath.Join(dir, "mnt"), logPath: filepath.Join(dir, "litefs.log"),
		exited: make(chan struct{})}
	for _, d := range []string{n.mount, filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`fuse:
  dir: %q
data:
  dir: %q
http:
  addr: %q
lease:
  type: static
  hostname: %q
  advertise-url: "http://%s"
  candidate: %t
log:
  debug: true
`, n.mount, filepath.Join(dir, "data"), addr, liteFSPrimaryName, primaryAddr, candidate)
	cfgPath := filepath.Join(dir, "litefs.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(n.logPath)
	if err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(bin, "mount", "-config", cfgPath)
	n.cmd.Stdout, n.cmd.Stderr = logFile, logFile
	if err := n.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatal(err)
	}
	go func() { // owned by n: stopLiteFS waits for it
		n.waitErr = n.cmd.Wait()
		logFile.Close()
		close(n.exited)
	}()
	t.Cleanup(func() { stopLiteFS(t, n) })

	deadline := time.Now().Add(30 * time.Second)
	for !mounted(n.mount) {
		select {
		case <-n.exited:
			log := tail(n.logPath, 30)
			if strings.Contains(strings.ToLower(log), "fuse") {
				skipOrFail(t, fmt.Sprintf("FUSE cannot be mounted here: litefs %s exited (%v):\n%s", name, n.waitErr, log))
			}
			t.Fatalf("litefs %s exited before mounting (%v):\n%s", name, n.waitErr, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("litefs %s not mounted at %s after 30s:\n%s", name, n.mount, tail(n.logPath, 30))
		}
	}
	return n
}

// stopLiteFS stops n by its PID: SIGTERM, a wait, SIGKILL if it did not
// exit, and fusermount3 -u if the mount is left behind (as after SIGKILL).
func stopLiteFS(t *testing.T, n *liteFSNode) {
	if n.cmd.Process != nil {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(15 * time.Second):
			t.Errorf("litefs %s (pid %d) did not exit within 15s of SIGTERM; killing it", n.name, n.cmd.Process.Pid)
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
	}
	if mounted(n.mount) {
		out, err := exec.Command("fusermount3", "-u", n.mount).CombinedOutput()
		if err != nil {
			out2, err2 := exec.Command("fusermount3", "-u", "-z", n.mount).CombinedOutput()
			t.Logf("fusermount3 -u %s: %v: %s; lazy unmount: %v %s", n.mount, err, out, err2, out2)
		}
	}
	if t.Failed() {
		t.Logf("litefs %s log (tail):\n%s", n.name, tail(n.logPath, 40))
	}
	if keep := os.Getenv("LITEFS_LOG_DIR"); keep != "" { // for debugging: keep the whole log
		if b, err := os.ReadFile(n.logPath); err == nil {
			name := strings.ReplaceAll(t.Name(), "/", "_") + "-" + n.name + ".log"
			_ = os.WriteFile(filepath.Join(keep, name), b, 0o644)
		}
	}
}

// mounted reports whether a file system is mounted at dir.
func mounted(dir string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Field 5 is the mount point, with spaces and the like escaped.
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMount(fields[4]) == dir {
			return true
		}
	}
	return false
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// openLiteFS opens a database on a node's mount with sqlite3-safe's
// default settings. Opened after the node started, it is closed before the
// node stops (cleanups run last-registered first).
func openLiteFS(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open(sqlite3safe.DriverName, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// waitForReplicaDB waits until the replica has the database with table.
func waitForReplicaDB(t *testing.T, path, table string) {
	t.Helper()
	waitFor(t, 30*time.Second, "the database to reach the replica", func() bool {
		if _, err := os.Stat(path); err != nil {
			return false
		}
		db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
		if err != nil {
			return false
		}
		defer db.Close()
		var n int
		return db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = ?`, table).Scan(&n) == nil && n == 1
	})
}

// TestLiteFSPrimaryAndReplica runs sqlite3-safe, default settings, on a
// LiteFS primary and its replica (two `litefs mount` processes on
// loopback): 8 goroutines append to the hash-chained ledger on the
// primary while goroutines read on both nodes, in two bursts with a pause
// between them in which the primary's checkpointer truncates the WAL. No
// statement fails; the
// replica ends with every committed block in an unbroken chain;
// integrity_check is ok on both nodes; a write on the replica fails with
// ErrReadOnlyReplica naming the primary, and the replica's checkpointer
// makes no attempt.
func TestLiteFSPrimaryAndReplica(t *testing.T) {
	primary, replica := startLiteFSCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	pdb := openLiteFS(t, primary.path("app.db"))
	if err := ledger.Create(ctx, pdb); err != nil {
		t.Fatal(err)
	}
	waitForReplicaDB(t, replica.path("app.db"), "blocks")
	rdb := openLiteFS(t, replica.path("app.db"))

	// Two bursts of appends and reads, with a pause between them in which
	// the primary's checkpointer, idle, truncates the WAL: the second burst
	// writes a WAL that LiteFS has seen restarted.
	const appenders = 8
	var (
		e        errs
		appended atomic.Int64
		reads    [2]atomic.Int64 // primary, replica
	)
	burst := func(d time.Duration) {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := range appenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := ledger.Append(ctx, pdb, fmt.Sprintf("w%d-%d", w, i)); err != nil {
						e.add(fmt.Errorf("append on the primary: %w", err))
						return
					}
					appended.Add(1)
				}
			}()
		}
		for node, db := range []*sql.DB{pdb, rdb} {
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						case <-time.After(2 * time.Millisecond):
						}
						var n, last int64
						if err := db.QueryRowContext(ctx, `SELECT count(*), coalesce(max(block_index), -1) FROM blocks`).Scan(&n, &last); err != nil {
							e.add(fmt.Errorf("read on node %d: %w", node, err))
							return
						}
						if last != n-1 {
							e.add(fmt.Errorf("read on node %d: %d blocks, the last is %d", node, n, last))
							return
						}
						reads[node].Add(1)
					}
				}()
			}
		}
		time.Sleep(d)
		close(stop)
		wg.Wait()
	}
	burst(4 * time.Second)
	e.check(t)
	waitFor(t, 30*time.Second, "the primary's checkpointer to truncate the WAL once writes paused", func() bool {
		st, err := sqlite3safe.Stats(pdb)
		return err == nil && st.Checkpoints[sqlite3safe.CheckpointTruncate] > 0
	})
	burst(time.Second)
	e.check(t)

	committed := appended.Load()
	if n, err := ledger.Verify(ctx, pdb); err != nil || n != committed {
		t.Fatalf("primary: ledger has %d blocks (%v), %d appends committed", n, err, committed)
	}
	waitFor(t, 30*time.Second, "the replica to catch up", func() bool {
		var n int64
		return rdb.QueryRowContext(ctx, `SELECT count(*) FROM blocks`).Scan(&n) == nil && n == committed
	})
	if n, err := ledger.Verify(ctx, rdb); err != nil || n != committed {
		t.Fatalf("replica: ledger has %d blocks (%v), %d appends committed", n, err, committed)
	}
	integrityCheck(t, pdb)
	integrityCheck(t, rdb)

	// Writes on the replica: refused at once, naming the primary, as
	// sqlite3-safe's error and as SQLite's read-only error.
	checkRefused := func(what string, err error) {
		t.Helper()
		var re *sqlite3safe.ReplicaError
		var se sqlite3.Error
		switch {
		case !errors.Is(err, sqlite3safe.ErrReadOnlyReplica):
			t.Fatalf("%s on the replica: %v, want ErrReadOnlyReplica", what, err)
		case !errors.As(err, &se) || se.Code != sqlite3.ErrReadonly:
			t.Fatalf("%s on the replica: %v does not match sqlite3.ErrReadonly", what, err)
		case !errors.As(err, &re) || re.Primary != liteFSPrimaryName:
			t.Fatalf("%s on the replica: %v does not name the primary %q", what, err, liteFSPrimaryName)
		}
	}
	_, err := rdb.ExecContext(ctx, `INSERT INTO blocks VALUES (-1, '', '', '')`)
	checkRefused("INSERT", err)
	_, err = ledger.Append(ctx, rdb, "on the replica")
	checkRefused("ledger.Append", err)
	t.Logf("replica write error: %v", err)

	pst, err := sqlite3safe.Stats(pdb)
	if err != nil {
		t.Fatal(err)
	}
	rst, err := sqlite3safe.Stats(rdb)
	if err != nil {
		t.Fatal(err)
	}
	if len(rst.Checkpoints) != 0 || rst.CheckpointsBusy != 0 || rst.CheckpointErrors != 0 || rst.Escalations+rst.EscalationsBusy+rst.EscalationsNoLock+rst.EscalationsFailed != 0 {
		t.Errorf("the replica's checkpointer made attempts: %+v", rst)
	}
	if pst.CheckpointErrors != 0 {
		t.Errorf("the primary's checkpointer failed %d times", pst.CheckpointErrors)
	}
	t.Logf("%d blocks appended by %d goroutines in 5 s, all on the replica; reads: %d on the primary, %d on the replica",
		committed, appenders, reads[0].Load(), reads[1].Load())
	t.Logf("primary: checkpoints %v (%d busy), max WAL %d KiB, lock waits %d (max %v)",
		pst.Checkpoints, pst.CheckpointsBusy, pst.MaxWALBytes/1024, pst.LockWaits, pst.LockWaitMax)
}

// TestLiteFSReadYourWrites: a block appended on the primary is read on the
// replica right after WaitLiteFSTXID for the TXID the primary showed after
// the commit, every time, with the primary idle and with 4 other
// goroutines appending. The waits are the replication lag a client sees
// with this recipe; the test logs their percentiles.
func TestLiteFSReadYourWrites(t *testing.T) {
	primary, replica := startLiteFSCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ppath, rpath := primary.path("app.db"), replica.path("app.db")
	pdb := openLiteFS(t, ppath)
	if err := ledger.Create(ctx, pdb); err != nil {
		t.Fatal(err)
	}
	waitForReplicaDB(t, rpath, "blocks")
	rdb := openLiteFS(t, rpath)

	// A read on the replica through sqlite3-safe sees the block as soon as
	// the wait returns.
	roundTrip := func(payload string) (commit, lag time.Duration, err error) {
		start := time.Now()
		idx, err := ledger.Append(ctx, pdb, payload)
		if err != nil {
			return 0, 0, fmt.Errorf("append: %w", err)
		}
		commit = time.Since(start)
		txid, err := sqlite3safe.LiteFSTXID(ppath)
		if err != nil {
			return 0, 0, err
		}
		start = time.Now()
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		if err := sqlite3safe.WaitLiteFSTXID(wctx, rpath, txid); err != nil {
			return 0, 0, err
		}
		lag = time.Since(start)
		var got string
		if err := rdb.QueryRowContext(ctx, `SELECT payload FROM blocks WHERE block_index = ?`, idx).Scan(&got); err != nil {
			return 0, 0, fmt.Errorf("block %d (TXID %d) on the replica after the wait: %w", idx, txid, err)
		}
		if got != payload {
			return 0, 0, fmt.Errorf("block %d on the replica has %q, want %q", idx, got, payload)
		}
		return commit, lag, nil
	}

	for _, load := range []int{0, 4} {
		var (
			e  errs
			wg sync.WaitGroup
		)
		stop := make(chan struct{})
		for w := range load {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := ledger.Append(ctx, pdb, fmt.Sprintf("load%d-%d", w, i)); err != nil {
						e.add(err)
						return
					}
				}
			}()
		}
		const rounds = 200
		lags := make([]time.Duration, 0, rounds)
		commits := make([]time.Duration, 0, rounds)
		for i := range rounds {
			commit, lag, err := roundTrip(fmt.Sprintf("ryow-%d-%d", load, i))
			if err != nil {
				e.add(err)
				break
			}
			commits, lags = append(commits, commit), append(lags, lag)
		}
		close(stop)
		wg.Wait()
		e.check(t)
		t.Logf("%d other appenders, %d commits: replication lag seen by WaitLiteFSTXID %s; the append's transaction on the primary %s",
			load, len(lags), percentiles(lags), percentiles(commits))
	}
	if n, err := ledger.Verify(ctx, rdb); err != nil {
		t.Fatalf("replica: ledger broken after %d blocks: %v", n, err)
	}
}

// percentiles sorts ds and describes them: p50, p90, p99 and max.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "(none)"
	}
	slices.Sort(ds)
	pct := func(p float64) time.Duration { return ds[int(p*float64(len(ds)-1))].Round(10 * time.Microsecond) }
	return fmt.Sprintf("p50 %v, p90 %v, p99 %v, max %v", pct(0.5), pct(0.9), pct(0.99), ds[len(ds)-1].Round(10*time.Microsecond))
}
