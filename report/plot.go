package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Series is one named line of a plot.
type Series struct {
	Name string
	X, Y []float64
}

// palette is a colour-blind-safe set (Okabe–Ito).
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255}, color.RGBA{213, 94, 0, 255}, color.RGBA{0, 158, 115, 255},
	color.RGBA{204, 121, 167, 255}, color.RGBA{230, 159, 0, 255}, color.RGBA{86, 180, 233, 255},
	color.RGBA{0, 0, 0, 255},
}

// Palette indices used by name.
const (
	orange = 4
	black  = 6
)

func paletteColor(i int) color.Color { return palette[i%len(palette)] }

// LinePlot writes a PNG line plot of the series to path (atomically).
func LinePlot(path, title, xLabel, yLabel string, series []Series) error {
	p, err := linePlot(path, title, xLabel, yLabel, series)
	if err != nil {
		return err
	}
	return savePNG(p, path, 6*vg.Inch, 4*vg.Inch)
}

// linePlot builds the plot of LinePlot: one line with small markers per series, the
// legend at the top.
func linePlot(path, title, xLabel, yLabel string, series []Series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	for i, s := range series {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("plot %s: series %q has %d x and %d y values", path, s.Name, len(s.X), len(s.Y))
		}
		pts := make(plotter.XYs, len(s.X))
		for j := range s.X {
			pts[j].X, pts[j].Y = s.X[j], s.Y[j]
		}
		l, sc, err := linePoints(pts, paletteColor(i), 1.5)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", path, err)
		}
		p.Add(l, sc)
		if s.Name != "" {
			p.Legend.Add(s.Name, l)
		}
	}
	return p, nil
}

// linePoints is a line through pts with round markers of the given radius, in colour c.
func linePoints(pts plotter.XYs, c color.Color, radius float64) (*plotter.Line, *plotter.Scatter, error) {
	l, sc, err := plotter.NewLinePoints(pts)
	if err != nil {
		return nil, nil, err
	}
	l.Color, sc.Color = c, c
	sc.Shape = draw.CircleGlyph{}
	sc.Radius = vg.Points(radius)
	return l, sc, nil
}

// dashes is the dash pattern of reference and secondary lines.
var dashes = []vg.Length{vg.Points(4), vg.Points(3)}

// addLine adds a line with point markers and a legend entry (line and marker) to p,
// leaving out points whose y is NaN or infinite; a series with no such point adds
// nothing.
func addLine(p *plot.Plot, name string, xs, ys []float64, c color.Color, dashed bool) error {
	pts := make(plotter.XYs, 0, len(xs))
	for i := range xs {
		if finite(ys[i]) {
			pts = append(pts, plotter.XY{X: xs[i], Y: ys[i]})
		}
	}
	if len(pts) == 0 {
		return nil
	}
	l, sc, err := linePoints(pts, c, 2)
	if err != nil {
		return err
	}
	if dashed {
		l.Dashes = dashes
	}
	p.Add(l, sc)
	p.Legend.Add(name, l, sc)
	return nil
}

// headroom raises the top of the Y axis so that a legend of n entries at the top of the
// plot does not cover the data.
func headroom(p *plot.Plot, n int) {
	lo, hi := p.Y.Min, p.Y.Max
	if !(hi > lo) {
		return
	}
	frac := min(0.07*float64(n)+0.05, 0.6) // share of the height the legend needs
	p.Y.Max = hi + (hi-lo)*frac/(1-frac)
}

// savePNG renders p and writes it atomically.
func savePNG(p *plot.Plot, path string, w, h vg.Length) error {
	img := vgimg.New(w, h)
	p.Draw(draw.New(img))
	return writePNG(path, img)
}

// savePanels renders a grid of plots (nil cells stay blank) into one PNG of the given
// size and writes it atomically.
func savePanels(path string, w, h vg.Length, panels [][]*plot.Plot) error {
	img := vgimg.New(w, h)
	tiles := draw.Tiles{Rows: len(panels), Cols: len(panels[0]), PadX: vg.Points(12), PadY: vg.Points(12),
		PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(6)}
	canvases := plot.Align(panels, tiles, draw.New(img))
	for i, row := range panels {
		for j, p := range row {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	return writePNG(path, img)
}

// writePNG encodes a rendered canvas as PNG and writes it atomically.
func writePNG(path string, img *vgimg.Canvas) error {
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return writeFileAtomic(path, buf.Bytes())
}

// integerTicks labels an axis of whole numbers (epochs) at a step of 1, 2 or 5 × 10^k
// giving at most 10 labels.
type integerTicks struct{}

// Ticks implements plot.Ticker.
func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1.0
	for _, m := range []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000} {
		if step = m; (hi-lo)/m <= 10 {
			break
		}
	}
	var out []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return out
}

// LinePlots writes PNG line plots side by side into one file (atomically): titles[i]
// over series[i], sharing the axis labels.
func LinePlots(path string, titles []string, xLabel, yLabel string, series [][]Series) error {
	row := make([]*plot.Plot, len(series))
	for i, s := range series {
		p, err := linePlot(path, titles[i], xLabel, yLabel, s)
		if err != nil {
			return err
		}
		row[i] = p
	}
	return savePanels(path, vg.Length(len(series))*5*vg.Inch, 4*vg.Inch, [][]*plot.Plot{row})
}
