package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/frpt/frpt/atomicfile"
	"github.com/frpt/frpt/report/page"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/frpt/frpt/stats"
)

// GridMetrics are the per-run metrics of the post-training comparison (spec §6): the best
// test accuracy over the epochs, the accuracy after epochs 1, 5 and 10, and the mean over
// the epochs. A metric a run has too few epochs for (e10 of a 3-epoch run) is missing.
var GridMetrics = []string{"best", "e1", "e5", "e10", "mean"}

// Run is one finished post-training run, as one line of a grid's JSON-lines results file
// (the json tags are those of pipeline.RunResult; package report does not import
// pipeline, which imports report).
type Run struct {
	Model   string    `json:"model"`
	Dataset string    `json:"dataset"`
	Weights string    `json:"weights"` // relative to the results file (RecordedPath)
	Tap     string    `json:"tap"`
	CRec    float64   `json:"c_rec"`
	Seed    uint64    `json:"seed"`
	Epochs  int       `json:"epochs"`
	Batch   int       `json:"batch"`
	LR      float64   `json:"lr"`
	WD      float64   `json:"weight_decay"`
	Mode    string    `json:"mode"`
	TestAcc []float64 `json:"test_acc"` // after each epoch
	Best    float64   `json:"best"`
	Mean    float64   `json:"mean"`
	// WeightsSHA256 is the weights' hash (absent in files written before it was recorded).
	WeightsSHA256 string `json:"weights_sha256,omitempty"`
}

// Setting identifies the runs of a grid that differ only in c_rec and seed. A Setting
// with an empty Tap names an experiment (one model on one dataset in one mode).
type Setting struct {
	Model   string `json:"model"`
	Dataset string `json:"dataset"`
	Mode    string `json:"mode"`
	Tap     string `json:"tap,omitempty"`
}

// Experiment returns s without its tap.
func (s Setting) Experiment() Setting { s.Tap = ""; return s }

// String is "model/dataset mode tap".
func (s Setting) String() string {
	out := s.Model + "/" + s.Dataset + " " + s.Mode
	if s.Tap != "" {
		out += " tap " + s.Tap
	}
	return out
}

// Title is a human heading such as "simplecnn-v2 on mnist (coupled)".
func (s Setting) Title() string {
	out := fmt.Sprintf("%s on %s (%s)", s.Model, s.Dataset, s.Mode)
	if s.Tap != "" {
		out += ", tap " + s.Tap
	}
	return out
}

// Reference is an externally reported number (e.g. the paper's Δ) printed beside ours.
// Model "model" or "model/dataset" matches coupled runs (the paper's mode),
// "model/dataset/mode" any mode; Value is free text ("+0.48 (0.3)").
type Reference struct {
	Model  string `json:"model"`
	Tap    string `json:"tap"`
	Metric string `json:"metric"`
	Value  string `json:"value"`
	Source string `json:"source,omitempty"`
}

// GridOptions configures AnalyzeGrid. The zero value is usable.
type GridOptions struct {
	// Source names the results file in the report.
	Source string
	// Unit of the accuracies in the runs: "fraction" (0–1, what pipeline.PostTrain
	// writes), "percent", or "" ("auto") to detect it (fraction when no value exceeds 1).
	// Everything reported is in percent, differences in percentage points.
	Unit string
	// Resamples is the number of bootstrap draws (default 20000) and Level the two-sided
	// confidence level of the bootstrap interval (default 0.95).
	Resamples int
	Level     float64
	// Seed seeds the bootstrap generator (spec §6: 0); every comparison uses it, so a
	// comparison does not depend on the order or number of the others.
	Seed uint64
	// Alpha is the significance level of the "ns" marks (default 0.05, one-sided t-test).
	Alpha float64
	// References are printed beside our paired comparisons.
	References []Reference
	// Gaps are the reconstruction's per-tap gap statistics (reconstruct.json of the
	// cache the grid trained from), shown in the report when set; GapsSource names the file.
	Gaps       []TapGap
	GapsSource string
}

// TapGap is the reconstruction gap ‖f − r‖/‖f‖ at one tap over a reconstruction pass:
// its distribution over the samples and the reverse operator that produced it.
type TapGap struct {
	Tap       string  `json:"tap"`
	Method    string  `json:"method"`
	Mean      float64 `json:"mean"`
	Median    float64 `json:"median"`
	P90       float64 `json:"p90"`
	Max       float64 `json:"max"`
	Fallbacks int     `json:"fallbacks"` // Tikhonov fallbacks taken over the whole pass
}

// GapTable is the table of per-tap gap statistics, the taps in the order given.
func GapTable(gaps []TapGap) *page.Table {
	t := &page.Table{Header: []string{"tap", "reverse operator", "mean gap ‖f−r‖/‖f‖", "median", "p90", "max", "Tikhonov fallbacks"}}
	for _, g := range gaps {
		t.Rows = append(t.Rows, []string{g.Tap, g.Method, fmtF(g.Mean, 4), fmtF(g.Median, 4), fmtF(g.P90, 4), fmtF(g.Max, 4), strconv.Itoa(g.Fallbacks)})
	}
	return t
}

// Cell is the mean ± std over seeds of one metric for one setting and c_rec.
type Cell struct {
	Setting
	Metric string   `json:"metric"`
	CRec   float64  `json:"c_rec"`
	N      int      `json:"n"`
	Mean   float64  `json:"mean"`
	Std    float64  `json:"std"` // ddof 1; NaN for one seed
	Min    float64  `json:"min"`
	Max    float64  `json:"max"`
	Seeds  []uint64 `json:"seeds"`
}

// Comparison is the seed-paired test of the best c_rec > 0 of one setting and metric
// against the matched baseline c_rec = 0 (spec §6, §9.2). Δ = best − baseline in
// percentage points; the p-values are one-sided (H1: Δ > 0). When the baseline has the
// higher mean (BaselineBest, the spec's "(base)"), the p-values of the reverse hypothesis
// are 1 − PT and 1 − PW.
type Comparison struct {
	Setting
	Metric string `json:"metric"`
	// BestCRec is the c_rec > 0 with the highest mean of Metric over its seeds.
	BestCRec     float64 `json:"best_c_rec"`
	BestMean     float64 `json:"best_mean"`     // over all seeds of BestCRec
	BaselineMean float64 `json:"baseline_mean"` // over all seeds of c_rec = 0
	BaselineBest bool    `json:"baseline_best"`
	// BaselineFrom is the mode the c_rec = 0 runs come from when they were borrowed
	// (decoupled grids have no baseline of their own; it is the coupled c_rec = 0 run).
	BaselineFrom string `json:"baseline_from,omitempty"`
	stats.Paired
	Level    float64  `json:"ci_level"`
	BootSeed uint64   `json:"bootstrap_seed"`
	Seeds    []uint64 `json:"paired_seeds"`
	// Unpaired are the seeds present for only one of BestCRec and c_rec = 0.
	Unpaired   []uint64    `json:"unpaired_seeds"`
	Note       string      `json:"note,omitempty"`
	References []Reference `json:"references,omitempty"`
}

