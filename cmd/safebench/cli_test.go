package main

import (
	"bytes"
	"flag"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// helpText returns what -h prints.
func helpText(t *testing.T) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 {
		t.Fatalf("-h: exit status %d", code)
	}
	return stdout.String() + stderr.String()
}

// flagLine returns the -h lines of one flag (its name line and its usage).
func flagLine(help, name string) string {
	lines := strings.Split(help, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "-"+name+" ") || strings.TrimSpace(l) == "-"+name {
			if i+1 < len(lines) {
				return l + " " + lines[i+1]
			}
			return l
		}
	}
	return ""
}

func TestHelpSaysWhoUsesWhat(t *testing.T) {
	help := helpText(t)
	for _, tc := range []struct {
		flag      string
		workloads []string
	}{
		{"duration", []string{"mixed", "starve", "soak"}},
		{"readers", []string{"mixed", "starve", "soak"}},
		{"writers", []string{"mixed", "soak"}},
	} {
		line := flagLine(help, tc.flag)
		if line == "" {
			t.Errorf("-h has no -%s", tc.flag)
			continue
		}
		for _, w := range tc.workloads {
			if !strings.Contains(line, w) {
				t.Errorf("-h: -%s does not say %s uses it: %q", tc.flag, w, line)
			}
		}
	}
	for _, code := range []string{"0", "1", "2", "130", "143"} {
		if !regexp.MustCompile(`(?m)^\s*` + code + `\b`).MatchString(help) {
			t.Errorf("-h does not explain exit status %s:\n%s", code, help)
		}
	}
}

// TestDocListsEveryFlag: go doc ./cmd/safebench shows the package comment,
// which must name every flag.
func TestDocListsEveryFlag(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Doc.Text()
	fs, _ := newFlagSet(&options{})
	fs.VisitAll(func(fl *flag.Flag) {
		if !regexp.MustCompile(`(^|[\s(])-` + regexp.QuoteMeta(fl.Name) + `\b`).MatchString(doc) {
			t.Errorf("the package comment (go doc) does not mention -%s", fl.Name)
		}
	})
	for _, code := range []string{"130", "143"} {
		if !strings.Contains(doc, code) {
			t.Errorf("the package comment does not explain exit status %s", code)
		}
	}
}

func TestSoakRefusesFlagsItIgnores(t *testing.T) {
	for _, args := range [][]string{
		{"-configs", "sqlite3,sqlite3-safe"}, // one configuration at a time
		{"-configs", "all"},
		{"-count", "3"},
		{"-report", filepath.Join(t.TempDir(), "r.png")},
		{"-goroutines", "5"},
		{"-wal-limit", "1000"},
		{"-pool", "4"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"-workload", "soak"}, args...), &stdout, &stderr)
		if code != 2 {
			t.Errorf("soak %q: exit status %d, want 2 (a usage error)", args, code)
		}
		if !strings.Contains(stderr.String(), args[0]) || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
			t.Errorf("soak %q: stderr %q: want one line naming %s", args, &stderr, args[0])
		}
		if stdout.Len() != 0 {
			t.Errorf("soak %q wrote to stdout: %q", args, &stdout)
		}
	}
}

// noIssueRefs matches references to issue or spec numbers and sections.
var noIssueRefs = regexp.MustCompile(`(?i)\bissue[- ]?\d|\bissue\b|SPEC\b|§`)

// TestOutputSaysWhatItWrote runs a small ledger with -json and -report:
// stderr names both files (one line each) and nothing else; stdout
// explains MIN-MAX and "-" cells, and cites no issue or spec numbers.
func TestOutputSaysWhatItWrote(t *testing.T) {
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "r.json")
	pngPath := filepath.Join(dir, "r.png")
	var stdout, stderr bytes.Buffer
	code := run([]string{"-configs", "all", "-goroutines", "4", "-blocks", "3", "-count", "2",
		"-json", jsonPath, "-report", pngPath}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d; stderr %s", code, &stderr)
	}
	want := "safebench: wrote -json " + jsonPath + "\nsafebench: wrote -report " + pngPath + "\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", &stderr, want)
	}
	out := stdout.String()
	for _, w := range []string{"MIN-MAX: ", "- : "} {
		if !strings.Contains(out, w) {
			t.Errorf("the legend does not explain %q:\n%s", w, out)
		}
	}
	if m := noIssueRefs.FindString(out + helpText(t)); m != "" {
		t.Errorf("the output or -h cites %q: state the rule in words", m)
	}
}
