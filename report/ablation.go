package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Ablation is what the report of an output-embedding ablation shows (spec §3.4, results
// §7): the test accuracy over seeds of every (embedding, α) after training from
// pretrained weights with CE + α·MSE(logits, target).
type Ablation struct {
	Model, Dataset, Weights string
	Pretrained              float64 // test accuracy of Weights; NaN when unknown
	// The training settings shared by the runs.
	Epochs, Batch, Samples int
	LR, WD                 float64
	Augment                bool
	Baseline               string   // the embedding name of the α = 0 (CE only) runs
	Metrics                []string // one table and one panel each, in this order
	Cells                  []AblationCell
	Results                string // the runs' results file
	Runs                   int    // runs summarized
}

// AblationCell is the mean over seeds of one metric of one (embedding, α).
type AblationCell struct {
	Embedding string
	Alpha     float64
	Metric    string
	N         int     // seeds
	Mean      float64 // test accuracy (fraction)
	CIHigh    float64 // upper end of the 95 % t-interval; NaN for one seed
}

// halfWidth is the half-width of the cell's interval in percentage points (0 when
// undefined).
func (c AblationCell) halfWidth() float64 {
	if math.IsNaN(c.CIHigh) {
		return 0
	}
	return 100 * (c.CIHigh - c.Mean)
}

// groups returns the embeddings (in cell order) and the sorted α values of the cells.
func (a Ablation) groups() (embs []string, alphas []float64) {
	for _, c := range a.Cells {
		if !slices.Contains(embs, c.Embedding) {
			embs = append(embs, c.Embedding)
		}
		if !slices.Contains(alphas, c.Alpha) {
			alphas = append(alphas, c.Alpha)
		}
	}
	slices.Sort(alphas)
	return embs, alphas
}

// AblationMarkdown is the ablation.md of an ablation: one table per metric (embeddings ×
// α, mean ± 95 % half-width (n) in %) and the plot ablation.png.
func AblationMarkdown(a Ablation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Output-embedding ablation: %s on %s\n\n", a.Model, a.Dataset)
	fmt.Fprintf(&b, "Spec §3.4 / results §7: from `%s` (test accuracy %s), the whole network trained for %d epochs with CE + α·MSE(logits, target), "+
		"α fixed, AdamW lr %g, weight decay %g, batch %d, on one frozen pass over %d training images (augmented: %v). "+
		"Targets: one-hot e_y; max-assign from the live logits of each step (o_y ← max, clamped to ±10); nearest from the pretrained logits. "+
		"α = 0 (CE only) is listed as `%s`. Cells: mean ± 95 %% t-interval half-width over seeds (n), test accuracy in %%.\n\n",
		a.Weights, Pct(a.Pretrained), a.Epochs, a.LR, a.WD, a.Batch, a.Samples, a.Augment, a.Baseline)
	embs, alphas := a.groups()
	for _, m := range a.Metrics {
		var rows [][]string
		for _, e := range embs {
			row := []string{e}
			found := false
			for _, al := range alphas {
				cell := "–"
				for _, c := range a.Cells {
					if c.Embedding == e && c.Alpha == al && c.Metric == m {
						cell = fmt.Sprintf("%.2f", 100*c.Mean)
						if !math.IsNaN(c.CIHigh) {
							cell += fmt.Sprintf(" ± %.2f", c.halfWidth())
						}
						cell += fmt.Sprintf(" (%d)", c.N)
						found = true
					}
				}
				row = append(row, cell)
			}
			if found {
				rows = append(rows, row)
			}
		}
		if len(rows) == 0 {
			continue
		}
		header := []string{"embedding"}
		for _, al := range alphas {
			header = append(header, "α = "+strconv.FormatFloat(al, 'g', -1, 64))
		}
		fmt.Fprintf(&b, "## %s test accuracy\n\n%s\n", m, Table(header, rows))
	}
	fmt.Fprintf(&b, "Runs: %s (summary of %d runs).\n\n![ablation](ablation.png)\n", a.Results, a.Runs)
	return b.String()
}

// AblationPlot writes a PNG of an ablation to path (atomically), one panel per metric:
// mean ± 95 % t-interval against α, one line per embedding, the pretrained accuracy
// dashed (like the paper's ablation_*_testacc_ci). It writes nothing when no metric has
// a cell.
func AblationPlot(path string, a Ablation) error {
	embs, alphas := a.groups()
	var panels []*plot.Plot
	for _, m := range a.Metrics {
		p := plot.New()
		p.Title.Text = m + " test accuracy"
		p.X.Label.Text = "α"
		p.Y.Label.Text = "accuracy (%)"
		p.Add(plotter.NewGrid())
		p.Legend.Top, p.Legend.Left = false, true
		yLo, yHi := math.Inf(1), math.Inf(-1)
		span := 1.0
		if len(alphas) > 1 {
			span = alphas[len(alphas)-1] - alphas[0]
		}
		has := false
		for i, e := range embs {
			var pts plotter.XYs
			var errs plotter.YErrors
			dodge := (float64(i) - float64(len(embs)-1)/2) * 0.012 * span // keep the bars apart
			for _, c := range a.Cells {
				if c.Embedding != e || c.Metric != m {
					continue
				}
				pts = append(pts, plotter.XY{X: c.Alpha + dodge, Y: 100 * c.Mean})
				hw := c.halfWidth()
				errs = append(errs, struct{ Low, High float64 }{hw, hw})
				yLo, yHi = min(yLo, 100*c.Mean-hw), max(yHi, 100*c.Mean+hw)
			}
			if len(pts) == 0 {
				continue
			}
			has = true
			col := paletteColor(i)
			xs, ys := make([]float64, len(pts)), make([]float64, len(pts))
			for j := range pts {
				xs[j], ys[j] = pts[j].X, pts[j].Y
			}
			if err := addLine(p, e, xs, ys, col, false); err != nil {
				return fmt.Errorf("plot %s: %w", path, err)
			}
			eb, err := plotter.NewYErrorBars(errPoints{pts, errs})
			if err != nil {
				return fmt.Errorf("plot %s: %w", path, err)
			}
			eb.Color = col
			p.Add(eb)
		}
		if !has {
			continue
		}
		if pre := a.Pretrained; !math.IsNaN(pre) && len(alphas) > 0 {
			lo, hi := alphas[0]-0.05*span, alphas[len(alphas)-1]+0.05*span
			l, err := plotter.NewLine(plotter.XYs{{X: lo, Y: 100 * pre}, {X: hi, Y: 100 * pre}})
			if err != nil {
				return fmt.Errorf("plot %s: %w", path, err)
			}
			l.Color = color.Gray{Y: 110}
			l.Dashes = dashes
			p.Add(l)
			p.Legend.Add("pretrained", l)
			yLo, yHi = min(yLo, 100*pre), max(yHi, 100*pre)
		}
		// Room below the data for the legend (bottom left).
		h := max(yHi-yLo, 0.1)
		p.Y.Min, p.Y.Max = yLo-(0.2+0.12*float64(len(embs)+1))*h, yHi+0.05*h
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return nil
	}
	cols := min(2, len(panels))
	rows := (len(panels) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
		for j := range grid[i] {
			if k := i*cols + j; k < len(panels) {
				grid[i][j] = panels[k]
			}
		}
	}
	return savePanels(path, vg.Length(cols)*4.5*vg.Inch, vg.Length(rows)*3.5*vg.Inch, grid)
}