// Significant reports a one-sided t-test p-value below alpha (for the direction of the
// winner: Δ > 0, or the baseline over the best c_rec when BaselineBest).
func (c Comparison) Significant(alpha float64) bool {
	p := c.PT
	if c.BaselineBest {
		p = 1 - p
	}
	return !math.IsNaN(p) && p <= alpha
}

// Curve is the test accuracy per epoch of one setting and c_rec, averaged over seeds.
type Curve struct {
	Setting
	CRec float64   `json:"c_rec"`
	Mean []float64 `json:"mean"` // epoch 1, 2, …
	N    []int     `json:"n"`    // runs that reached each epoch
}

// Experiment summarises one model on one dataset in one mode.
type Experiment struct {
	Setting
	Taps    []string  `json:"taps"`
	CRecs   []float64 `json:"c_recs"`
	Seeds   []uint64  `json:"seeds"`
	Metrics []string  `json:"metrics"`
	Runs    int       `json:"runs"`
	// Config is each training setting with its distinct values ("epochs": "10").
	Config map[string]string `json:"config"`
}

// GridSummary is everything a grid report shows: summary cells, paired comparisons,
// per-epoch curves and the problems found in the runs.
type GridSummary struct {
	Source      string       `json:"source,omitempty"`
	Runs        int          `json:"runs"`
	Unit        string       `json:"unit_in_results"`
	Resamples   int          `json:"bootstrap_resamples"`
	Level       float64      `json:"ci_level"`
	Seed        uint64       `json:"bootstrap_seed"`
	Alpha       float64      `json:"alpha"`
	Experiments []Experiment `json:"experiments"`
	Cells       []Cell       `json:"summary"`
	Comparisons []Comparison `json:"paired"`
	Curves      []Curve      `json:"curves"`
	// Issues are missing seeds, unpaired runs, duplicates, mixed configurations and
	// runs that could not be used; Notes are informational.
	Issues              []string    `json:"issues"`
	Notes               []string    `json:"notes"`
	UnmatchedReferences []Reference `json:"unmatched_references,omitempty"`
	Gaps                []TapGap    `json:"reconstruction_gaps,omitempty"`
	GapsSource          string      `json:"reconstruction_source,omitempty"`
}

// ReadRunsJSONL reads a JSON-lines results file. decode turns one line into a Run (nil:
// json.Unmarshal into Run). The weights' path is returned relative to the file (older
// files recorded it absolute: such paths are converted). Blank lines are skipped; a
// malformed line is an error naming the file and the line; so is a run without model or
// tap, and a file without runs.
func ReadRunsJSONL(path string, decode func(line []byte) (Run, error)) ([]Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	defer f.Close()
	return readRuns(path, f, decode)
}

// readRuns is ReadRunsJSONL on the content of the file path.
func readRuns(path string, f io.Reader, decode func(line []byte) (Run, error)) ([]Run, error) {
	if decode == nil {
		decode = func(b []byte) (Run, error) {
			var r Run
			err := json.Unmarshal(b, &r)
			return r, err
		}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var runs []Run
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		r, err := decode(b)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: malformed run: %w", path, line, err)
		}
		if r.Model == "" || r.Tap == "" {
			return nil, fmt.Errorf("%s:%d: run has no model or tap", path, line)
		}
		r.Weights = relativeRecorded(path, r.Weights) // older files hold an absolute path
		runs = append(runs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", path, line+1, err)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("%s: no runs", path)
	}
	return runs, nil
}

// ReadReferenceCSV reads references from a CSV file with the columns
// model,tap,metric,value[,source]. A header row starting with "model" and lines starting
// with '#' are skipped.
func ReadReferenceCSV(path string) ([]Reference, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read references: %w", err)
	}
	defer f.Close()
	return parseReferenceCSV(path, f)
}

// parseReferenceCSV is ReadReferenceCSV on the content of the file path.
func parseReferenceCSV(path string, f io.Reader) ([]Reference, error) {
	cr := csv.NewReader(f)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []Reference
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read references %s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		if len(out) == 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "model") {
			continue
		}
		if len(rec) < 4 || len(rec) > 5 {
			return nil, fmt.Errorf("%s:%d: want model,tap,metric,value[,source], got %d fields", path, line, len(rec))
		}
		r := Reference{Model: strings.TrimSpace(rec[0]), Tap: strings.TrimSpace(rec[1]),
			Metric: strings.TrimSpace(rec[2]), Value: strings.TrimSpace(rec[3])}
		if len(rec) == 5 {
			r.Source = strings.TrimSpace(rec[4])
		}
		if !slices.Contains(GridMetrics, r.Metric) {
			return nil, fmt.Errorf("%s:%d: metric %q: want one of %s", path, line, r.Metric, strings.Join(GridMetrics, ", "))
		}
		out = append(out, r)
	}
	return out, nil
}

// runKey identifies a run of a grid.
type runKey struct {
	Setting
	CRec float64
	Seed uint64
}

