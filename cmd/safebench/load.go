package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"
)

// loadReport reads the JSON a -json run wrote and rebuilds the report as
// the run had it: the options from its settings, each summary's runs and
// ops, and the targets (judged again, so that their wording is today's).
func loadReport(path string) (*report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &report{}
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st := r.Settings
	if len(st.Workloads) == 0 || len(r.Summaries) == 0 {
		return nil, fmt.Errorf("%s: no workloads or no summaries: not a safebench -json file", path)
	}
	if !slices.Equal(st.Quantiles, quantiles) {
		return nil, fmt.Errorf("%s: latency quantiles %v, this safebench keeps %v", path, st.Quantiles, quantiles)
	}
	r.opts = st.options()
	for i := range r.Summaries {
		sm := &r.Summaries[i]
		for j := range r.Runs {
			s := &r.Runs[j]
			if s.Workload != sm.Workload || s.Config != sm.Config {
				continue
			}
			for k := range s.Ops {
				if s.Ops[k].Name == sm.Op {
					sm.runs = append(sm.runs, s)
					sm.ops = append(sm.ops, &s.Ops[k])
				}
			}
		}
		if len(sm.runs) != sm.Runs {
			return nil, fmt.Errorf("%s: %s %s %s: %d runs in the summary, %d in the runs", path, sm.Workload, sm.Config, sm.Op, sm.Runs, len(sm.runs))
		}
	}
	r.Targets = r.judge()
	return r, nil
}

// options are the flags a run with these settings had.
func (st *settings) options() *options {
	o := &options{
		workloads: st.Workloads, configs: st.Configs, count: st.Count, isolate: st.Isolate, dir: st.Dir,
		goroutines: st.Goroutines, blocks: st.Blocks, writers: st.Writers, readers: st.Readers,
		duration: time.Duration(st.DurationS * float64(time.Second)), walLimit: st.WALLimit,
		ops: st.Ops, rows: st.Rows, procs: st.Procs, procGoroutines: st.ProcGoroutines, procBlocks: st.ProcBlocks,
		ledger2Blocks: st.Ledger2Blocks, pool: st.Pool, allMeant: st.AllWorkloads,
	}
	if len(o.allMeant) == 0 {
		o.allMeant = allWorkloadsBeforeLedger2 // written before settings recorded it
	}
	return o
}
