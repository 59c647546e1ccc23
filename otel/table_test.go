package otel

import (
	"database/sql"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sqlite3safe/sqlite3safe"
)

// coverageProblems checks a table against the struct type it exports: every
// field of t must have exactly one row in cols, or one entry in special
// (exported by hand) or leftOut (deliberately not exported);
// every row must name a numeric field of t; a time.Duration must be in
// seconds; rows sharing an instrument must agree on its kind, unit,
// description and number type, and tell their data points apart by
// attributes.
func coverageProblems(t reflect.Type, cols []column, special, leftOut map[string]string) []string {
	var problems []string
	rows := map[string]int{}
	byName := map[string]column{}
	floatByName := map[string]bool{}
	attrsByName := map[string]map[string]bool{}
	for _, c := range cols {
		rows[c.field]++
		f, ok := t.FieldByName(c.field)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("row %s names field %s, which %v does not have", c.name, c.field, t))
			continue
		case !isNumber(f.Type):
			problems = append(problems, fmt.Sprintf("field %s is a %v, not a number: export it by hand and list it with the fields that are", c.field, f.Type))
			continue
		case f.Type == durationType && c.unit != "s":
			problems = append(problems, fmt.Sprintf("field %s is a time.Duration, observed in seconds: its unit must be \"s\", not %q", c.field, c.unit))
		}
		attrs := fmt.Sprint(c.attrs)
		if first, ok := byName[c.name]; ok {
			if first.kind != c.kind || first.unit != c.unit || first.desc != c.desc || floatByName[c.name] != isFloat(f.Type) {
				problems = append(problems, fmt.Sprintf("rows of instrument %s disagree on its kind, unit, description or number type", c.name))
			}
			if attrsByName[c.name][attrs] {
				problems = append(problems, fmt.Sprintf("two rows of instrument %s have the same attributes %s", c.name, attrs))
			}
		} else {
			byName[c.name] = c
			floatByName[c.name] = isFloat(f.Type)
			attrsByName[c.name] = map[string]bool{}
		}
		attrsByName[c.name][attrs] = true
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
	for _, p := range coverageProblems(reflect.TypeFor[sql.DBStats](), poolColumns, poolSpecialFields, nil) {
		t.Error(p)
	}
}

// TestCoverageCheckFindsANewField: the check above does fail for a struct
// with a field the table lacks, a row for a missing field, a non-number in
// a row, a duration not in seconds, rows that share an instrument but
// not its unit, a field both exported and left out, and a left-out field
// that does not exist.
func TestCoverageCheckFindsANewField(t *testing.T) {
	type stats struct {
		Name   string
		Count  int64
		Wait   time.Duration
		Added  int64 // not in the table
		Holder string
		Other  int64
		Site   string
	}
	cols := []column{
		{field: "Count", name: "x.count", unit: "{thing}", kind: counter},
		{field: "Other", name: "x.count", unit: "{other}", kind: counter},
		{field: "Wait", name: "x.wait.max", unit: "ms", kind: gauge},
		{field: "Holder", name: "x.holder", kind: gauge},
		{field: "Gone", name: "x.gone", kind: counter},
		{field: "Site", name: "x.site", kind: gauge},
	}
	leftOut := map[string]string{"Site": "unbounded", "Missing": "gone"}
	got := strings.Join(coverageProblems(reflect.TypeFor[stats](), cols, map[string]string{"Name": "an attribute"}, leftOut), "\n")
	for _, want := range []string{
		"field otel.stats.Added (int64) is not exported",
		`field Wait is a time.Duration, observed in seconds: its unit must be "s"`,
		"field Holder is a string, not a number",
		"row x.gone names field Gone",
		"rows of instrument x.count disagree",
		"two rows of instrument x.count have the same attributes",
		"field otel.stats.Site is exported more than once (or both exported and left out)",
		"Missing is listed as exported by hand or left out",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems do not say %q; they are:\n%s", want, got)
		}
	}
}

// TestBindRejectsAMissingField: a row whose field is gone fails at once
// when instruments are made, rather than observing a wrong value.
func TestBindRejectsAMissingField(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "has no field Gone") {
			t.Fatalf("recover() = %v, want a panic about field Gone", r)
		}
	}()
	bind(reflect.TypeFor[sqlite3safe.FileStats](), []column{{field: "Gone", name: "x.gone"}})
}

// TestPackageDocListsEveryInstrument: the package documentation's list of
// instruments names every instrument of the tables, with its unit, so it
// cannot fall behind them.
func TestPackageDocListsEveryInstrument(t *testing.T) {
	src, err := os.ReadFile("register.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src[:strings.Index(string(src), "\npackage otel")])
	line := regexp.MustCompile(`(?m)^//\t(\S+)\s+(\S+)\s`)
	units := map[string]string{}
	for _, m := range line.FindAllStringSubmatch(doc, -1) {
		units[m[1]] = m[2]
	}
	for _, c := range append(append(slices.Clip(fileColumns), poolColumns...), checkpointsColumn, lockHeldColumn) {
		if u, ok := units[c.name]; !ok {
			t.Errorf("the package documentation does not list %s", c.name)
		} else if u != c.unit {
			t.Errorf("the package documentation gives %s unit %s, not %s", c.name, u, c.unit)
		}
	}
	for field := range fileLeftOutFields {
		if !strings.Contains(doc, "FileStats."+field) {
			t.Errorf("the package documentation does not say that FileStats.%s is not exported", field)
		}
	}
}
