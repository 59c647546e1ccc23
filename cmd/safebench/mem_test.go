package main

import (
	"runtime"
	"testing"
)

func TestParseProcStatus(t *testing.T) {
	status := "Name:\tsafebench\nVmPeak:\t  900000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nThreads:\t5\n"
	rss, hwm, ok := parseProcStatus([]byte(status))
	if !ok || rss != 10240<<10 || hwm != 20480<<10 {
		t.Errorf("parseProcStatus = %d, %d, %v; want %d, %d, true", rss, hwm, ok, 10240<<10, 20480<<10)
	}
	for _, bad := range []string{
		"",
		"VmRSS:\t10240 kB\n",             // no VmHWM
		"VmHWM:\t1 kB\nVmRSS:\tx kB\n",   // not a number
		"VmHWM:\t1 kB\nVmRSS:\t10 MB\n",  // not kB
		"VmHWM:\t1 kB\nVmRSS:\t-10 kB\n", // negative
	} {
		if rss, hwm, ok := parseProcStatus([]byte(bad)); ok {
			t.Errorf("parseProcStatus(%q) = %d, %d, true; want ok false", bad, rss, hwm)
		}
	}
}

func TestMeasureMem(t *testing.T) {
	resetPeakRSS()
	m := measureMem("shared")
	if m.HeapInuseBytes <= 0 {
		t.Errorf("heap in use %d, want > 0", m.HeapInuseBytes)
	}
	if runtime.GOOS != "linux" {
		return
	}
	if !m.RSS || m.RSSEndBytes <= 0 || m.PeakRSSBytes < m.RSSEndBytes {
		t.Errorf("RSS %v: end %d, peak %d; want both positive, peak >= end", m.RSS, m.RSSEndBytes, m.PeakRSSBytes)
	}
	a := newAllocCounter()
	before := a.read()
	sink = make([]byte, 1<<10)
	if after := a.read(); after <= before {
		t.Errorf("allocations %d -> %d after an allocation", before, after)
	}
}

var sink []byte
