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

// Chart tile size: one row per workload, chartCols panels a row
// (throughput of up to two ops, latency percentiles, WAL over time), under
// a header that holds the one legend: colors are configurations in every
// panel, so no panel carries a legend over its data.
const (
	tileW     = 4.3 * vg.Inch
	tileH     = 3.4 * vg.Inch
	headerH   = 0.55 * vg.Inch
	chartCols = 4
)

// configColor gives every configuration the same color in every chart.
func configColor(cfg string) color.Color {
	return plotutil.Color(max(slices.Index(chartConfigs, cfg), 0))
}

// chartConfigs orders the configurations in the charts: the ones -configs
// knows, then the C floor.
var chartConfigs = append(slices.Clone(knownConfigs), floorConfig)

// opDashes is the line style of a workload's k-th op in the latency
// panels: solid for the first, dashed for the second.
func opDashes(k int) []vg.Length {
	if k == 0 {
		return nil
	}
	return []vg.Length{vg.Points(5), vg.Points(3)}
}

// limitDashes is the line style of sqlite3-safe's WAL limit.
var limitDashes = []vg.Length{vg.Points(6), vg.Points(3)}

// writeCharts draws one row per workload: throughput bars (one panel per
// op, so that a slow op's bars do not vanish beside a fast one's), latency
// percentiles, WAL size over time; PNG or SVG by the file's extension.
func (r *report) writeCharts(path string) error {
	var rows [][]*plot.Plot
	for _, w := range r.opts.workloads {
		_, ops, _ := r.summaries(w)
		if len(ops) == 0 {
			continue
		}
		row := make([]*plot.Plot, chartCols)
		for k, op := range ops[:min(len(ops), 2)] {
			row[k] = r.throughputPlot(w, op)
		}
		row[2], row[3] = r.latencyPlot(w), r.walPlot(w)
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return fmt.Errorf("nothing to chart")
	}
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	height := headerH + vg.Length(len(rows))*tileH
	c, err := draw.NewFormattedCanvas(chartCols*tileW, height, format)
	if err != nil {
		return err
	}
	dc := draw.New(c)
	// A white background: PNGs are shown on dark pages too.
	dc.FillPolygon(color.White, []vg.Point{{X: 0, Y: 0}, {X: dc.Max.X, Y: 0}, {X: dc.Max.X, Y: dc.Max.Y}, {X: 0, Y: dc.Max.Y}})
	header := dc
	header.Min.Y = dc.Max.Y - headerH
	r.drawHeader(header)
	body := dc
	body.Max.Y = dc.Max.Y - headerH
	t := draw.Tiles{
		Rows: len(rows), Cols: chartCols,
		PadX: vg.Points(14), PadY: vg.Points(16),
		PadTop: vg.Points(4), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10),
	}
	for i := range rows {
		for j := range rows[i] {
			if rows[i][j] != nil {
				rows[i][j].Draw(t.At(body, j, i))
			}
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

// drawHeader draws the legend of every panel on one line: a swatch per
// configuration, the line styles of the ops and of the WAL limit.
func (r *report) drawHeader(c draw.Canvas) {
	sty := plot.New().Legend.TextStyle
	sty.Font.Size = vg.Points(11)
	sty.YAlign = draw.YCenter
	h := c.Max.Y - c.Min.Y
	y := c.Max.Y - h/3
	x := c.Min.X + vg.Points(16)
	text := func(s string) {
		c.FillText(sty, vg.Point{X: x, Y: y}, s)
		x += sty.Width(s) + vg.Points(14)
	}
	line := func(clr color.Color, dashes []vg.Length) {
		c.StrokeLine2(draw.LineStyle{Color: clr, Width: vg.Points(2), Dashes: dashes}, x, y, x+vg.Points(26), y)
		x += vg.Points(30)
	}
	text("configurations:")
	var cfgs []string
	for _, s := range r.Summaries {
		if !slices.Contains(cfgs, s.Config) {
			cfgs = append(cfgs, s.Config)
		}
	}
	slices.SortFunc(cfgs, func(a, b string) int { return slices.Index(chartConfigs, a) - slices.Index(chartConfigs, b) })
	for _, cfg := range cfgs {
		sq := vg.Points(10)
		c.FillPolygon(configColor(cfg), []vg.Point{{X: x, Y: y - sq/2}, {X: x + sq, Y: y - sq/2}, {X: x + sq, Y: y + sq/2}, {X: x, Y: y + sq/2}})
		x += sq + vg.Points(4)
		text(cfg)
	}
	y, x = c.Min.Y+h/3, c.Min.X+vg.Points(16)
	text("latency lines:")
	line(color.Black, opDashes(0))
	text("first op (write, append, select)")
	line(color.Black, opDashes(1))
	text("second op (read, insert)")
	x += vg.Points(10)
	text(fmt.Sprintf("WAL panels: the largest size in each 1/%d of the run", walBuckets))
	if slices.Contains(r.opts.workloads, "starve") {
		line(color.Black, limitDashes)
		text("sqlite3-safe's _safe_wal_limit (starve)")
	}
}

func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(10)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
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

// throughputPlot: op's median ops/s, one bar per configuration, with the
// runs' min-max as a range mark.
func (r *report) throughputPlot(w, op string) *plot.Plot {
	runs := "one run"
	if r.opts.count > 1 {
		runs = fmt.Sprintf("median of %d runs, bar: min-max", r.opts.count)
	}
	p := newPlot(fmt.Sprintf("%s: %s throughput", w, op), "", "ops/s ("+runs+")")
	cfgs, _, get := r.summaries(w)
	p.NominalX(cfgs...)
	p.X.Tick.Label.Font.Size = vg.Points(8)
	barW := vg.Points(26)
	top := 0.0
	rng := &rangeMarks{}
	for j, cfg := range cfgs {
		s := get(cfg, op)
		if s == nil {
			continue
		}
		bars, err := plotter.NewBarChart(plotter.Values{s.OpsPerSec.Median}, barW)
		if err != nil {
			continue
		}
		bars.XMin = float64(j)
		bars.Color = configColor(cfg)
		bars.LineStyle.Width = 0
		p.Add(bars)
		rng.x = append(rng.x, float64(j))
		rng.lo = append(rng.lo, s.OpsPerSec.Min)
		rng.hi = append(rng.hi, s.OpsPerSec.Max)
		top = max(top, s.OpsPerSec.Max)
	}
	if r.opts.count > 1 {
		p.Add(rng)
	}
	p.Y.Min = 0
	p.Y.Max = max(top*1.08, 1)
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
// one line per configuration and op, on a log scale; the header says
// which line style is which op.
func (r *report) latencyPlot(w string) *plot.Plot {
	cfgs, ops, get := r.summaries(w)
	title := w + ": latency percentiles"
	if len(ops) > 1 {
		title += fmt.Sprintf("\n(solid: %s, dashed: %s)", ops[0], ops[1])
	}
	p := newPlot(title, "percentile", "latency (ms, log scale)")
	names := make([]string, len(quantiles))
	for i, q := range quantiles {
		names[i] = fmt.Sprintf("p%g", q)
	}
	p.NominalX(names...)
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = compactTicks{plot.LogTicks{Prec: -1}}
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
			line.Dashes = opDashes(k)
			line.Width = vg.Points(1.5)
			points.Color = configColor(cfg)
			points.Shape = plotutil.Shape(k)
			p.Add(line, points)
		}
	}
	if hi > 0 {
		p.Y.Min, p.Y.Max = lo/1.5, hi*1.5
	}
	return p
}

// walFloorMiB is where the WAL panels, on a log scale, draw a size of 0
// (no -wal file, or one just truncated): 4 KiB, about one page.
const walFloorMiB = 4.0 / 1024

// walBuckets is how many intervals a WAL panel splits a run into, drawing
// the largest sample of each: a WAL truncated many times a second would
// otherwise fill its panel with a solid sawtooth.
const walBuckets = 80

// walPeaks returns, for each of walBuckets equal intervals of the series,
// its largest size (MiB, at least walFloorMiB) at the interval's middle.
func walPeaks(series []walPoint) plotter.XYs {
	if len(series) == 0 {
		return nil
	}
	end := series[len(series)-1].T
	width := max(end/walBuckets, walEvery.Seconds())
	var out plotter.XYs
	for _, pt := range series {
		b := math.Floor(pt.T / width)
		y := max(float64(pt.Bytes)/(1<<20), walFloorMiB)
		if n := len(out); n > 0 && math.Floor(out[n-1].X/width) == b {
			out[n-1].Y = max(out[n-1].Y, y)
			continue
		}
		out = append(out, plotter.XY{X: (b + 0.5) * width, Y: y})
	}
	return out
}

// walPlot: the -wal file's size over time in one run per configuration
// (the run with the median largest size; the title says which), on a log
// scale, so that a WAL bounded at a few MiB shows beside one of GiBs; in
// starve, with sqlite3-safe's limit.
//
// Starve's panel is linear, from 0 to twice sqlite3-safe's WAL limit: its
// headline is sqlite3-safe's WAL staying under the limit, which a log
// scale spanning the others' GiBs would flatten onto the limit's line. The
// lines that leave the panel are named in its title, with their peaks.
func (r *report) walPlot(w string) *plot.Plot {
	starve := w == "starve"
	p := newPlot("", "seconds", "WAL file (MiB, log scale)")
	if starve {
		p.Y.Label.Text = "WAL file (MiB, linear)"
	} else {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = compactTicks{plot.LogTicks{Prec: -1}}
	}
	limit := float64(r.opts.walLimit) / (1 << 20)
	cfgs, ops, get := r.summaries(w)
	p.Title.Text = w + ": WAL size over time"
	if starve {
		p.Title.Text = w + ": WAL against sqlite3-safe's limit"
	}
	if len(ops) == 0 {
		return p
	}
	top, right := walFloorMiB, 0.0
	var which, above []string
	for _, cfg := range cfgs {
		s := get(cfg, ops[0])
		if s == nil || !s.WALSeen || len(s.runs) == 0 {
			continue
		}
		run := s.runs[0]
		for _, x := range s.runs {
			if math.Abs(float64(x.WAL.MaxBytes)-s.MaxWAL.Median) < math.Abs(float64(run.WAL.MaxBytes)-s.MaxWAL.Median) {
				run = x
			}
		}
		xys := walPeaks(run.WAL.Series)
		for _, xy := range xys {
			top, right = max(top, xy.Y), max(right, xy.X)
		}
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			continue
		}
		line.Color = configColor(cfg)
		line.Width = vg.Points(1.2)
		p.Add(line)
		which = append(which, fmt.Sprintf("%s %d", cfg, run.Rep))
		if peak := float64(run.WAL.MaxBytes); starve && peak > 2*float64(r.opts.walLimit) {
			above = append(above, fmt.Sprintf("%s %s", cfg, bytesString(peak)))
		}
	}
	if len(which) > 0 {
		if r.opts.count > 1 {
			p.Title.Text += fmt.Sprintf("\nthe run (of %d) with the median peak:\n%s", r.opts.count, strings.Join(which, ", "))
		} else {
			p.Title.Text += "\nthe only run"
		}
	}
	if len(above) > 0 {
		p.Title.Text += "\noff the top (peak): " + strings.Join(above, ", ")
	}
	if starve {
		line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: limit}, {X: max(right, r.opts.duration.Seconds()), Y: limit}})
		if err == nil {
			line.Color = color.Black
			line.Dashes = limitDashes
			line.Width = vg.Points(1.5)
			p.Add(line)
			top = max(top, limit)
		}
	}
	p.Y.Min, p.Y.Max = walFloorMiB, top*2
	if starve {
		p.Y.Min, p.Y.Max = 0, 2*limit
	}
	return p
}
