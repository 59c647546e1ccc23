package prometheus

import (
	"database/sql"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/sqlite3safe/sqlite3safe"
)

// coverageProblems checks a table against the struct type it exports: every
// field of t must have exactly one row in cols, or one entry in special
// (exported by hand) or leftOut (deliberately not exported); every row must
// name a numeric field of t; a time.Duration must be exported in seconds;
// names must be unique, but for rows that share a metric (same help and
// kind, told apart by distinct values of one label); and counters (only)
// must end in _total.
func coverageProblems(t reflect.Type, cols []column, special, leftOut map[string]string) []string {
	var problems []string
	rows := map[string]int{}
	byName := map[string]column{}
	labelValues := map[string]map[string]bool{}
	for _, c := range cols {
		rows[c.field]++
		if first, ok := byName[c.name]; ok {
			switch {
			case first.label == nil || c.label == nil:
				problems = append(problems, fmt.Sprintf("metric name %s used twice", c.name))
			case first.help != c.help || first.kind != c.kind || first.label[0] != c.label[0]:
				problems = append(problems, fmt.Sprintf("rows of metric %s disagree on its help, kind or label name", c.name))
			case labelValues[c.name][c.label[1]]:
				problems = append(problems, fmt.Sprintf("two rows of metric %s have the same label %s=%q", c.name, c.label[0], c.label[1]))
			}
		} else {
			byName[c.name] = c
			labelValues[c.name] = map[string]bool{}
		}
		if c.label != nil {
			if len(c.label) != 2 {
				problems = append(problems, fmt.Sprintf("row %s: label must be a name and a value, not %q", c.name, c.label))
			} else {
				labelValues[c.name][c.label[1]] = true
			}
		}
		if (c.kind == prom.CounterValue) != strings.HasSuffix(c.name, "_total") {
			problems = append(problems, fmt.Sprintf("metric %s: counters, and only counters, end in _total", c.name))
		}
		f, ok := t.FieldByName(c.field)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("row %s names field %s, which %v does not have", c.name, c.field, t))
		case !isNumber(f.Type):
			problems = append(problems, fmt.Sprintf("field %s is a %v, not a number: export it by hand and list it with the fields that are", c.field, f.Type))
		case f.Type == durationType && !strings.Contains(c.name, "_seconds"):
			problems = append(problems, fmt.Sprintf("field %s is a time.Duration, exported in seconds: its metric name %s must say _seconds", c.field, c.name))
		}
	}
	for _, name := range special {
		if _, ok := byName[name]; ok {
			problems = append(problems, fmt.Sprintf("metric name %s used twice", name))
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		_, bySpecial := special[f.Name]
		_, left := leftOut[f.Name]
		switch n := rows[f.Name] + btoi(bySpecial) + btoi(left); {
		case n == 0:
			problems = append(problems, fmt.Sprintf("field %v.%s (%v) is not exported: add a row for it to the table", t, f.Name, f.Type))
		case n > 1:
			problems = append(problems, fmt.Sprintf("field %v.%s is exported more than once (or both exported and left out)", t, f.Name))
		}
	}
	for _, m := range []map[string]string{special, leftOut} {
		for name := range m {
			if _, ok := t.FieldByName(name); !ok {
				problems = append(problems, fmt.Sprintf("%s is listed as exported by hand or left out, but %v has no such field", name, t))
			}
		}
	}
	return problems
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestEveryFileStatsFieldIsExported fails when sqlite3safe.FileStats gains
// a field that the table does not export.
func TestEveryFileStatsFieldIsExported(t *testing.T) {
	for _, p := range coverageProblems(reflect.TypeFor[sqlite3safe.FileStats](), fileColumns, fileSpecialFields, fileLeftOutFields) {
		t.Error(p)
	}
}

// TestEveryDBStatsFieldIsExported fails when database/sql's DBStats gains a
// field (in a new Go release) that the table does not export.
func TestEveryDBStatsFieldIsExported(t *testing.T) {
	for _, p := range coverageProblems(reflect.TypeFor[sql.DBStats](), poolColumns, nil, nil) {
		t.Error(p)
	}
}

// TestCoverageCheckFindsANewField: the check above does fail for a struct
// with a field the table lacks, a row for a missing field, a non-number in
// a row, a duration not named in seconds, a field both exported and left
// out, and rows that share a metric without a label to tell them apart or
// with the same label value.
func TestCoverageCheckFindsANewField(t *testing.T) {
	type stats struct {
		Name    string
		Count   int64
		Wait    time.Duration
		Added   int64 // not in the table
		Holder  string
		Renamed int64 // not in the table either
		Site    string
		Done    int64
		Busy    int64
		Failed  int64
		Other   int64
	}
	cols := []column{
		{"Count", "count_total", "", prom.CounterValue, nil},
		{"Wait", "wait_max", "", prom.GaugeValue, nil}, // no _seconds
		{"Holder", "holder", "", prom.GaugeValue, nil}, // not a number
		{"Gone", "gone_total", "", prom.CounterValue, nil},
		{"Site", "site", "", prom.GaugeValue, nil},
		{"Done", "ends_total", "h", prom.CounterValue, []string{"outcome", "done"}},
		{"Busy", "ends_total", "h", prom.CounterValue, []string{"outcome", "done"}}, // same value
		{"Failed", "ends_total", "other help", prom.CounterValue, []string{"outcome", "failed"}},
		{"Other", "count_total", "", prom.CounterValue, nil}, // no label
	}
	special := map[string]string{"Name": "info"}
	leftOut := map[string]string{"Site": "unbounded", "Missing": "gone"}
	got := strings.Join(coverageProblems(reflect.TypeFor[stats](), cols, special, leftOut), "\n")
	for _, want := range []string{
		"field prometheus.stats.Added (int64) is not exported",
		"field prometheus.stats.Renamed (int64) is not exported",
		"field Wait is a time.Duration, exported in seconds",
		"field Holder is a string, not a number",
		"row gone_total names field Gone",
		"field prometheus.stats.Site is exported more than once",
		"Missing is listed as exported by hand or left out",
		`two rows of metric ends_total have the same label outcome="done"`,
		"rows of metric ends_total disagree",
		"metric name count_total used twice",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems do not say %q; they are:\n%s", want, got)
		}
	}
}

// TestBindRejectsAMissingField: a row whose field is gone fails at once
// when a collector is made, rather than exporting a wrong value.
func TestBindRejectsAMissingField(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "has no field Gone") {
			t.Fatalf("recover() = %v, want a panic about field Gone", r)
		}
	}()
	bind(reflect.TypeFor[sqlite3safe.FileStats](), []column{{"Gone", "gone_total", "", prom.CounterValue, nil}}, nil)
}

// TestPackageDocListsEveryMetric: the package documentation's list of
// metrics names every metric of the tables, so it cannot fall behind them.
func TestPackageDocListsEveryMetric(t *testing.T) {
	src, err := os.ReadFile("collector.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src[:strings.Index(string(src), "\npackage prometheus")])
	names := []string{namespace + "_stats_up"}
	for _, cols := range [][]column{fileColumns, poolColumns} {
		for _, c := range cols {
			names = append(names, namespace+"_"+c.name)
		}
	}
	for _, n := range fileSpecialFields {
		names = append(names, namespace+"_"+n)
	}
	for _, n := range names {
		if !strings.Contains(doc, "//\t"+n) {
			t.Errorf("the package documentation does not list %s", n)
		}
	}
	for field := range fileLeftOutFields {
		if !strings.Contains(doc, "FileStats."+field) {
			t.Errorf("the package documentation does not say that FileStats.%s is not exported", field)
		}
	}
}