// AnalyzeGrid groups the runs by (model, dataset, mode, tap, c_rec, seed) and computes
// the summary cells, the paired comparisons of the best c_rec against c_rec = 0 and the
// mean accuracy curves. Missing seeds, unpaired and duplicate runs are listed in Issues.
func AnalyzeGrid(runs []Run, opt GridOptions) (*GridSummary, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("analyze grid: no runs")
	}
	if err := opt.Validate(); err != nil {
		return nil, fmt.Errorf("analyze grid: %w", err)
	}
	if opt.Resamples == 0 {
		opt.Resamples = 20000
	}
	if opt.Level == 0 {
		opt.Level = 0.95
	}
	if opt.Alpha == 0 {
		opt.Alpha = 0.05
	}
	s := &GridSummary{Source: opt.Source, Runs: len(runs), Resamples: opt.Resamples, Level: opt.Level, Seed: opt.Seed, Alpha: opt.Alpha,
		Gaps: opt.Gaps, GapsSource: opt.GapsSource}
	scale, err := accScale(runs, opt.Unit)
	if err != nil {
		return nil, err
	}
	s.Unit = "percent"
	if scale == 100 {
		s.Unit = "fraction"
	}

	// Deduplicate and group.
	groups := map[Setting]map[float64][]Run{}
	seen := map[runKey]int{}
	noAcc := map[Setting]int{}
	for _, r := range runs {
		if r.Mode == "" {
			r.Mode = "coupled"
		}
		set := Setting{r.Model, r.Dataset, r.Mode, r.Tap}
		k := runKey{set, r.CRec, r.Seed}
		seen[k]++
		if seen[k] > 1 {
			continue
		}
		if bad := nonFinite(r); bad {
			s.Issues = append(s.Issues, fmt.Sprintf("%s c_rec %s seed %d: non-finite accuracy; run not used", set, fmtC(r.CRec), r.Seed))
			continue
		}
		if len(r.TestAcc) == 0 {
			noAcc[set]++
		}
		if groups[set] == nil {
			groups[set] = map[float64][]Run{}
		}
		groups[set][r.CRec] = append(groups[set][r.CRec], r)
	}
	for _, k := range sortedKeys(seen, func(a, b runKey) bool {
		if a.Setting != b.Setting {
			return settingLess(a.Setting, b.Setting)
		}
		if a.CRec != b.CRec {
			return a.CRec < b.CRec
		}
		return a.Seed < b.Seed
	}) {
		if n := seen[k]; n > 1 {
			s.Issues = append(s.Issues, fmt.Sprintf("%s c_rec %s seed %d: %d copies in the results; the first is used", k.Setting, fmtC(k.CRec), k.Seed, n))
		}
	}
	for _, set := range sortedKeys(noAcc, settingLess) {
		s.Issues = append(s.Issues, fmt.Sprintf("%s: %d runs have no per-epoch test_acc; best and mean come from their summary fields, e1/e5/e10 are missing", set, noAcc[set]))
	}

	// Decoupled (and any non-coupled) grids cannot run c_rec = 0: borrow the coupled
	// baseline of the same model, dataset and tap.
	borrowed := map[Setting]string{}
	for _, set := range sortedKeys(groups, settingLess) {
		g := groups[set]
		if _, ok := g[0]; ok || set.Mode == "coupled" {
			continue
		}
		src := set
		src.Mode = "coupled"
		if base, ok := groups[src][0]; ok {
			g[0] = base
			borrowed[set] = src.Mode
			s.Notes = append(s.Notes, fmt.Sprintf("%s: the c_rec = 0 baseline is the coupled c_rec = 0 run of the same tap (%d seeds)", set, len(base)))
		}
	}

	settings := sortedKeys(groups, settingLess)
	exps := map[Setting]*Experiment{}
	var expOrder []Setting
	for _, set := range settings {
		e := set.Experiment()
		if exps[e] == nil {
			exps[e] = &Experiment{Setting: e, Config: map[string]string{}}
			expOrder = append(expOrder, e)
		}
	}
	for _, e := range expOrder {
		x := exps[e]
		cfg := map[string]map[string]bool{}
		add := func(k, v string) {
			if cfg[k] == nil {
				cfg[k] = map[string]bool{}
			}
			cfg[k][v] = true
		}
		seeds := map[uint64]bool{}
		crecs := map[float64]bool{}
		metrics := map[string]bool{}
		maxEpochs := 0
		for _, set := range settings {
			if set.Experiment() != e {
				continue
			}
			x.Taps = append(x.Taps, set.Tap)
			for c, rs := range groups[set] {
				crecs[c] = true
				for _, r := range rs {
					seeds[r.Seed] = true
					maxEpochs = max(maxEpochs, len(r.TestAcc))
					for _, m := range GridMetrics {
						if _, ok := runMetric(r, m, scale); ok {
							metrics[m] = true
						}
					}
					if borrowed[set] != "" && c == 0 {
						continue // the borrowed baseline's own configuration is checked in its experiment
					}
					x.Runs++
					add("epochs", strconv.Itoa(r.Epochs))
					add("batch", strconv.Itoa(r.Batch))
					add("lr", fmtC(r.LR))
					add("weight_decay", fmtC(r.WD))
					add("weights", r.Weights)
					if r.WeightsSHA256 != "" {
						add("weights_sha256", r.WeightsSHA256)
					}
				}
			}
		}
		for _, k := range sortedKeys(cfg, func(a, b string) bool { return a < b }) {
			vals := sortedKeys(cfg[k], func(a, b string) bool { return a < b })
			x.Config[k] = strings.Join(vals, ", ")
			if len(vals) > 1 {
				s.Issues = append(s.Issues, fmt.Sprintf("%s: mixed %s in the runs (%s); the runs are compared anyway", e, k, strings.Join(vals, ", ")))
			}
		}
		x.Seeds = sortedKeys(seeds, func(a, b uint64) bool { return a < b })
		x.CRecs = sortedKeys(crecs, func(a, b float64) bool { return a < b })
		for _, m := range GridMetrics {
			if metrics[m] {
				x.Metrics = append(x.Metrics, m)
			} else {
				s.Notes = append(s.Notes, fmt.Sprintf("%s: metric %s is not available (runs have at most %d epochs)", e, m, maxEpochs))
			}
		}
		sort.Slice(x.Taps, func(i, j int) bool { return tapLess(x.Taps[i], x.Taps[j]) })
		s.Experiments = append(s.Experiments, *x)
	}

	for _, e := range s.Experiments {
		taps := e.Taps
		for _, tap := range taps {
			set := e.Setting
			set.Tap = tap
			g := groups[set]
			crecs := sortedKeys(g, func(a, b float64) bool { return a < b })
			for _, c := range crecs {
				sort.Slice(g[c], func(i, j int) bool { return g[c][i].Seed < g[c][j].Seed })
			}
			s.Issues = append(s.Issues, missingSeeds(set, g, crecs)...)
			if _, ok := g[0]; !ok {
				s.Issues = append(s.Issues, fmt.Sprintf("%s: no c_rec = 0 runs; no paired comparison", set))
			} else if len(crecs) == 1 {
				s.Issues = append(s.Issues, fmt.Sprintf("%s: only c_rec = 0 runs; no paired comparison", set))
			}
			for _, m := range e.Metrics {
				cells := map[float64]Cell{}
				for _, c := range crecs {
					cell := Cell{Setting: set, Metric: m, CRec: c}
					var vals []float64
					for _, r := range g[c] {
						if v, ok := runMetric(r, m, scale); ok {
							vals = append(vals, v)
							cell.Seeds = append(cell.Seeds, r.Seed)
						}
					}
					if len(vals) == 0 {
						continue
					}
					cell.N = len(vals)
					cell.Mean, cell.Std = stat.MeanStdDev(vals, nil)
					if cell.N < 2 {
						cell.Std = math.NaN()
					}
					cell.Min, cell.Max = slices.Min(vals), slices.Max(vals)
					cells[c] = cell
					s.Cells = append(s.Cells, cell)
				}
				if cmp, ok := compare(set, m, g, cells, scale, opt); ok {
					cmp.BaselineFrom = borrowed[set]
					if cmp.Note != "" {
						s.Issues = append(s.Issues, fmt.Sprintf("%s metric %s: %s", set, m, cmp.Note))
					}
					s.Comparisons = append(s.Comparisons, cmp)
				}
			}
			for _, c := range crecs {
				s.Curves = append(s.Curves, curve(set, c, g[c], scale))
			}
		}
	}
	matchReferences(s, opt.References)
	return s, nil
}

