package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const (
	committedDocs = "../../docs/performance.md"
	committedText = "../../docs/safebench-results.txt"
	// regenerate is the command that brings the docs up to date.
	regenerate = "go run ./cmd/safebench -render-docs docs/safebench-results.json -docs docs/performance.md -report docs/safebench-results.png > docs/safebench-results.txt"
)

// TestDocsUpToDate renders docs/performance.md and the text output from
// the committed results JSON: the committed files must be what that
// renders, so that no number in them is typed or stale.
func TestDocsUpToDate(t *testing.T) {
	r, err := loadReport(committedResults)
	if err != nil {
		t.Fatal(err)
	}
	// README.md may hold generated regions too (rendered with -docs README.md).
	for _, path := range []string{committedDocs, "../../README.md"} {
		md, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := renderDocs(string(md), r)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got != string(md) {
			t.Errorf("%s differs from what the committed results render; from the repository root run\n  %s\n%s", path, regenerate, firstDiff(string(md), got))
		}
	}
	var text strings.Builder
	r.writeText(&text)
	committed, err := os.ReadFile(committedText)
	if err != nil {
		t.Fatal(err)
	}
	if text.String() != string(committed) {
		t.Errorf("docs/safebench-results.txt differs from what the committed results render; run\n  %s\n%s", regenerate, firstDiff(string(committed), text.String()))
	}
}

// firstDiff describes the first line where a and b differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + itoa(i+1) + ":\n  committed: " + x + "\n  rendered:  " + y
		}
	}
	return ""
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestDocsQuoteNoTypedNumbers: outside the generated regions, code and
// link targets, docs/performance.md quotes no number, and it cites no
// issue or spec numbers; its links stay inside docs/.
func TestDocsQuoteNoTypedNumbers(t *testing.T) {
	data, err := os.ReadFile(committedDocs)
	if err != nil {
		t.Fatal(err)
	}
	md := string(data)
	if m := noIssueRefs.FindString(md); m != "" {
		t.Errorf("docs/performance.md cites %q: state the rule in words", m)
	}
	for _, m := range regexp.MustCompile(`\]\(([^)]+)\)`).FindAllStringSubmatch(md, -1) {
		if strings.HasPrefix(m[1], "docs/") || strings.HasPrefix(m[1], "/") {
			t.Errorf("link %q: links in docs/ are relative to docs/", m[1])
		}
		if !strings.Contains(m[1], "://") {
			if _, err := os.Stat("../../docs/" + m[1]); err != nil {
				t.Errorf("link %q: %v", m[1], err)
			}
		}
	}
	prose := generatedRegion.ReplaceAllString(md, "")
	for _, re := range []string{"(?s)```.*?```", "(?s)<!--.*?-->", "`[^`]*`", `\]\([^)]*\)`} {
		prose = regexp.MustCompile(re).ReplaceAllString(prose, "")
	}
	// A number is digits not part of a word (sqlite3, p99 and go1 are words).
	for _, m := range regexp.MustCompile(`(?m)(^|[^\w.])(\d[\d.,]*)`).FindAllStringSubmatch(prose, -1) {
		t.Errorf("docs/performance.md quotes %q outside a generated region: generate it, or do not quote it", m[2])
	}
}

func TestRenderDocsRefusesBadRegions(t *testing.T) {
	r, err := loadReport(committedResults)
	if err != nil {
		t.Fatal(err)
	}
	for _, md := range []string{
		"a <!-- generated:nosuch --><!-- /generated:nosuch --> b",
		"a <!-- generated:runs --><!-- /generated:machine --> b",
		"a <!-- generated:runs --> b",
	} {
		if out, err := renderDocs(md, r); err == nil {
			t.Errorf("renderDocs(%q) = %q, want an error", md, out)
		}
	}
	out, err := renderDocs("a <!-- generated:runs -->x<!-- /generated:runs --> b", r)
	if want := fmt.Sprintf("a <!-- generated:runs -->%d<!-- /generated:runs --> b", r.Settings.Count); err != nil || out != want {
		t.Errorf("renderDocs = %q, %v; want %q", out, err, want)
	}
}

// TestRenderDocsCommand runs -render-docs as the docs say, on copies.
func TestRenderDocsCommand(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "performance.md")
	data, err := os.ReadFile(committedDocs)
	if err != nil {
		t.Fatal(err)
	}
	stale := strings.Replace(string(data), "<!-- generated:runs -->", "<!-- generated:runs -->7", 1)
	if err := os.WriteFile(md, []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(dir, "r.png")
	var stdout, stderr strings.Builder
	code := run([]string{"-render-docs", committedResults, "-docs", md, "-report", png}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d; stderr %s", code, &stderr)
	}
	got, _ := os.ReadFile(md)
	if string(got) != string(data) {
		t.Errorf("-render-docs did not bring the stale copy back to the committed docs")
	}
	committed, _ := os.ReadFile(committedText)
	if stdout.String() != string(committed) {
		t.Errorf("stdout is not docs/safebench-results.txt")
	}
	checkNonEmpty(t, png, "\x89PNG")
	if want := "safebench: wrote -docs " + md + "\nsafebench: wrote -report " + png + "\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", &stderr, want)
	}
}
