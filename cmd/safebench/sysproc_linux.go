//go:build linux

package main

import "syscall"

// childSysProcAttr makes the kernel kill a procs child (SIGKILL) when the
// parent's thread that started it ends, so that no child outlives a
// parent that was killed outright (SIGKILL gives the parent no chance to
// kill them itself). Go does not end its threads while the program runs,
// except one locked with runtime.LockOSThread whose goroutine returns,
// which the parent never does.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