// compare builds the paired comparison of one setting and metric, if there is a baseline
// and at least one c_rec > 0.
func compare(set Setting, m string, g map[float64][]Run, cells map[float64]Cell, scale float64, opt GridOptions) (Comparison, bool) {
	base, ok := cells[0]
	if !ok {
		return Comparison{}, false
	}
	best, found := Cell{}, false
	for _, c := range sortedKeys(cells, func(a, b float64) bool { return a < b }) {
		if c == 0 {
			continue
		}
		if !found || cells[c].Mean > best.Mean {
			best, found = cells[c], true
		}
	}
	if !found {
		return Comparison{}, false
	}
	cmp := Comparison{Setting: set, Metric: m, BestCRec: best.CRec, BestMean: best.Mean, BaselineMean: base.Mean,
		BaselineBest: base.Mean > best.Mean, Level: opt.Level, BootSeed: opt.Seed}
	bv, av := map[uint64]float64{}, map[uint64]float64{}
	for _, r := range g[0] {
		if v, ok := runMetric(r, m, scale); ok {
			bv[r.Seed] = v
		}
	}
	for _, r := range g[best.CRec] {
		if v, ok := runMetric(r, m, scale); ok {
			av[r.Seed] = v
		}
	}
	var a, b []float64
	for _, sd := range sortedKeys(av, func(x, y uint64) bool { return x < y }) {
		if v, ok := bv[sd]; ok {
			a, b = append(a, av[sd]), append(b, v)
			cmp.Seeds = append(cmp.Seeds, sd)
		} else {
			cmp.Unpaired = append(cmp.Unpaired, sd)
		}
	}
	for sd := range bv {
		if _, ok := av[sd]; !ok {
			cmp.Unpaired = append(cmp.Unpaired, sd)
		}
	}
	slices.Sort(cmp.Unpaired)
	p, err := stats.Compare(a, b, opt.Resamples, opt.Level, opt.Seed)
	if err != nil {
		nan := math.NaN()
		p = stats.Paired{N: len(a), MeanDiff: nan, SDDiff: nan, T: nan, PT: nan, W: nan, PW: nan, CohenDz: nan,
			CILow: nan, CIHigh: nan, PPermute: nan, Bootstrap: opt.Resamples}
		if len(a) == 1 {
			p.MeanDiff = a[0] - b[0]
		}
		cmp.Note = fmt.Sprintf("only %d seed pairs for c_rec %s vs 0; no test", len(a), fmtC(best.CRec))
	}
	cmp.Paired = p
	return cmp, true
}

// missingSeeds lists, for each c_rec of a setting, the seeds other c_rec values have.
func missingSeeds(set Setting, g map[float64][]Run, crecs []float64) []string {
	all := map[uint64]bool{}
	for _, rs := range g {
		for _, r := range rs {
			all[r.Seed] = true
		}
	}
	var out []string
	for _, c := range crecs {
		have := map[uint64]bool{}
		for _, r := range g[c] {
			have[r.Seed] = true
		}
		var miss []uint64
		for sd := range all {
			if !have[sd] {
				miss = append(miss, sd)
			}
		}
		if len(miss) > 0 {
			slices.Sort(miss)
			out = append(out, fmt.Sprintf("%s: c_rec %s is missing seeds %s (present for other c_rec); those seeds are unpaired", set, fmtC(c), fmtSeeds(miss)))
		}
	}
	return out
}

// curve averages the per-epoch accuracy over the runs that reached each epoch.
func curve(set Setting, c float64, rs []Run, scale float64) Curve {
	cv := Curve{Setting: set, CRec: c}
	for _, r := range rs {
		for i, a := range r.TestAcc {
			for len(cv.Mean) <= i {
				cv.Mean, cv.N = append(cv.Mean, 0), append(cv.N, 0)
			}
			cv.Mean[i] += a * scale
			cv.N[i]++
		}
	}
	for i := range cv.Mean {
		cv.Mean[i] /= float64(cv.N[i])
	}
	return cv
}

// matchReferences attaches each reference to the comparisons it names.
func matchReferences(s *GridSummary, refs []Reference) {
	for _, ref := range refs {
		hit := false
		for i := range s.Comparisons {
			c := &s.Comparisons[i]
			coupled := c.Mode == "coupled" && (strings.EqualFold(ref.Model, c.Model) || strings.EqualFold(ref.Model, c.Model+"/"+c.Dataset))
			model := coupled || strings.EqualFold(ref.Model, c.Model+"/"+c.Dataset+"/"+c.Mode)
			if model && strings.EqualFold(ref.Tap, c.Tap) && ref.Metric == c.Metric {
				c.References = append(c.References, ref)
				hit = true
			}
		}
		if !hit {
			s.UnmatchedReferences = append(s.UnmatchedReferences, ref)
		}
	}
}

// accScale is 100 for fractions and 1 for percentages.
func accScale(runs []Run, unit string) (float64, error) {
	switch unit {
	case "fraction":
		return 100, nil
	case "percent":
		return 1, nil
	case "", "auto":
	default:
		return 0, fmt.Errorf("analyze grid: unit %q: want fraction, percent or auto", unit)
	}
	hi := 0.0
	for _, r := range runs {
		for _, v := range append([]float64{r.Best, r.Mean}, r.TestAcc...) {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				hi = max(hi, v)
			}
		}
	}
	if hi <= 1 {
		return 100, nil
	}
	return 1, nil
}

func nonFinite(r Run) bool {
	for _, v := range append([]float64{r.Best, r.Mean}, r.TestAcc...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return true
		}
	}
	return false
}

// runMetric is one metric of one run, in percent.
func runMetric(r Run, m string, scale float64) (float64, bool) {
	acc := r.TestAcc
	switch m {
	case "best":
		if len(acc) == 0 {
			return r.Best * scale, true
		}
		return slices.Max(acc) * scale, true
	case "mean":
		if len(acc) == 0 {
			return r.Mean * scale, true
		}
		sum := 0.0
		for _, a := range acc {
			sum += a
		}
		return sum / float64(len(acc)) * scale, true
	}
	if k, err := strconv.Atoi(strings.TrimPrefix(m, "e")); err == nil && strings.HasPrefix(m, "e") && k >= 1 && k <= len(acc) {
		return acc[k-1] * scale, true
	}
	return 0, false
}

