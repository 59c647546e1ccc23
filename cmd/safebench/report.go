package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart tile size: one row of three charts per workload.
const (
	tileW = 5.2 * vg.Inch
	tileH = 3.6 * vg.Inch
)

// configColor gives every configuration the same color in every chart.
func configColor(cfg string) color.Color {
	return plotutil.Color(max(slices.Index(knownConfigs, cfg), 0))
}

// writeCharts draws one row per workload: throughput bars, latency
// percentiles, WAL size over time; PNG or SVG by the file's extension.
func (r *report) writeCharts(path string) error {
	var rows [][]*plot.Plot
	for _, w := range r.opts.workloads {
		row := []*plot.Plot{r.throughputPlot(w), r.latencyPlot(w), r.walPlot(w)}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return fmt.Errorf("nothing to chart")
	}
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	c, err := draw.NewFormattedCanvas(3*tileW, vg.Length(len(rows))*tileH, format)
	if err != nil {
		return err
	}
	dc := draw.New(c)
	t := draw.Tiles{
		Rows: len(rows), Cols: 3,
		PadX: vg.Points(14), PadY: vg.Points(14),
		PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10),
	}
	for i := range rows {
		for j := range rows[i] {
			rows[i][j].Draw(t.At(dc, j, i))
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.ThumbnailWidth = vg.Points(14)
	p.Add(plotter.NewGrid())
	p.Y.Tick.Marker = compactTicks{plot.DefaultTicks{}}
	return p
}

// compactTicks labels a ticker's major ticks as 0, 250, 2.5k, 25k, 1.2M
// (the default labels carry as many decimals as the finest tick needs).
type compactTicks struct{ plot.Ticker }

func (c compactTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := c.Ticker.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = compact(ts[i].Value)
		}
	}
	return ts
}

func compact(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// summaries returns the workload's rows, by configuration and op.
func (r *report) summaries(w string) (cfgs, ops []string, get func(cfg, op string) *summary) {
	for _, s := range r.Summaries {
		if s.Workload != w {
			continue
		}
		if !slices.Contains(cfgs, s.Config) {
			cfgs = append(cfgs, s.Config)
		}
		if !slices.Contains(ops, s.Op) {
			ops = append(ops, s.Op)
		}
	}
	return cfgs, ops, func(cfg, op string) *summary { return r.find(w, cfg, op) }
}

// throughputPlot: median ops/s per op, one bar per configuration, with the
// runs' min-max as a range mark.
func (r *report) throughputPlot(w string) *plot.Plot {
	runs := "median"
	if r.opts.count > 1 {
		runs = fmt.Sprintf("median of %d runs, min-max", r.opts.count)
	}
	p := newPlot(w+": throughput", "", "ops/s ("+runs+")")
	cfgs, ops, get := r.summaries(w)
	p.NominalX(ops...)
	barW := min(vg.Points(22), vg.Points(300)/vg.Length(len(cfgs)*len(ops)+1))
	top := 0.0
	for j, cfg := range cfgs {
		vals := make(plotter.Values, len(ops))
		rng := &rangeMarks{offset: vg.Length(float64(j)-float64(len(cfgs)-1)/2) * barW}
		for i, op := range ops {
			if s := get(cfg, op); s != nil {
				vals[i] = s.OpsPerSec.Median
				rng.x = append(rng.x, float64(i))
				rng.lo = append(rng.lo, s.OpsPerSec.Min)
				rng.hi = append(rng.hi, s.OpsPerSec.Max)
				top = max(top, s.OpsPerSec.Max)
			}
		}
		bars, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			continue
		}
		bars.Color = configColor(cfg)
		bars.LineStyle.Width = 0
		bars.Offset = rng.offset
		p.Add(bars)
		if r.opts.count > 1 {
			p.Add(rng)
		}
		p.Legend.Add(cfg, bars)
	}
	p.Y.Min = 0
	p.Y.Max = top * (1.15 + 0.1*float64(len(cfgs))) // room for the legend
	return p
}

// rangeMarks draws a vertical line from lo to hi at each x, shifted by
// offset: the min-max of the runs over a bar.
type rangeMarks struct {
	x, lo, hi []float64
	offset    vg.Length
}

