package convbench

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frpt/frpt/reverse"
	"gonum.org/v1/gonum/mat"
)

// The efficiency bench at 16×16 (plus a tiny stability grid) writes a JSON with the
// paper's columns; dense and CG reproduce shrink targets and agree on expand ones.
func TestRunSize16(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sizes = []int{16}
	cfg.Budget, cfg.MaxRepeats = 20*time.Millisecond, 3
	cfg.Stability = &StabilityConfig{Size: 10, Cin: 2, Couts: []int{2, 4}, Pads: []int{0, 1}, Conds: []float64{1, 1e4}, Seeds: 1, Noise: 1}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	jsonPath, pngPath := filepath.Join(dir, "reverse_conv.json"), filepath.Join(dir, "reverse_conv.png")
	if err := res.WriteJSON(jsonPath); err != nil {
		t.Fatal(err)
	}
	if err := res.WritePlot(pngPath); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteStabilityPlot(filepath.Join(dir, "stability.png")); err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())
	for _, p := range []string{pngPath, filepath.Join(dir, "stability.png")} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		f.Close()
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}

	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Config     map[string]any   `json:"config"`
		Efficiency []map[string]any `json:"efficiency"`
		Stability  []map[string]any `json:"stability"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Efficiency) != 2*len(AllMethods) {
		t.Fatalf("%d efficiency cells, want %d", len(doc.Efficiency), 2*len(AllMethods))
	}
	if want := 2 * 2 * 2 * len(AllMethods); len(doc.Stability) != want {
		t.Fatalf("%d stability cells, want %d", len(doc.Stability), want)
	}
	for _, k := range []string{"sizes", "methods", "batch", "cin", "kernel", "noise", "budget_s"} {
		if _, ok := doc.Config[k]; !ok {
			t.Errorf("config lacks %q", k)
		}
	}
	cons := map[string]float64{} // method/case → consistency
	for _, c := range doc.Efficiency {
		method, cs, status := c["method"].(string), c["case"].(string), c["status"].(string)
		name := method + "/" + cs
		if c["size"].(float64) != 16 || c["batch"].(float64) != 2 || c["cin"].(float64) != 2 || c["kernel"].(float64) != 5 {
			t.Errorf("%s: wrong setup %v", name, c)
		}
		if status == "skipped" {
			if reason, _ := c["reason"].(string); reason == "" {
				t.Errorf("%s: skipped without a reason", name)
			}
			if method == string(reverse.ConvDense) || method == string(reverse.ConvCG) {
				t.Errorf("%s skipped: %v", name, c["reason"])
			}
			continue
		}
		for _, k := range []string{"ms_per_call", "ms_cold", "alloc_mb_cold", "alloc_mb_warm", "consistency_rel_l2", "front_distance_rel_l2", "max_abs", "paper_gpu_ms", "paper_consistency", "paper_front_distance", "matrix_cond"} {
			v, ok := c[k].(float64)
			if !ok || v < 0 {
				t.Errorf("%s: field %q missing or negative (%v)", name, k, c[k])
			}
		}
		if c["repeats"].(float64) < 1 {
			t.Errorf("%s: no warm calls", name)
		}
		cons[name] = c["consistency_rel_l2"].(float64)
	}
	for _, m := range []reverse.ConvMethod{reverse.ConvDense, reverse.ConvCG} {
		if v := cons[string(m)+"/shrink"]; v > 1e-6 {
			t.Errorf("%s shrink consistency %.3g", m, v)
		}
		// Noisy expand targets are unreachable: the least-squares residual is ~0.1–0.5.
		if v := cons[string(m)+"/expand"]; v <= 0.01 || v > 0.6 {
			t.Errorf("%s expand consistency %.3g", m, v)
		}
	}
	if d, c := cons["exact_matrix/expand"], cons["cg/expand"]; c < d*(1-1e-9) || c > d*1.5 {
		t.Errorf("CG expand consistency %.3g vs the least-squares optimum %.3g", c, d)
	}
	for _, c := range doc.Stability {
		if c["status"] != "ok" {
			if m := c["method"].(string); m == string(reverse.ConvDense) || m == string(reverse.ConvCG) {
				t.Errorf("stability %v skipped: %v", m, c["reason"])
			}
			continue
		}
		if v := c["max_abs"].(float64); v > reverse.DefaultOptions().MaxAbs {
			t.Errorf("stability cell exceeds MaxAbs: %v", c)
		}
	}
	if !strings.Contains(table.String(), "ref CPU ms") {
		t.Error("table lacks the reference column")
	}
}

// Dense cells beyond the memory or time limits are skipped with a reason, not run (the
// band solver fits 256² in memory since the band Cholesky, so the test uses 1024²).
func TestDenseSkips(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sizes, cfg.Methods, cfg.Cases = []int{1024}, []reverse.ConvMethod{reverse.ConvDense}, []string{Expand, Shrink}
	cfg.CondMaxDim = 0
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Efficiency {
		if c.Status != "skipped" || !(strings.Contains(c.Reason, "GiB") || strings.Contains(c.Reason, "estimated")) {
			t.Fatalf("%s %d: status %s, reason %q", c.Case, c.Size, c.Status, c.Reason)
		}
	}
	// With the limits lifted the error of reverse itself is the reason.
	cfg.MemLimit, cfg.MaxCallTime, cfg.Cases = 1<<62, 0, []string{Expand}
	res, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Efficiency[0]; c.Status != "skipped" || !strings.Contains(c.Reason, "memory limit") {
		t.Fatalf("status %s, reason %q", c.Status, c.Reason)
	}
}

// Weights have the requested condition number.
func TestConditionedWeight(t *testing.T) {
	for _, cond := range []float64{1, 10, 1e5} {
		w := conditionedWeight(newRand(1), 4, 50, cond)
		got := flatCond(t, w, 4, 50)
		if got < cond*(1-1e-9) || got > cond*(1+1e-9) {
			t.Fatalf("condition %g, want %g", got, cond)
		}
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

// flatCond is σ_max/σ_min of a rows×cols matrix.
func flatCond(t *testing.T, w []float64, rows, cols int) float64 {
	t.Helper()
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(rows, cols, w), mat.SVDNone) {
		t.Fatal("SVD failed")
	}
	s := svd.Values(nil)
	return s[0] / s[len(s)-1]
}