// tapLess orders "out" first, then zK … z0 (deepest first, as in the spec's tables).
func tapLess(a, b string) bool {
	if a == "out" || b == "out" {
		return a == "out" && b != "out"
	}
	na, ea := strconv.Atoi(strings.TrimPrefix(a, "z"))
	nb, eb := strconv.Atoi(strings.TrimPrefix(b, "z"))
	if ea == nil && eb == nil && strings.HasPrefix(a, "z") && strings.HasPrefix(b, "z") {
		return na > nb
	}
	return a < b
}

func settingLess(a, b Setting) bool {
	if a.Model != b.Model {
		return a.Model < b.Model
	}
	if a.Dataset != b.Dataset {
		return a.Dataset < b.Dataset
	}
	if a.Mode != b.Mode {
		return a.Mode < b.Mode
	}
	if a.Tap != b.Tap {
		return tapLess(a.Tap, b.Tap)
	}
	return false
}

func sortedKeys[K comparable, V any](m map[K]V, less func(a, b K) bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out
}

// fmtC formats a c_rec (or any setting value) with as few digits as needed.
func fmtC(c float64) string { return strconv.FormatFloat(c, 'g', -1, 64) }

// fmtSeeds compresses sorted seeds into ranges: "0-3, 5, 7-9".
func fmtSeeds(seeds []uint64) string {
	var parts []string
	for i := 0; i < len(seeds); {
		j := i
		for j+1 < len(seeds) && seeds[j+1] == seeds[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", seeds[i], seeds[j]))
		} else {
			parts = append(parts, strconv.FormatUint(seeds[i], 10))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// ---------------------------------------------------------------------------------------
// Output files.

// GridReport analyzes the runs and writes the report into dir (see WriteGrid).
func GridReport(dir string, runs []Run, opt GridOptions) (*GridSummary, []string, error) {
	s, err := AnalyzeGrid(runs, opt)
	if err != nil {
		return nil, nil, err
	}
	files, err := WriteGrid(dir, s)
	return s, files, err
}

// WriteGrid writes the report of a summary into dir: report.md and report.html (one
// page.Doc in its two forms), summary.csv, paired.csv, summary.json and the PNG plots under
// plots/ (one accuracy-per-epoch plot per setting, one Δ plot per experiment). Every file
// is written atomically (a temporary file in the same folder, then a rename); report.md is
// written last. It returns the paths written.
func WriteGrid(dir string, s *GridSummary) ([]string, error) {
	_, files, err := WriteGridDoc(dir, s)
	return files, err
}

// WriteGridDoc is WriteGrid that also returns the report's Doc (for a page that embeds
// it, such as the demo's).
func WriteGridDoc(dir string, s *GridSummary) (*page.Doc, []string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "plots"), 0o755); err != nil {
		return nil, nil, fmt.Errorf("grid report: %w", err)
	}
	var files []string
	plots := map[string]string{} // key → path relative to dir
	for _, e := range s.Experiments {
		for _, tap := range e.Taps {
			set := e.Setting
			set.Tap = tap
			var series []Series
			runs := 0
			for _, cv := range s.Curves {
				if cv.Setting != set || len(cv.Mean) == 0 {
					continue
				}
				x := make([]float64, len(cv.Mean))
				for i := range x {
					x[i] = float64(i + 1)
				}
				runs = max(runs, slices.Max(cv.N))
				series = append(series, Series{Name: "c_rec " + fmtC(cv.CRec), X: x, Y: cv.Mean})
			}
			if len(series) == 0 {
				continue
			}
			rel := filepath.ToSlash(filepath.Join("plots", "acc_"+fileSafe(set.Model, set.Dataset, set.Mode, set.Tap)+".png"))
			title := fmt.Sprintf("%s: test accuracy, mean over %d seeds", set.Title(), runs)
			if err := curvePlot(filepath.Join(dir, rel), title, series); err != nil {
				return nil, files, err
			}
			plots["acc "+set.String()] = rel
			files = append(files, filepath.Join(dir, rel))
		}
		rel := filepath.ToSlash(filepath.Join("plots", "delta_"+fileSafe(e.Model, e.Dataset, e.Mode)+".png"))
		ok, err := deltaPlot(filepath.Join(dir, rel), e, s)
		if err != nil {
			return nil, files, err
		}
		if ok {
			plots["delta "+e.String()] = rel
			files = append(files, filepath.Join(dir, rel))
		}
	}
	doc := s.Doc(plots)
	for _, f := range []struct {
		name string
		gen  func() ([]byte, error)
	}{
		{"summary.csv", s.summaryCSV},
		{"paired.csv", s.pairedCSV},
		{"summary.json", func() ([]byte, error) {
			b, err := json.MarshalIndent(s, "", "  ")
			return append(b, '\n'), err
		}},
		{"report.html", doc.HTML},
		{"report.md", func() ([]byte, error) { return []byte(doc.Markdown()), nil }},
	} {
		path := filepath.Join(dir, f.name)
		b, err := f.gen()
		if err != nil {
			return nil, files, fmt.Errorf("grid report %s: %w", path, err)
		}
		if err := writeFileAtomic(path, b); err != nil {
			return nil, files, err
		}
		files = append(files, path)
	}
	return doc, files, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileSafe(parts ...string) string {
	for i, p := range parts {
		parts[i] = unsafeName.ReplaceAllString(p, "-")
	}
	return strings.Join(parts, "_")
}

// writeFileAtomic writes data through a temporary file in the same folder and a rename.
func writeFileAtomic(path string, data []byte) error { return atomicfile.WriteBytes(path, data) }

// errPoints is a point series with asymmetric vertical error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// deltaPlot draws Δ (best c_rec − baseline) per tap with the bootstrap CI as error bars,
// one series per metric. It reports false when there is nothing to draw.
func deltaPlot(path string, e Experiment, s *GridSummary) (bool, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: best c_rec − c_rec 0 (%g%% bootstrap CI)", e.Title(), 100*s.Level)
	p.X.Label.Text = "tap"
	p.Y.Label.Text = "Δ test accuracy (pp)"
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	zero := plotter.NewFunction(func(float64) float64 { return 0 })
	zero.Color = paletteColor(6)
	zero.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	p.Add(zero)
	tapIdx := map[string]int{}
	for i, t := range e.Taps {
		tapIdx[t] = i
	}
	drawn := false
	for mi, m := range e.Metrics {
		off := (float64(mi) - float64(len(e.Metrics)-1)/2) * 0.12
		var pts plotter.XYs
		var errs plotter.YErrors
		for _, c := range s.Comparisons {
			if c.Experiment() != e.Setting || c.Metric != m || !finite(c.MeanDiff) {
				continue
			}
			x := float64(tapIdx[c.Tap]) + off
			pts = append(pts, plotter.XY{X: x, Y: c.MeanDiff})
			lo, hi := 0.0, 0.0
			if finite(c.CILow) && finite(c.CIHigh) {
				lo, hi = c.MeanDiff-c.CILow, c.CIHigh-c.MeanDiff
			}
			errs = append(errs, struct{ Low, High float64 }{lo, hi})
		}
		if len(pts) == 0 {
			continue
		}
		drawn = true
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return false, fmt.Errorf("plot %s: %w", path, err)
		}
		sc.Color = paletteColor(mi)
		sc.Shape = draw.CircleGlyph{}
		sc.Radius = vg.Points(2.5)
		eb, err := plotter.NewYErrorBars(errPoints{pts, errs})
		if err != nil {
			return false, fmt.Errorf("plot %s: %w", path, err)
		}
		eb.Color = paletteColor(mi)
		p.Add(eb, sc)
		p.Legend.Add(m, sc)
	}
	if !drawn {
		return false, nil
	}
	p.NominalX(e.Taps...)
	p.X.Min, p.X.Max = -0.5, float64(len(e.Taps))-0.5
	headroom(p, len(e.Metrics))
	w := vg.Length(max(6, 1+0.6*float64(len(e.Taps)))) * vg.Inch
	return true, savePNG(p, path, w, 4*vg.Inch)
}

// curvePlot is LinePlot with room above the lines for the legend.
func curvePlot(path, title string, series []Series) error {
	p, err := linePlot(path, title, "epoch", "test accuracy (%)", series)
	if err != nil {
		return err
	}
	headroom(p, len(series))
	return savePNG(p, path, 6*vg.Inch, 4*vg.Inch)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// num formats a float for CSV with full precision (NaN and ±Inf as strconv spells them).
func num(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func seedList(seeds []uint64) string {
	parts := make([]string, len(seeds))
	for i, s := range seeds {
		parts[i] = strconv.FormatUint(s, 10)
	}
	return strings.Join(parts, " ")
}

func (s *GridSummary) summaryCSV() ([]byte, error) {
	rows := [][]string{{"model", "dataset", "mode", "tap", "metric", "c_rec", "n", "mean_pct", "std_pct", "min_pct", "max_pct", "seeds"}}
	for _, c := range s.Cells {
		rows = append(rows, []string{c.Model, c.Dataset, c.Mode, c.Tap, c.Metric, num(c.CRec), strconv.Itoa(c.N),
			num(c.Mean), num(c.Std), num(c.Min), num(c.Max), seedList(c.Seeds)})
	}
	return csvBytes(rows)
}

func (s *GridSummary) pairedCSV() ([]byte, error) {
	rows := [][]string{{"model", "dataset", "mode", "tap", "metric", "best_c_rec", "baseline_c_rec", "baseline_best",
		"n_pairs", "best_mean_pct", "baseline_mean_pct", "delta_pp", "sd_delta_pp", "t", "p_t", "wilcoxon_w", "p_wilcoxon",
		"cohen_dz", "ci_low_pp", "ci_high_pp", "ci_level", "bootstrap_resamples", "bootstrap_seed", "p_permutation",
		"paired_seeds", "unpaired_seeds", "baseline_from", "reference", "reference_source"}}
	for _, c := range s.Comparisons {
		var rv, rs []string
		for _, r := range c.References {
			rv, rs = append(rv, r.Value), append(rs, r.Source)
		}
		rows = append(rows, []string{c.Model, c.Dataset, c.Mode, c.Tap, c.Metric, num(c.BestCRec), "0", strconv.FormatBool(c.BaselineBest),
			strconv.Itoa(c.N), num(c.BestMean), num(c.BaselineMean), num(c.MeanDiff), num(c.SDDiff), num(c.T), num(c.PT),
			num(c.W), num(c.PW), num(c.CohenDz), num(c.CILow), num(c.CIHigh), num(c.Level), strconv.Itoa(c.Bootstrap),
			strconv.FormatUint(c.BootSeed, 10), num(c.PPermute), seedList(c.Seeds), seedList(c.Unpaired), c.BaselineFrom,
			strings.Join(rv, "; "), strings.Join(rs, "; ")})
	}
	return csvBytes(rows)
}

// jnum is stats.Num: NaN and ±Inf as JSON null.
type jnum = stats.Num

// MarshalJSON writes the cell with null for an undefined std (one seed).
func (c Cell) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Setting
		Metric string   `json:"metric"`
		CRec   float64  `json:"c_rec"`
		N      int      `json:"n"`
		Mean   jnum     `json:"mean"`
		Std    jnum     `json:"std"`
		Min    jnum     `json:"min"`
		Max    jnum     `json:"max"`
		Seeds  []uint64 `json:"seeds"`
	}{c.Setting, c.Metric, c.CRec, c.N, jnum(c.Mean), jnum(c.Std), jnum(c.Min), jnum(c.Max), c.Seeds})
}