func (m *rangeMarks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	style := draw.LineStyle{Color: color.Black, Width: vg.Points(1)}
	for i := range m.x {
		x := trX(m.x[i]) + m.offset
		lo, hi := trY(m.lo[i]), trY(m.hi[i])
		c.StrokeLine2(style, x, lo, x, hi)
		c.StrokeLine2(style, x-vg.Points(3), lo, x+vg.Points(3), lo)
		c.StrokeLine2(style, x-vg.Points(3), hi, x+vg.Points(3), hi)
	}
}

func (m *rangeMarks) DataRange() (xmin, xmax, ymin, ymax float64) {
	if len(m.x) == 0 {
		return 0, 0, 0, 0
	}
	return slices.Min(m.x), slices.Max(m.x), slices.Min(m.lo), slices.Max(m.hi)
}

// latencyPlot: the percentiles of successful ops (medians over the runs),
// one line per configuration and op, on a log scale.
func (r *report) latencyPlot(w string) *plot.Plot {
	p := newPlot(w+": latency percentiles", "percentile", "latency (ms, log scale)")
	names := make([]string, len(quantiles))
	for i, q := range quantiles {
		names[i] = fmt.Sprintf("p%g", q)
	}
	p.NominalX(names...)
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = compactTicks{plot.LogTicks{Prec: -1}}
	cfgs, ops, get := r.summaries(w)
	lo, hi := math.Inf(1), 0.0
	for _, cfg := range cfgs {
		for k, op := range ops {
			s := get(cfg, op)
			if s == nil || len(s.LatencyNs) == 0 || s.LatencyNs[0].N == 0 {
				continue
			}
			xys := make(plotter.XYs, len(quantiles))
			for i := range quantiles {
				v := max(s.LatencyNs[i].Median, 1) / 1e6
				xys[i] = plotter.XY{X: float64(i), Y: v}
				lo, hi = min(lo, v), max(hi, v)
			}
			line, points, err := plotter.NewLinePoints(xys)
			if err != nil {
				continue
			}
			line.Color = configColor(cfg)
			line.Dashes = plotutil.Dashes(k)
			points.Color = configColor(cfg)
			points.Shape = plotutil.Shape(k)
			p.Add(line, points)
			name := cfg
			if len(ops) > 1 {
				name += " " + op
			}
			p.Legend.Add(name, line, points)
		}
	}
	if hi > 0 {
		// Decades of room above for the legend.
		p.Y.Min, p.Y.Max = lo/2, hi*math.Pow(10, 0.25*float64(len(cfgs)*len(ops))+0.4)
	}
	return p
}

// walPlot: the -wal file's size over time in one run per configuration
// (the run with the median largest size).
func (r *report) walPlot(w string) *plot.Plot {
	p := newPlot(w+": WAL size over time", "seconds", "WAL file (MiB)")
	cfgs, ops, get := r.summaries(w)
	if len(ops) == 0 {
		return p
	}
	top, right := 0.0, 0.0
	for _, cfg := range cfgs {
		s := get(cfg, ops[0])
		if s == nil || !s.WALSeen {
			continue
		}
		run := s.runs[0]
		for _, x := range s.runs {
			if math.Abs(float64(x.WAL.MaxBytes)-s.MaxWAL.Median) < math.Abs(float64(run.WAL.MaxBytes)-s.MaxWAL.Median) {
				run = x
			}
		}
		xys := make(plotter.XYs, len(run.WAL.Series))
		for i, pt := range run.WAL.Series {
			xys[i] = plotter.XY{X: pt.T, Y: float64(pt.Bytes) / (1 << 20)}
			top, right = max(top, xys[i].Y), max(right, pt.T)
		}
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			continue
		}
		line.Color = configColor(cfg)
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s (run %d)", cfg, run.Rep), line)
	}
	if w == "starve" {
		limit := float64(r.opts.walLimit) / (1 << 20)
		line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: limit}, {X: max(right, r.opts.duration.Seconds()), Y: limit}})
		if err == nil {
			line.Color = configColor("sqlite3-safe")
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(line)
			p.Legend.Add("sqlite3-safe _safe_wal_limit", line)
			top = max(top, limit)
		}
	}
	p.Y.Min = 0
	p.Y.Max = max(top, 0.01) * (1.15 + 0.1*float64(len(cfgs)+1))
	return p
}
