package report

import (
	"encoding/csv"
	"encoding/json"
	"github.com/frpt/frpt/report/browsercheck"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// synth builds runs of one setting: the baseline of seed s follows a seed-specific
// level plus a shared epoch trend; shift(s) (fraction) is added to every epoch of
// c_rec c, plus noise of the given sd. Seeds in skip are left out.
func synth(model, mode, tap string, c float64, seeds int, shift func(s int) float64, sd float64, skip ...int) []Run {
	level := rand.New(rand.NewPCG(1, 2)) // same baseline levels for every c_rec
	noise := rand.New(rand.NewPCG(uint64(1000*c)+7, uint64(len(tap))))
	var out []Run
	for s := 0; s < seeds; s++ {
		a := 0.60 + 0.01*level.Float64()
		skipped := false
		for _, k := range skip {
			skipped = skipped || k == s
		}
		if skipped {
			continue
		}
		r := Run{Model: model, Dataset: "cifar10", Weights: "w.safetensors", Tap: tap, CRec: c, Seed: uint64(s),
			Epochs: 10, Batch: 256, LR: 5e-5, WD: 0.05, Mode: mode}
		for e := 1; e <= 10; e++ {
			acc := a + 0.002*math.Sin(float64(e)) + 0.0005*float64(e)
			if c != 0 {
				acc += shift(s) + sd*noise.NormFloat64()
			}
			r.TestAcc = append(r.TestAcc, acc)
		}
		for _, v := range r.TestAcc {
			r.Best = max(r.Best, v)
			r.Mean += v / 10
		}
		out = append(out, r)
	}
	return out
}

func constShift(d float64) func(int) float64 { return func(int) float64 { return d } }

// gridFixture: out has a clear +0.5 pp effect at c_rec 0.1 (+0.2 pp at 0.3); z2 has no
// effect (differences ±x, exactly symmetric); z1 is won by the baseline; z3 has missing
// seeds; a decoupled out tap borrows the coupled baseline.
func gridFixture() []Run {
	const m = "simplecnn-v2"
	var runs []Run
	runs = append(runs, synth(m, "coupled", "out", 0, 10, nil, 0)...)
	runs = append(runs, synth(m, "coupled", "out", 0.1, 10, constShift(0.005), 0.0003)...)
	runs = append(runs, synth(m, "coupled", "out", 0.3, 10, constShift(0.002), 0.0003)...)
	sym := func(s int) float64 { // +x, −x pairs: zero mean, zero median
		x := 0.001 * float64(s/2+1)
		if s%2 == 1 {
			x = -x
		}
		return x
	}
	runs = append(runs, synth(m, "coupled", "z2", 0, 10, nil, 0)...)
	runs = append(runs, synth(m, "coupled", "z2", 0.1, 10, sym, 0)...)
	runs = append(runs, synth(m, "coupled", "z1", 0, 10, nil, 0)...)
	runs = append(runs, synth(m, "coupled", "z1", 0.1, 10, constShift(-0.004), 0.0003)...)
	runs = append(runs, synth(m, "coupled", "z1", 0.3, 10, constShift(-0.006), 0.0003)...)
	runs = append(runs, synth(m, "coupled", "z3", 0, 10, nil, 0, 3)...)
	runs = append(runs, synth(m, "coupled", "z3", 0.1, 10, constShift(0.003), 0.0003, 7)...)
	runs = append(runs, synth(m, "decoupled", "out", 0.1, 10, constShift(0.003), 0.0003)...)
	runs = append(runs, runs[0]) // a duplicate
	return runs
}

func findCmp(t *testing.T, s *GridSummary, mode, tap, metric string) Comparison {
	t.Helper()
	for _, c := range s.Comparisons {
		if c.Mode == mode && c.Tap == tap && c.Metric == metric {
			return c
		}
	}
	t.Fatalf("no comparison for %s %s %s", mode, tap, metric)
	return Comparison{}
}

func TestAnalyzeGridKnownEffects(t *testing.T) {
	runs := gridFixture()
	s, err := AnalyzeGrid(runs, GridOptions{Resamples: 4000})
	if err != nil {
		t.Fatal(err)
	}
	if s.Unit != "fraction" {
		t.Errorf("unit %q, want fraction (PostTrain writes fractions)", s.Unit)
	}
	for _, m := range GridMetrics {
		c := findCmp(t, s, "coupled", "out", m)
		if c.BestCRec != 0.1 || c.BaselineBest {
			t.Errorf("out %s: best c_rec %g (baseline best %v), want 0.1", m, c.BestCRec, c.BaselineBest)
		}
		if c.N != 10 || math.Abs(c.MeanDiff-0.5) > 0.05 {
			t.Errorf("out %s: n %d Δ %.3f pp, want 10 pairs and ≈ 0.5", m, c.N, c.MeanDiff)
		}
		if c.PT > 1e-6 || c.PW > 0.01 || c.CohenDz < 5 {
			t.Errorf("out %s: p_t %g p_W %g d_z %g: want a clear effect", m, c.PT, c.PW, c.CohenDz)
		}
		if !(c.CILow > 0.4 && c.CILow < c.MeanDiff && c.MeanDiff < c.CIHigh && c.CIHigh < 0.6) {
			t.Errorf("out %s: CI [%g, %g] around %g", m, c.CILow, c.CIHigh, c.MeanDiff)
		}
		if !c.Significant(0.05) || len(c.Unpaired) != 0 {
			t.Errorf("out %s: significant %v unpaired %v", m, c.Significant(0.05), c.Unpaired)
		}

		z := findCmp(t, s, "coupled", "z2", m)
		// p(W) moves a little: rounding breaks the ties of |+x| and |−x|.
		if math.Abs(z.MeanDiff) > 1e-9 || math.Abs(z.PT-0.5) > 0.01 || math.Abs(z.PW-0.5) > 0.1 || math.Abs(z.CohenDz) > 1e-6 {
			t.Errorf("z2 %s (no effect): Δ %g p_t %g p_W %g d_z %g, want 0, 0.5, 0.5, 0", m, z.MeanDiff, z.PT, z.PW, z.CohenDz)
		}
		if !(z.CILow < 0 && z.CIHigh > 0) {
			t.Errorf("z2 %s: CI [%g, %g] should contain 0", m, z.CILow, z.CIHigh)
		}

		b := findCmp(t, s, "coupled", "z1", m)
		if !b.BaselineBest || b.BestCRec != 0.1 || math.Abs(b.MeanDiff+0.4) > 0.05 || b.PT < 0.999 {
			t.Errorf("z1 %s: baseline best %v, c_rec %g, Δ %g, p_t %g: want (base), 0.1, −0.4, p ≈ 1", m, b.BaselineBest, b.BestCRec, b.MeanDiff, b.PT)
		}
		if !b.Significant(0.05) { // significant in the baseline's favour
			t.Errorf("z1 %s: the baseline's win should be significant", m)
		}

		u := findCmp(t, s, "coupled", "z3", m)
		if u.N != 8 || len(u.Unpaired) != 2 || u.Unpaired[0] != 3 || u.Unpaired[1] != 7 {
			t.Errorf("z3 %s: n %d unpaired %v, want 8 pairs and seeds 3, 7 unpaired", m, u.N, u.Unpaired)
		}

		d := findCmp(t, s, "decoupled", "out", m)
		if d.BaselineFrom != "coupled" || d.N != 10 || math.Abs(d.MeanDiff-0.3) > 0.05 {
			t.Errorf("decoupled out %s: baseline from %q n %d Δ %g", m, d.BaselineFrom, d.N, d.MeanDiff)
		}
	}

	// mean ± std against a direct computation (best metric, out, c_rec 0.1).
	var vals []float64
	for _, r := range runs[10:20] {
		best := 0.0
		for _, a := range r.TestAcc {
			best = max(best, 100*a)
		}
		vals = append(vals, best)
	}
	mean := 0.0
	for _, v := range vals {
		mean += v / float64(len(vals))
	}
	ss := 0.0
	for _, v := range vals {
		ss += (v - mean) * (v - mean)
	}
	std := math.Sqrt(ss / float64(len(vals)-1))
	found := false
	for _, c := range s.Cells {
		if c.Mode == "coupled" && c.Tap == "out" && c.Metric == "best" && c.CRec == 0.1 {
			found = true
			if c.N != 10 || math.Abs(c.Mean-mean) > 1e-9 || math.Abs(c.Std-std) > 1e-9 {
				t.Errorf("cell %g ± %g (n %d), want %g ± %g", c.Mean, c.Std, c.N, mean, std)
			}
		}
		if c.Mode == "coupled" && c.Tap == "out" && c.Metric == "e5" && c.CRec == 0 {
			if v := 100 * runs[0].TestAcc[4]; c.Seeds[0] != 0 || c.N != 10 || v < c.Min || v > c.Max {
				t.Errorf("e5 cell seeds %v range [%g, %g], seed 0 has %g", c.Seeds, c.Min, c.Max, v)
			}
		}
	}
	if !found {
		t.Fatal("no summary cell for out c_rec 0.1 best")
	}

	joined := strings.Join(s.Issues, "\n")
	for _, want := range []string{"tap z3: c_rec 0 is missing seeds 3", "tap z3: c_rec 0.1 is missing seeds 7", "2 copies"} {
		if !strings.Contains(joined, want) {
			t.Errorf("issues lack %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "tap out: c_rec") {
		t.Errorf("complete settings reported as missing seeds:\n%s", joined)
	}
}

func TestAnalyzeGridPercentAndShortRuns(t *testing.T) {
	runs := synth("m", "coupled", "out", 0, 4, nil, 0)
	runs = append(runs, synth("m", "coupled", "out", 0.3, 4, constShift(0.01), 0.0003)...)
	for i := range runs {
		runs[i].TestAcc = runs[i].TestAcc[:3]
		for j := range runs[i].TestAcc {
			runs[i].TestAcc[j] *= 100
		}
	}
	s, err := AnalyzeGrid(runs, GridOptions{Resamples: 500})
	if err != nil {
		t.Fatal(err)
	}
	if s.Unit != "percent" {
		t.Errorf("unit %q, want percent", s.Unit)
	}
	if got := strings.Join(s.Experiments[0].Metrics, ","); got != "best,e1,mean" {
		t.Errorf("metrics %s, want best,e1,mean for 3-epoch runs", got)
	}
	c := findCmp(t, s, "coupled", "out", "e1")
	if math.Abs(c.MeanDiff-1) > 0.1 || c.BestCRec != 0.3 {
		t.Errorf("Δ e1 %g c_rec %g, want ≈ 1 pp at 0.3", c.MeanDiff, c.BestCRec)
	}
	if _, err := AnalyzeGrid(runs, GridOptions{Unit: "permille"}); err == nil {
		t.Error("unknown unit accepted")
	}
	if _, err := AnalyzeGrid(nil, GridOptions{}); err == nil {
		t.Error("no runs accepted")
	}
}

func TestGridReportFiles(t *testing.T) {
	dir := t.TempDir()
	refs := []Reference{
		{Model: "simplecnn-v2/cifar10", Tap: "out", Metric: "best", Value: "+0.48 (0.3)", Source: "paper §5.1"},
		{Model: "resnet18", Tap: "out", Metric: "best", Value: "+0.20 (0.3)", Source: "paper §5.1"},
	}
	s, files, err := GridReport(dir, gridFixture(), GridOptions{Source: "results.jsonl", Resamples: 2000, References: refs})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"report.md", "summary.csv", "paired.csv", "summary.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	imgs := regexp.MustCompile(`!\[[^\]]*\]\(([^)]+\.png)\)`).FindAllStringSubmatch(string(md), -1)
	// 4 coupled + 1 decoupled accuracy plots, 2 Δ plots.
	if len(imgs) != 7 {
		t.Errorf("report.md references %d PNGs, want 7", len(imgs))
	}
	for _, m := range imgs {
		f, err := os.Open(filepath.Join(dir, m[1]))
		if err != nil {
			t.Errorf("report.md references %s: %v", m[1], err)
			continue
		}
		if _, err := png.Decode(f); err != nil {
			t.Errorf("%s: %v", m[1], err)
		}
		f.Close()
	}
	for _, want := range []string{"How to read", "+0.50 (0.1)", "(base) +0.40 (0.1)", "+0.48 (0.3) [paper §5.1]",
		"References without a matching result", "c_rec 0 is missing seeds 3", "**best**"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if len(s.UnmatchedReferences) != 1 || s.UnmatchedReferences[0].Model != "resnet18" {
		t.Errorf("unmatched references %v", s.UnmatchedReferences)
	}

	rows := readCSV(t, filepath.Join(dir, "summary.csv"))
	if len(rows)-1 != len(s.Cells) || rows[0][7] != "mean_pct" {
		t.Fatalf("summary.csv: %d rows for %d cells, header %v", len(rows)-1, len(s.Cells), rows[0])
	}
	for i, r := range rows[1:] {
		if v, err := strconv.ParseFloat(r[7], 64); err != nil || v != s.Cells[i].Mean {
			t.Fatalf("summary.csv row %d mean %q, want %v", i+1, r[7], s.Cells[i].Mean)
		}
	}
	rows = readCSV(t, filepath.Join(dir, "paired.csv"))
	if len(rows)-1 != len(s.Comparisons) {
		t.Fatalf("paired.csv: %d rows for %d comparisons", len(rows)-1, len(s.Comparisons))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		if r[col["tap"]] == "out" && r[col["mode"]] == "coupled" && r[col["metric"]] == "best" {
			d, _ := strconv.ParseFloat(r[col["delta_pp"]], 64)
			p, _ := strconv.ParseFloat(r[col["p_t"]], 64)
			if r[col["best_c_rec"]] != "0.1" || math.Abs(d-0.5) > 0.05 || p > 1e-6 || r[col["reference"]] != "+0.48 (0.3)" {
				t.Errorf("paired.csv out/best row: %v", r)
			}
		}
		if r[col["tap"]] == "z3" && r[col["unpaired_seeds"]] != "3 7" {
			t.Errorf("paired.csv z3 unpaired %q", r[col["unpaired_seeds"]])
		}
	}

	var js map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	if n := len(js["paired"].([]any)); n != len(s.Comparisons) {
		t.Errorf("summary.json has %d comparisons, want %d", n, len(s.Comparisons))
	}
	entries, _ := os.ReadDir(dir)
	plots, _ := os.ReadDir(filepath.Join(dir, "plots"))
	for _, e := range append(entries, plots...) {
		if strings.Contains(e.Name(), "tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	if len(files) != 5+7 {
		t.Errorf("%d files written, want 12: %v", len(files), files)
	}
	if txt := s.Text(); !strings.Contains(txt, "+0.50 (0.1)") || !strings.Contains(txt, "issues (3):") {
		t.Errorf("text summary:\n%s", txt)
	}
	if testing.Verbose() {
		t.Logf("report.md:\n%s", md)
	}
	checkReportHTML(t, filepath.Join(dir, "report.html"), imgs, []string{"How to read", "+0.48 (0.3) [paper §5.1]", "<strong>best</strong>"})
}

// checkReportHTML checks that the page shows the same PNGs as report.md and the given
// fragments, then opens it in headless Chromium: no console error, every image decodes,
// nothing fetched outside its folder, and the sortable detail table sorts on a click.
func checkReportHTML(t *testing.T, path string, mdImgs [][]string, want []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, m := range mdImgs {
		if !strings.Contains(html, `src="`+m[1]+`"`) {
			t.Errorf("%s lacks the plot %s of report.md", path, m[1])
		}
	}
	for _, w := range want {
		if !strings.Contains(html, w) {
			t.Errorf("%s lacks %q", path, w)
		}
	}
	rep := browsercheck.Require(t, path, "table.sortable th:nth-child(7)")
	if rep.Images != len(mdImgs) {
		t.Errorf("%s shows %d images in Chromium, want %d", path, rep.Images, len(mdImgs))
	}
}

// TestGridReportGaps checks the per-tap gap table the report shows when the options carry
// a reconstruction's gap statistics.
func TestGridReportGaps(t *testing.T) {
	dir := t.TempDir()
	gaps := []TapGap{{Tap: "z1", Method: "conv-fft-square+maxpool+act", Mean: 0.78271, Median: 0.7039, P90: 1.0944, Max: 2.893, Fallbacks: 22616},
		{Tap: "out", Method: "identity", Mean: 0.0012}}
	s, _, err := GridReport(dir, gridFixture(), GridOptions{Resamples: 200, Gaps: gaps, GapsSource: "cache/reconstruct.json"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"report.md", "report.html"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Reconstruction gaps per tap", "cache/reconstruct.json", "0.7827", "22616", "conv-fft-square+maxpool+act", "0.0012"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
	if len(s.Gaps) != 2 {
		t.Errorf("summary holds %d gaps, want 2", len(s.Gaps))
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func TestReadRunsJSONL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.jsonl")
	runs := gridFixture()[:3]
	var lines []string
	for _, r := range runs {
		b, _ := json.Marshal(r)
		lines = append(lines, string(b))
	}
	os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n\n"), 0o644)
	got, err := ReadRunsJSONL(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Seed != runs[2].Seed || got[1].TestAcc[4] != runs[1].TestAcc[4] {
		t.Fatalf("read back %+v", got)
	}
	bad := append(lines[:2:2], `{"model": "m", "tap": `, lines[2])
	os.WriteFile(path, []byte(strings.Join(bad, "\n")), 0o644)
	if _, err := ReadRunsJSONL(path, nil); err == nil || !strings.Contains(err.Error(), path+":3:") {
		t.Errorf("malformed line 3: error %v should name %s:3", err, path)
	}
	os.WriteFile(path, []byte(lines[0]+"\n{\"seed\": 1}\n"), 0o644)
	if _, err := ReadRunsJSONL(path, nil); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("run without model: error %v", err)
	}
	os.WriteFile(path, nil, 0o644)
	if _, err := ReadRunsJSONL(path, nil); err == nil {
		t.Error("empty file accepted")
	}
	if _, err := ReadRunsJSONL(filepath.Join(dir, "nope.jsonl"), nil); err == nil {
		t.Error("missing file accepted")
	}
}

func TestReadReferenceCSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ref.csv")
	os.WriteFile(path, []byte("model,tap,metric,value,source\n# paper §5.1\nsimplecnn-v2,out,best,\"+0.48 (0.3)\",paper\nresnet18,z5,mean,+0.21\n"), 0o644)
	refs, err := ReadReferenceCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 2 || refs[0].Value != "+0.48 (0.3)" || refs[0].Source != "paper" || refs[1].Metric != "mean" || refs[1].Source != "" {
		t.Fatalf("references %+v", refs)
	}
	os.WriteFile(path, []byte("simplecnn-v2,out,best,+0.48\nm,out,top5,1\n"), 0o644)
	if _, err := ReadReferenceCSV(path); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("bad metric on line 2: error %v", err)
	}
}