// MarshalJSON writes the comparison with null for undefined statistics (too few pairs,
// zero variance, no exact permutation test above 20 pairs).
func (c Comparison) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Setting
		Metric       string      `json:"metric"`
		BestCRec     float64     `json:"best_c_rec"`
		BestMean     jnum        `json:"best_mean"`
		BaselineMean jnum        `json:"baseline_mean"`
		BaselineBest bool        `json:"baseline_best"`
		BaselineFrom string      `json:"baseline_from,omitempty"`
		N            int         `json:"n"`
		MeanDiff     jnum        `json:"mean_diff"`
		SDDiff       jnum        `json:"sd_diff"`
		T            jnum        `json:"t"`
		PT           jnum        `json:"p_t"`
		W            jnum        `json:"wilcoxon_w"`
		PW           jnum        `json:"p_wilcoxon"`
		CohenDz      jnum        `json:"cohen_dz"`
		CILow        jnum        `json:"ci_low"`
		CIHigh       jnum        `json:"ci_high"`
		Level        float64     `json:"ci_level"`
		Bootstrap    int         `json:"bootstrap_resamples"`
		BootSeed     uint64      `json:"bootstrap_seed"`
		PPermute     jnum        `json:"p_permutation"`
		Seeds        []uint64    `json:"paired_seeds"`
		Unpaired     []uint64    `json:"unpaired_seeds"`
		Note         string      `json:"note,omitempty"`
		References   []Reference `json:"references,omitempty"`
	}{c.Setting, c.Metric, c.BestCRec, jnum(c.BestMean), jnum(c.BaselineMean), c.BaselineBest, c.BaselineFrom, c.N,
		jnum(c.MeanDiff), jnum(c.SDDiff), jnum(c.T), jnum(c.PT), jnum(c.W), jnum(c.PW), jnum(c.CohenDz), jnum(c.CILow),
		jnum(c.CIHigh), c.Level, c.Bootstrap, c.BootSeed, jnum(c.PPermute), c.Seeds, c.Unpaired, c.Note, c.References})
}

