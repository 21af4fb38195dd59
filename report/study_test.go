package report

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// decodePNG fails the test unless path holds a PNG of at least w × h pixels.
func decodePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < w || b.Dy() < h {
		t.Fatalf("%s: image %v, want at least %d × %d", path, b, w, h)
	}
}

func stageFixture() StageStudy {
	s := StageStudy{Run: "runs/a", Model: "simplecnn-v2", Dataset: "mnist", Samples: 96, DropFirst: 1,
		Embedding: "nearest", ConvMethod: "fft", Taps: []string{"out", "z1"}}
	for e := 1; e <= 3; e++ {
		st := Stage{Epoch: e, TestAcc: 0.9 + 0.01*float64(e), TrainAcc: 0.8, ProbeAcc: 0.85,
			RelativeGap: map[string]float64{"out": 1 / float64(e), "z1": 0.5 / float64(e)}}
		if e == 2 {
			st.TestAcc = math.NaN()
			delete(st.RelativeGap, "z1")
		}
		s.Stages = append(s.Stages, st)
	}
	s.Correlations = []StageCorrelation{
		{Tap: "out", Metric: "relative_diff", Accuracy: "test_acc", N: 2, PearsonR: -1, PearsonP: 0, SpearmanRho: -1, SpearmanP: 0},
		{Tap: "out", Metric: "absolute_diff", Accuracy: "test_acc", N: 2, PearsonR: math.NaN(), PearsonP: math.NaN(), SpearmanRho: 0.5, SpearmanP: 0.3},
	}
	return s
}

func TestStageMarkdownAndPlot(t *testing.T) {
	s := stageFixture()
	md := StageMarkdown(s)
	for _, want := range []string{
		"# Training-stage study: runs/a\n",
		"3 checkpoints (epochs 1…3)",
		"| 2 | – | 80.00 % | 85.00 % | 0.5 | – |", // unknown test accuracy, missing tap
		"| out | -1.000 (p 0) | -1.000 (p 0) | – | +0.500 (p 0.3) |",
		"![relative gap and accuracy per epoch](stage-study.png)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	for _, zero := range []bool{false, true} { // log and linear gap axes
		if zero {
			s.Stages[0].RelativeGap["z1"] = 0
		}
		path := filepath.Join(t.TempDir(), "stage-study.png")
		if err := StagePlot(path, s); err != nil {
			t.Fatal(err)
		}
		decodePNG(t, path, 600, 600)
	}
}

func TestAblationMarkdownAndPlot(t *testing.T) {
	a := Ablation{Model: "simplecnn-v2", Dataset: "mnist", Weights: "w.safetensors", Pretrained: 0.95, Epochs: 1, Batch: 256,
		Samples: 512, LR: 1e-3, WD: 0.01, Augment: true, Baseline: "none", Metrics: []string{"epoch5", "mean"},
		Results: "ablation/results.jsonl", Runs: 4,
		Cells: []AblationCell{
			{Embedding: "none", Alpha: 0, Metric: "mean", N: 1, Mean: 0.9, CIHigh: math.NaN()},
			{Embedding: "one-hot", Alpha: 0.3, Metric: "mean", N: 3, Mean: 0.92, CIHigh: 0.925},
			{Embedding: "one-hot", Alpha: 0.1, Metric: "mean", N: 3, Mean: 0.91, CIHigh: 0.93},
		}}
	md := AblationMarkdown(a)
	for _, want := range []string{
		"(test accuracy 95.00 %)",
		"## mean test accuracy\n\n| embedding | α = 0 | α = 0.1 | α = 0.3 |\n",
		"| none | 90.00 (1) | – | – |",
		"| one-hot | – | 91.00 ± 2.00 (3) | 92.00 ± 0.50 (3) |",
		"Runs: ablation/results.jsonl (summary of 4 runs).",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "epoch5") {
		t.Errorf("a metric without cells got a table:\n%s", md)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ablation.png")
	if err := AblationPlot(path, a); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, path, 400, 300)
	a.Cells, path = nil, filepath.Join(dir, "empty.png")
	if err := AblationPlot(path, a); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("plot written with no cells (stat: %v)", err)
	}
}

func TestWriteCSVAndPct(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.csv")
	if err := WriteCSV(path, [][]string{{"a", "b"}, {"1", "x,y"}}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "a,b\n1,\"x,y\"\n" {
		t.Errorf("csv %q, %v", b, err)
	}
	if got := Pct(0.12345); got != "12.35 %" {
		t.Errorf("Pct(0.12345) = %q", got)
	}
	if got := Pct(math.NaN()); got != "–" {
		t.Errorf("Pct(NaN) = %q", got)
	}
}
