//go:build !linux

package main

import "syscall"

// childSysProcAttr: only Linux has a parent-death signal; elsewhere a
// child notices its parent is gone when its stdin reaches end-of-file.
func childSysProcAttr() *syscall.SysProcAttr { return nil }
