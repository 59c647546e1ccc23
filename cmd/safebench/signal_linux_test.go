//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childrenOf returns the pids of pid's child processes that are not
// zombies, from /proc/*/stat.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, ppid, ok := procStat(p)
		if ok && ppid == pid && state != "Z" {
			out = append(out, p)
		}
	}
	return out
}

// procStat reads a process's state and parent from /proc/PID/stat.
func procStat(pid int) (state string, ppid int, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return f[0], ppid, err == nil
}

// alive reports whether pid is a process that is not a zombie.
func alive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != "Z"
}

// TestSignalStopsProcsChildren signals only the parent of a running procs
// workload, as a supervisor or timeout does: its child processes must die
// with it, the run directory must be gone, and the exit status must say
// which signal it was (128 + the signal's number).
func TestSignalStopsProcsChildren(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{
		{syscall.SIGTERM, 143},
		{syscall.SIGINT, 130},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(exe, "-workload", "procs", "-configs", "sqlite3-safe", "-dir", dir,
				"-procs", "4", "-proc-goroutines", "2", "-proc-blocks", "1000000")
			cmd.Env = append(os.Environ(), asMainEnv+"=1")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waited := false
			defer func() {
				if !waited {
					cmd.Process.Kill()
					cmd.Wait()
				}
			}()

			// Wait for the 4 children, then for their appends to have
			// begun (the WAL exists once they write).
			var kids []int
			deadline := time.Now().Add(60 * time.Second)
			for {
				kids = childrenOf(t, cmd.Process.Pid)
				wal, _ := filepath.Glob(filepath.Join(dir, "safebench-*", "*.db-wal"))
				if len(kids) == 4 && len(wal) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 60 s: children %v, WAL files %v; stderr: %s", kids, wal, &stderr)
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
			for _, k := range kids {
				if !alive(k) {
					t.Fatalf("child %d finished before the signal: make the run longer", k)
				}
			}

			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			waited = true
			if got := cmd.ProcessState.ExitCode(); got != tc.code {
				t.Errorf("exit status %d (%v), want %d; stderr: %s", got, err, tc.code, &stderr)
			}

			deadline = time.Now().Add(10 * time.Second)
			for _, k := range kids {
				for alive(k) && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if alive(k) {
					t.Errorf("child %d still running 10 s after the parent got %v", k, tc.sig)
					syscall.Kill(k, syscall.SIGKILL)
				}
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("the run directory was not removed: %v", names)
			}
		})
	}
}