// ---------------------------------------------------------------------------------------
// Text and Markdown.

func fmtMeanStd(c Cell) string {
	if !finite(c.Std) {
		return fmt.Sprintf("%.2f", c.Mean)
	}
	return fmt.Sprintf("%.2f ± %.2f", c.Mean, c.Std)
}

func fmtP(p float64) string {
	switch {
	case !finite(p):
		return "–"
	case p < 1e-3:
		return fmt.Sprintf("%.1e", p)
	}
	return fmt.Sprintf("%.3f", p)
}

func fmtF(x float64, prec int) string {
	if !finite(x) {
		return "–"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

// fmtDelta is the compact cell of the spec's §5 tables: "+0.48 (0.3)", or "(base) +0.17
// (0.02)" when c_rec = 0 beats the best c_rec > 0 (the margin of the baseline over it),
// with "ns" when the one-sided t-test (in the winner's favour) is not significant.
func fmtDelta(c Comparison, alpha float64) string {
	if !finite(c.MeanDiff) {
		return "–"
	}
	var out string
	if c.BaselineBest {
		out = fmt.Sprintf("(base) %s (%s)", signed(-c.MeanDiff), fmtC(c.BestCRec))
	} else {
		out = fmt.Sprintf("%s (%s)", signed(c.MeanDiff), fmtC(c.BestCRec))
	}
	if c.N < 2 {
		return out + " n<2"
	}
	if !c.Significant(alpha) {
		out += " ns"
	}
	return out
}

// cellsOf returns the cells of one setting and metric by c_rec.
func (s *GridSummary) cellsOf(set Setting, m string) map[float64]Cell {
	out := map[float64]Cell{}
	for _, c := range s.Cells {
		if c.Setting == set && c.Metric == m {
			out[c.CRec] = c
		}
	}
	return out
}

func (s *GridSummary) comparison(set Setting, m string) (Comparison, bool) {
	for _, c := range s.Comparisons {
		if c.Setting == set && c.Metric == m {
			return c, true
		}
	}
	return Comparison{}, false
}

// summaryRows is the spec §9.1 layout of one experiment and metric: a row per tap, a
// column per c_rec, mean ± std over seeds; the highest mean of a row is starred (text)
// or bold (Markdown). A cell with fewer seeds than the experiment shows its n.
func (s *GridSummary) summaryRows(e Experiment, m string, markdown bool) (header []string, rows [][]string) {
	header = []string{"tap"}
	for _, c := range e.CRecs {
		header = append(header, "c_rec "+fmtC(c))
	}
	for _, tap := range e.Taps {
		set := e.Setting
		set.Tap = tap
		cells := s.cellsOf(set, m)
		best := math.Inf(-1)
		for _, c := range cells {
			best = max(best, c.Mean)
		}
		row := []string{tap}
		for _, c := range e.CRecs {
			cell, ok := cells[c]
			if !ok {
				row = append(row, "–")
				continue
			}
			txt := fmtMeanStd(cell)
			if cell.Mean == best && len(cells) > 1 {
				if markdown {
					txt = "**" + txt + "**"
				} else {
					txt += " *"
				}
			}
			if cell.N != len(e.Seeds) {
				txt += fmt.Sprintf(" (n=%d)", cell.N)
			}
			row = append(row, txt)
		}
		rows = append(rows, row)
	}
	return header, rows
}

// compactRows is the spec §5.1 layout: a row per tap, a column per metric, Δ (c_rec).
func (s *GridSummary) compactRows(e Experiment) (header []string, rows [][]string) {
	header = append([]string{"tap"}, e.Metrics...)
	for _, tap := range e.Taps {
		set := e.Setting
		set.Tap = tap
		row := []string{tap}
		for _, m := range e.Metrics {
			if c, ok := s.comparison(set, m); ok {
				row = append(row, fmtDelta(c, s.Alpha))
			} else {
				row = append(row, "–")
			}
		}
		rows = append(rows, row)
	}
	return header, rows
}

// Text renders the summary tables and the Δ table of every experiment as aligned plain
// text, for a terminal.
func (s *GridSummary) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d runs", s.Runs)
	if s.Source != "" {
		fmt.Fprintf(&b, " from %s", s.Source)
	}
	b.WriteString("; accuracies in %, mean ± std over seeds (ddof 1); * = best c_rec of the row\n")
	table := func(header []string, rows [][]string) {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  "+strings.Join(header, "\t"))
		for _, r := range rows {
			fmt.Fprintln(tw, "  "+strings.Join(r, "\t"))
		}
		tw.Flush()
	}
	for _, e := range s.Experiments {
		fmt.Fprintf(&b, "\n== %s: %d runs, seeds %s\n", e.Title(), e.Runs, fmtSeeds(e.Seeds))
		for _, m := range e.Metrics {
			fmt.Fprintf(&b, "\n%s:\n", m)
			table(s.summaryRows(e, m, false))
		}
		if s.hasComparisons(e) {
			fmt.Fprintf(&b, "\nΔ = best c_rec − c_rec 0 (pp, paired by seed; ns: one-sided t-test p > %g; (base): c_rec 0 is best):\n", s.Alpha)
			table(s.compactRows(e))
		}
	}
	if len(s.Issues) > 0 {
		fmt.Fprintf(&b, "\nissues (%d):\n", len(s.Issues))
		for _, is := range s.Issues {
			b.WriteString("  - " + is + "\n")
		}
	}
	return b.String()
}

func (s *GridSummary) hasComparisons(e Experiment) bool {
	for _, c := range s.Comparisons {
		if c.Experiment() == e.Setting {
			return true
		}
	}
	return false
}

// Doc builds the report (report.md and report.html are its two forms); plots maps
// "acc <setting>" and "delta <experiment>" to the PNG paths relative to the report.
func (s *GridSummary) Doc(plots map[string]string) *page.Doc {
	d := &page.Doc{Title: "FR-PT post-training grid report"}
	src := "the results"
	if s.Source != "" {
		src = "`" + s.Source + "`"
	}
	unit := "fractions, shown here as %"
	if s.Unit == "percent" {
		unit = "percent"
	}
	d.P("%d runs from %s (accuracies in the file are %s). Bootstrap: %d resamples, seed %d, %g%% percentile interval. "+
		"Data: [summary.csv](summary.csv), [paired.csv](paired.csv), [summary.json](summary.json).", s.Runs, src, unit, s.Resamples, s.Seed, 100*s.Level)
	d.H(2, "How to read this report")
	d.P("Every run post-trains the same pretrained weights at one tap (the layer l_R whose reconstructed "+
		"target is used) with one reconstruction/CE ratio c_rec and one seed; c_rec = 0 is the matched baseline (the "+
		"same layers fine-tuned with cross-entropy only). Metrics per run: **best** = highest test accuracy over the "+
		"epochs, **e1/e5/e10** = test accuracy after that epoch, **mean** = average over the epochs. The summary tables "+
		"give mean ± std (ddof 1) over seeds, in %%, with the best c_rec of each row in bold and n shown when a cell "+
		"has fewer seeds than the experiment. The Δ tables pair runs by seed: Δ = (best c_rec > 0) − (c_rec = 0) in "+
		"percentage points, where the best c_rec is the one with the highest mean of that metric; \"(base) +x\" means "+
		"c_rec = 0 had the higher mean, by x; \"ns\" means the one-sided paired t-test gives p > %g. In the detail "+
		"tables p(t) and p(W) are one-sided for Δ > 0 (paired t-test, Wilcoxon signed-rank with normal approximation; "+
		"for the reverse direction use 1 − p), d_z = mean(Δ)/sd(Δ), and the CI is the bootstrap percentile interval "+
		"of mean Δ. The curves show test accuracy per epoch averaged over seeds; the Δ plot shows each metric's Δ per "+
		"tap with its CI as error bars (the dashed line is no effect).", s.Alpha)
	d.H(2, "Issues")
	if len(s.Issues) == 0 {
		d.P("None: every setting has the same seeds for every c_rec, and no run was unusable or duplicated.")
	} else {
		d.L(s.Issues...)
	}
	if len(s.Notes) > 0 {
		d.P("Notes:")
		d.L(s.Notes...)
	}
	if len(s.Gaps) > 0 {
		d.H(2, "Reconstruction gaps per tap")
		d.P("Relative gap ‖f − r‖/‖f‖ between the forward feature and its label-conditioned reconstruction over the %s "+
			"(from `%s`); a Tikhonov fallback is a reverse step whose well-posed solve was replaced by the regularised one.",
			"reconstructed samples", s.GapsSource)
		d.T(GapTable(s.Gaps))
	}
	for _, e := range s.Experiments {
		s.experimentDoc(d, e, plots)
	}
	if len(s.UnmatchedReferences) > 0 {
		d.H(2, "References without a matching result")
		var rows [][]string
		for _, r := range s.UnmatchedReferences {
			rows = append(rows, []string{r.Model, r.Tap, r.Metric, r.Value, r.Source})
		}
		d.T(&page.Table{Header: []string{"model", "tap", "metric", "value", "source"}, Rows: rows})
	}
	return d
}

// experimentDoc appends one experiment's section: its config, the paired comparison with
// its Δ plot, the accuracy tables and the per-epoch curves.
func (s *GridSummary) experimentDoc(d *page.Doc, e Experiment, plots map[string]string) {
	d.H(2, "%s", e.Title())
	parts := []string{fmt.Sprintf("%d runs", e.Runs), "taps " + strings.Join(e.Taps, ", "), "c_rec " + joinC(e.CRecs), "seeds " + fmtSeeds(e.Seeds)}
	for _, k := range sortedKeys(e.Config, func(a, b string) bool { return a < b }) {
		parts = append(parts, k+" "+e.Config[k])
	}
	d.P("%s.", strings.Join(parts, "; "))
	if s.hasComparisons(e) {
		d.H(3, "Paired comparison: best c_rec vs c_rec = 0")
		h, r := s.compactRows(e)
		d.T(&page.Table{Header: h, Rows: r})
		if rel, ok := plots["delta "+e.String()]; ok {
			d.Img(rel, "Δ per tap, "+e.Title())
		}
		h, r = s.detailRows(e)
		d.T(&page.Table{Header: h, Rows: r, Sortable: true})
	}
	d.H(3, "Accuracy (mean ± std over seeds, %%)")
	for _, m := range e.Metrics {
		d.P("**%s**", m)
		h, r := s.summaryRows(e, m, true)
		d.T(&page.Table{Header: h, Rows: r})
	}
	d.H(3, "Test accuracy per epoch")
	for _, tap := range e.Taps {
		set := e.Setting
		set.Tap = tap
		if rel, ok := plots["acc "+set.String()]; ok {
			d.Img(rel, set.Title())
		}
	}
}

// detailRows is one row per (tap, metric) with every statistic of the comparison.
func (s *GridSummary) detailRows(e Experiment) (header []string, rows [][]string) {
	hasRef := false
	for _, c := range s.Comparisons {
		if c.Experiment() == e.Setting && len(c.References) > 0 {
			hasRef = true
		}
	}
	header = []string{"tap", "metric", "best c_rec", "n", "c_rec 0 (%)", "best (%)", "Δ (pp)",
		fmt.Sprintf("%g%% CI", 100*s.Level), "p(t)", "p(W)", "d_z", "unpaired seeds"}
	if hasRef {
		header = append(header, "reference")
	}
	for _, tap := range e.Taps {
		set := e.Setting
		set.Tap = tap
		for _, m := range e.Metrics {
			c, ok := s.comparison(set, m)
			if !ok {
				continue
			}
			ci := "–"
			if finite(c.CILow) {
				ci = fmt.Sprintf("[%+.2f, %+.2f]", c.CILow, c.CIHigh)
			}
			base := fmtF(c.BaselineMean, 2)
			if c.BaselineFrom != "" {
				base += " (" + c.BaselineFrom + ")"
			}
			row := []string{tap, m, fmtC(c.BestCRec), strconv.Itoa(c.N), base, fmtF(c.BestMean, 2),
				signed(c.MeanDiff), ci, fmtP(c.PT), fmtP(c.PW), fmtF(c.CohenDz, 2), fmtSeeds(c.Unpaired)}
			if hasRef {
				var refs []string
				for _, r := range c.References {
					txt := r.Value
					if r.Source != "" {
						txt += " [" + r.Source + "]"
					}
					refs = append(refs, txt)
				}
				row = append(row, strings.Join(refs, "; "))
			}
			rows = append(rows, row)
		}
	}
	return header, rows
}

// signed formats a difference with its sign and two decimals ("+0.00", never "-0.00").
func signed(x float64) string {
	if !finite(x) {
		return "–"
	}
	x = math.Round(x*100) / 100
	if x == 0 {
		x = 0 // no negative zero
	}
	return fmt.Sprintf("%+.2f", x)
}

func joinC(cs []float64) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmtC(c)
	}
	return strings.Join(parts, ", ")
}
