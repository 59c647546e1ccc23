package prometheus

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDashboardUsesExportedNames: every sqlite3safe_ metric the starter
// Grafana dashboard queries is one the collector exports, so renaming a
// metric cannot silently empty a panel.
func TestDashboardUsesExportedNames(t *testing.T) {
	data, err := os.ReadFile("../docs/grafana-sqlite3safe.json")
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
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

	metric := regexp.MustCompile(`\bsqlite3safe_[a-z_]+`)
	queried := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
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
