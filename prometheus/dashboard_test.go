package prometheus

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDashboardUsesExportedNames: every sqlite3safe_ metric the starter
// Grafana dashboard queries is one the collector exports, and every
// $variable a query uses is one the dashboard defines (or one of
// Grafana's own $__ variables), so renaming a metric or dropping a
// variable cannot silently empty a panel.
func TestDashboardUsesExportedNames(t *testing.T) {
	data, err := os.ReadFile("../docs/grafana-sqlite3safe.json")
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct{ Name string }
		}
	}
	require.NoError(t, json.Unmarshal(data, &dash))

	exported := map[string]bool{namespace + "_stats_up": true}
	for _, cols := range [][]column{fileColumns, poolColumns} {
		for _, c := range cols {
			exported[namespace+"_"+c.name] = true
		}
	}
	for _, name := range fileSpecialFields {
		exported[namespace+"_"+name] = true
	}

	variables := map[string]bool{}
	for _, v := range dash.Templating.List {
		variables[v.Name] = true
	}
	variable := regexp.MustCompile(`\$(\w+)`)
	metric := regexp.MustCompile(`\bsqlite3safe_[a-z_]+`)
	queried := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range variable.FindAllStringSubmatch(tg.Expr, -1) {
				if !variables[m[1]] && !strings.HasPrefix(m[1], "__") {
					t.Errorf("panel %q uses $%s, which the dashboard does not define", p.Title, m[1])
				}
			}
			for _, name := range metric.FindAllString(tg.Expr, -1) {
				queried++
				if !exported[name] {
					t.Errorf("panel %q queries %s, which the collector does not export", p.Title, name)
				}
			}
		}
	}
	require.Positive(t, queried, "the dashboard queries no sqlite3safe_ metric")
}
