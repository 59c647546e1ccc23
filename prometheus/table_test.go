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
// field of t must have exactly one row in cols or one entry in special;
// every row must name a numeric field of t; a time.Duration must be
// exported in seconds; names must be unique, and counters (only) must end
// in _total.
func coverageProblems(t reflect.Type, cols []column, special map[string]string) []string {
	var problems []string
	rows := map[string]int{}
	names := map[string]bool{}
	for _, c := range cols {
		rows[c.field]++
		if names[c.name] {
			problems = append(problems, fmt.Sprintf("metric name %s used twice", c.name))
		}
		names[c.name] = true
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
		if names[name] {
			problems = append(problems, fmt.Sprintf("metric name %s used twice", name))
		}
		names[name] = true
	}
	for i := range t.NumField() {
		f := t.Field(i)
		_, bySpecial := special[f.Name]
		switch n := rows[f.Name]; {
		case n == 0 && !bySpecial:
			problems = append(problems, fmt.Sprintf("field %v.%s (%v) is not exported: add a row for it to the table", t, f.Name, f.Type))
		case n+btoi(bySpecial) > 1:
			problems = append(problems, fmt.Sprintf("field %v.%s is exported more than once", t, f.Name))
		}
	}
	for name := range special {
		if _, ok := t.FieldByName(name); !ok {
			problems = append(problems, fmt.Sprintf("%s is listed as exported by hand, but %v has no such field", name, t))
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
	for _, p := range coverageProblems(reflect.TypeFor[sqlite3safe.FileStats](), fileColumns, fileSpecialFields) {
		t.Error(p)
	}
}

// TestEveryDBStatsFieldIsExported fails when database/sql's DBStats gains a
// field (in a new Go release) that the table does not export.
func TestEveryDBStatsFieldIsExported(t *testing.T) {
	for _, p := range coverageProblems(reflect.TypeFor[sql.DBStats](), poolColumns, nil) {
		t.Error(p)
	}
}

// TestCoverageCheckFindsANewField: the check above does fail for a struct
// with a field the table lacks, a row for a missing field, a non-number in
// a row, and a duration not named in seconds.
func TestCoverageCheckFindsANewField(t *testing.T) {
	type stats struct {
		Name    string
		Count   int64
		Wait    time.Duration
		Added   int64 // not in the table
		Holder  string
		Renamed int64 // not in the table either
	}
	cols := []column{
		{"Count", "count_total", "", prom.CounterValue},
		{"Wait", "wait_max", "", prom.GaugeValue}, // no _seconds
		{"Holder", "holder", "", prom.GaugeValue}, // not a number
		{"Gone", "gone_total", "", prom.CounterValue},
	}
	got := strings.Join(coverageProblems(reflect.TypeFor[stats](), cols, map[string]string{"Name": "info"}), "\n")
	for _, want := range []string{
		"field prometheus.stats.Added (int64) is not exported",
		"field prometheus.stats.Renamed (int64) is not exported",
		"field Wait is a time.Duration, exported in seconds",
		"field Holder is a string, not a number",
		"row gone_total names field Gone",
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
	bind(reflect.TypeFor[sqlite3safe.FileStats](), []column{{"Gone", "gone_total", "", prom.CounterValue}}, nil)
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
}
