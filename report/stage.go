package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// StageStudy is what the report of a training-stage study shows (spec §8, results §6):
// the gap between forward and label-reconstructed features at every tap of a training
// run's epoch snapshots, the snapshots' accuracies, and their correlations over the stages.
type StageStudy struct {
	Run, Model, Dataset string
	Samples             int      // probe images
	DropFirst           int      // first stages left out of the correlations
	Embedding           string   // output embedding of the reverse chain
	ConvMethod          string   // conv reverse operator of the chain
	Taps                []string // output side first
	Stages              []Stage  // by epoch; at least one
	Correlations        []StageCorrelation
}

// Stage is one epoch snapshot of a stage study.
type Stage struct {
	Epoch int
	// TestAcc, TrainAcc (of the epoch) and ProbeAcc (on the probe images) are fractions,
	// NaN when unknown.
	TestAcc, TrainAcc, ProbeAcc float64
	RelativeGap                 map[string]float64 // mean ‖f − r‖/‖f‖ by tap
}

// StageCorrelation is the correlation over the stages of an accuracy (test_acc or
// probe_acc) with a gap metric of one tap; NaN where undefined.
type StageCorrelation struct {
	Tap, Metric, Accuracy  string
	N                      int // stages correlated
	PearsonR, PearsonP     float64
	SpearmanRho, SpearmanP float64
}

// StageMarkdown is the report.md of a stage study: the stages table, the correlations
// of the test accuracy with the gaps, and the plot stage-study.png.
func StageMarkdown(s StageStudy) string {
	var b strings.Builder
	st := s.Stages
	fmt.Fprintf(&b, "# Training-stage study: %s\n\n", s.Run)
	fmt.Fprintf(&b, "%s on %s, %d checkpoints (epochs %d…%d). Probe set: the first %d training images, un-augmented. "+
		"For every tap, f is the forward feature and r the label-conditioned reconstruction by the reverse chain of the same checkpoint "+
		"(embedding %s, conv reverse %s); relative_diff = mean ‖f − r‖/‖f‖, absolute_diff = mean ‖f − r‖, forward_norm = mean ‖f‖ "+
		"(spec §8, results §6).\n\n", s.Model, s.Dataset, len(st), st[0].Epoch, st[len(st)-1].Epoch, s.Samples, s.Embedding, s.ConvMethod)
	b.WriteString("## Stages\n\n")
	header := []string{"epoch", "test acc", "train acc (epoch)", "probe acc"}
	for _, tap := range s.Taps {
		header = append(header, "rel. gap "+tap)
	}
	var rows [][]string
	for _, r := range st {
		row := []string{strconv.Itoa(r.Epoch), Pct(r.TestAcc), Pct(r.TrainAcc), Pct(r.ProbeAcc)}
		for _, tap := range s.Taps {
			if g, ok := r.RelativeGap[tap]; ok {
				row = append(row, fmt.Sprintf("%.4g", g))
			} else {
				row = append(row, "–")
			}
		}
		rows = append(rows, row)
	}
	b.WriteString(Table(header, rows))
	n := 0
	for _, c := range s.Correlations {
		n = max(n, c.N)
	}
	fmt.Fprintf(&b, "\n## Test accuracy against the gap over stages\n\nThe first %d stage(s) dropped (n = %d stages). Pearson r and Spearman ρ with two-sided p-values. "+
		"The paper (results §6, ResNets) finds r ≈ −0.95…−0.999 at the deep taps (out … z3) and mixed signs at the shallow ones.\n\n", s.DropFirst, n)
	cell := func(r, p float64) string {
		if math.IsNaN(r) {
			return "–"
		}
		return fmt.Sprintf("%+.3f (p %.2g)", r, p)
	}
	var crows [][]string
	for _, tap := range s.Taps {
		row := []string{tap}
		for _, metric := range []string{"relative_diff", "absolute_diff"} {
			for _, c := range s.Correlations {
				if c.Tap == tap && c.Metric == metric && c.Accuracy == "test_acc" {
					row = append(row, cell(c.PearsonR, c.PearsonP), cell(c.SpearmanRho, c.SpearmanP))
				}
			}
		}
		crows = append(crows, row)
	}
	b.WriteString(Table([]string{"tap", "relative: Pearson r", "relative: Spearman ρ", "absolute: Pearson r", "absolute: Spearman ρ"}, crows))
	b.WriteString("\ncorrelations.csv also holds forward_norm and the probe-set accuracy.\n\n![relative gap and accuracy per epoch](stage-study.png)\n")
	return b.String()
}

// StagePlot writes a PNG of a stage study to path (atomically): the relative gap per tap
// (top, log scale when every gap is positive) and the accuracies (bottom) against the
// epoch.
func StagePlot(path string, s StageStudy) error {
	top := plot.New()
	top.Title.Text = fmt.Sprintf("%s on %s: forward vs reconstructed features", s.Model, s.Dataset)
	top.Y.Label.Text = "mean ‖f − r‖ / ‖f‖"
	top.X.Label.Text = "epoch"
	top.Add(plotter.NewGrid())
	top.Legend.Top, top.Legend.Left = false, true
	top.X.Tick.Marker = integerTicks{}
	positive := true
	epochs := make([]float64, len(s.Stages))
	for i, st := range s.Stages {
		epochs[i] = float64(st.Epoch)
		for _, g := range st.RelativeGap {
			positive = positive && g > 0
		}
	}
	if positive {
		top.Y.Scale = plot.LogScale{}
		top.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	for k, tap := range s.Taps {
		ys := make([]float64, len(s.Stages))
		for i, st := range s.Stages {
			ys[i] = math.NaN()
			if g, ok := st.RelativeGap[tap]; ok {
				ys[i] = g
			}
		}
		if err := addLine(top, tap, epochs, ys, paletteColor(k), false); err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
	}
	bot := plot.New()
	bot.Y.Label.Text = "accuracy (%)"
	bot.X.Label.Text = "epoch"
	bot.Add(plotter.NewGrid())
	bot.Legend.Top, bot.Legend.Left = false, false
	bot.X.Tick.Marker = integerTicks{}
	test, probe := make([]float64, len(s.Stages)), make([]float64, len(s.Stages))
	for i, st := range s.Stages {
		test[i], probe[i] = 100*st.TestAcc, 100*st.ProbeAcc
	}
	if err := addLine(bot, "test", epochs, test, palette[black], false); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if err := addLine(bot, "probe (train)", epochs, probe, palette[orange], true); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return savePanels(path, 7*vg.Inch, 7*vg.Inch, [][]*plot.Plot{{top}, {bot}})
}
