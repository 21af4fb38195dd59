package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/explain"
	"github.com/frpt/frpt/report/browsercheck"
)

// TestExplainEndToEnd runs frpt explain's pipeline on the committed MNIST checkpoint and
// checks maps.safetensors against a recomputation written here from spec §8 (not through
// package explain): diff = recons − forward, the difference-driven, reconstruction and
// forward CAMs at the feature grid, and their bilinear (align_corners=False) upsampling with
// min–max normalisation. Then it opens index.html in headless Chromium: no console error, every
// image decodes, no fetch outside the folder, and clicking a row shows its panel.
func TestExplainEndToEnd(t *testing.T) {
	if _, err := os.Stat(benchWeights); err != nil {
		t.Fatalf("committed checkpoint missing: %v", err)
	}
	cfg := DefaultExplain()
	cfg.Weights, cfg.Tap = benchWeights, "z2"
	cfg.Samples = explain.Selection{Kind: explain.SelectMisclassified} // D ≠ 0 there
	cfg.Limit = 8
	cfg.OutDir = filepath.Join(t.TempDir(), "explain")
	sum, err := Explain(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sum.N != 8 {
		t.Fatalf("explained %d samples, want 8", sum.N)
	}
	f, err := checkpoint.Read(filepath.Join(cfg.OutDir, "maps.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) ([]float32, []int) {
		tt, ok := f.Lookup(name)
		if !ok {
			t.Fatalf("maps.safetensors has no %q", name)
		}
		v, err := tt.Float32s()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v, tt.Shape
	}
	fwd, fs := get("forward")
	rec, _ := get("recons")
	dif, _ := get("diff")
	for i := range dif {
		if dif[i] != rec[i]-fwd[i] {
			t.Fatalf("diff[%d] = %g, recons − forward = %g", i, dif[i], rec[i]-fwd[i])
		}
	}
	var dmax float64
	for _, v := range dif {
		dmax = math.Max(dmax, math.Abs(float64(v)))
	}
	if dmax < 1e-3 {
		t.Fatalf("max |D| = %g on misclassified samples: the reverse chain left the forward feature", dmax)
	}
	n, c, h, w := fs[0], fs[1], fs[2], fs[3]
	in, is := get("input")
	H, W := is[2], is[3]
	if len(in) != n*is[1]*H*W {
		t.Fatalf("input shape %v for %d samples", is, n)
	}
	cams := map[string]func(s int) []float64{
		"diff":    func(s int) []float64 { return camRef(dif, fwd, s, c, h, w, true) },
		"recons":  func(s int) []float64 { return camRef(rec, rec, s, c, h, w, false) },
		"forward": func(s int) []float64 { return camRef(fwd, fwd, s, c, h, w, false) },
	}
	for name, ref := range cams {
		got, gs := get("cam_" + name)
		up, us := get("cam_" + name + "_up")
		if gs[1] != h || gs[2] != w || us[1] != H || us[2] != W {
			t.Fatalf("cam_%s shape %v, _up %v; want [%d %d %d], [%d %d %d]", name, gs, us, n, h, w, n, H, W)
		}
		for s := 0; s < n; s++ {
			want := ref(s)
			for i, v := range want {
				if g := float64(got[s*h*w+i]); math.Abs(g-v) > 1e-4*(1+math.Abs(v)) {
					t.Fatalf("cam_%s sample %d at %d: %g, recomputed %g", name, s, i, g, v)
				}
			}
			wantUp := minMax(bilinearRef(want, h, w, H, W))
			for i, v := range wantUp {
				if g := float64(up[s*H*W+i]); math.Abs(g-v) > 1e-4 {
					t.Fatalf("cam_%s_up sample %d at %d: %g, recomputed %g", name, s, i, g, v)
				}
			}
		}
	}
	page := filepath.Join(cfg.OutDir, "index.html")
	rep := browsercheck.Require(t, page, "tr[data-panel]:nth-child(3)")
	if rep.Images < 1 {
		t.Fatalf("%s shows no image", page)
	}
	t.Logf("%s: %d images, %d requests, all inside the folder", page, rep.Images, len(rep.Requests))
}

// camRef is spec §8's class activation map of sample s: w_c = mean_hw of weights' channel c,
// map = Σ_c w_c feat_c; relu: ReLU of it, and |·| instead when the ReLU leaves it ≤ 1e-12
// everywhere (the difference-driven CAM: weights from D, feature f).
func camRef(weights, feat []float32, s, c, h, w int, relu bool) []float64 {
	m := make([]float64, h*w)
	for ch := 0; ch < c; ch++ {
		base := (s*c + ch) * h * w
		var mean float64
		for i := 0; i < h*w; i++ {
			mean += float64(weights[base+i])
		}
		mean /= float64(h * w)
		for i := range m {
			m[i] += mean * float64(feat[base+i])
		}
	}
	if !relu {
		return m
	}
	r, pos := make([]float64, len(m)), false
	for i, v := range m {
		if v > 1e-12 {
			r[i], pos = v, true
		}
	}
	if !pos {
		for i, v := range m {
			r[i] = math.Abs(v)
		}
	}
	return r
}

// bilinearRef upsamples an h×w map to H×W as PyTorch's interpolate(mode="bilinear",
// align_corners=False): source coordinate (i+0.5)·h/H − 0.5, clamped at 0.
func bilinearRef(m []float64, h, w, H, W int) []float64 {
	out := make([]float64, H*W)
	coord := func(i, n, N int) (int, int, float64) {
		x := (float64(i)+0.5)*float64(n)/float64(N) - 0.5
		if x < 0 {
			x = 0
		}
		i0 := int(x)
		if i0 > n-1 {
			i0 = n - 1
		}
		i1 := min(i0+1, n-1)
		return i0, i1, x - float64(i0)
	}
	for y := 0; y < H; y++ {
		y0, y1, fy := coord(y, h, H)
		for x := 0; x < W; x++ {
			x0, x1, fx := coord(x, w, W)
			top := m[y0*w+x0]*(1-fx) + m[y0*w+x1]*fx
			bot := m[y1*w+x0]*(1-fx) + m[y1*w+x1]*fx
			out[y*W+x] = top*(1-fy) + bot*fy
		}
	}
	return out
}

func minMax(m []float64) []float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range m {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	out := make([]float64, len(m))
	if hi-lo <= 0 {
		return out
	}
	for i, v := range m {
		out[i] = (v - lo) / (hi - lo)
	}
	return out
}

// TestCommittedPagesInChromium opens every HTML page committed under results/ (the README
// links them: explain pages, grid reports, the demo's page) in headless Chromium, with the
// same checks as TestExplainEndToEnd.
func TestCommittedPagesInChromium(t *testing.T) {
	var pages []string
	for _, g := range []string{"../results/*/*/index.html", "../results/*/report.html", "../results/*/*/report.html", "../results/*/*/*/report.html"} {
		m, _ := filepath.Glob(g)
		pages = append(pages, m...)
	}
	if len(pages) == 0 {
		t.Fatal("no committed page under results/ (*/index.html, report.html)")
	}
	if _, err := browsercheck.Chromium(); err != nil {
		t.Skipf("browser check skipped: %v (the Debian package chromium cannot be installed here)", err)
	}
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		click := "" // a row that opens a panel, else a sortable column, else nothing
		switch {
		case strings.Contains(string(b), `<tr class="panel-row" data-panel=`):
			click = "tr[data-panel]:nth-child(2)"
		case strings.Contains(string(b), `class="sortable"`):
			click = "table.sortable th:nth-child(2)"
		}
		rep, err := browsercheck.Check(context.Background(), page, click, 60*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if p := rep.Problems(); len(p) > 0 || rep.Images < 1 {
			t.Errorf("%s in Chromium (%d images):\n%s", page, rep.Images, strings.Join(p, "\n"))
		}
		if len(rep.Screenshot) < 8 || string(rep.Screenshot[1:4]) != "PNG" {
			t.Errorf("%s: no PNG screenshot", page)
		}
		// FRPT_SCREENSHOTS=DIR keeps the screenshots (the README's is made this way).
		if dir := os.Getenv("FRPT_SCREENSHOTS"); dir != "" {
			name := strings.ReplaceAll(strings.TrimPrefix(filepath.Dir(page), "../results/"), "/", "-") + ".png"
			if err := os.WriteFile(filepath.Join(dir, name), rep.Screenshot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d pages checked", len(pages))
}

// TestExplainTorchCheckpoint: on a checkpoint trained by PyTorch (the twin of simplecnn-v2,
// one epoch on 6,000 MNIST images), the arrays of maps.safetensors equal PyTorch's own
// recomputation from their `input`: the forward feature at z2, D, the three CAMs and their
// F.interpolate(align_corners=False) upsampling with min–max (testdata/torch_explain.py).
func TestExplainTorchCheckpoint(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("skipped: %s cannot import torch (Debian's python3-torch is not installed): %v", py, err)
	}
	mnist, err := data.DefaultDir("mnist")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	weights := filepath.Join(dir, "torch.safetensors")
	if out, err := exec.Command(py, "testdata/torch_explain.py", "train", mnist, weights).CombinedOutput(); err != nil {
		t.Fatalf("torch training: %v\n%s", err, out)
	}
	cfg := DefaultExplain()
	cfg.Weights, cfg.Tap, cfg.Limit = weights, "z2", 16
	cfg.Samples = explain.Selection{Kind: explain.SelectMisclassified}
	cfg.OutDir = filepath.Join(dir, "explain")
	if _, err := Explain(context.Background(), cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "testdata/torch_explain.py", "check", weights, filepath.Join(cfg.OutDir, "maps.safetensors"), "z2").CombinedOutput()
	if err != nil {
		t.Fatalf("torch check: %v\n%s", err, out)
	}
	got := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var k string
		var v float64
		if _, err := fmt.Sscanf(line, "%s %g", &k, &v); err != nil {
			t.Fatalf("torch check printed %q: %v", line, err)
		}
		got[k] = v
	}
	if got["max_abs_D"] < 1e-3 {
		t.Fatalf("max |D| = %g on misclassified samples: nothing to compare", got["max_abs_D"])
	}
	for _, k := range []string{"forward", "diff", "cam_diff", "cam_recons", "cam_forward", "cam_diff_up", "cam_recons_up", "cam_forward_up"} {
		tol := 1e-5 // float32 maps against float64 PyTorch
		if strings.HasSuffix(k, "_up") {
			tol = 5e-5 // min–max divides by the map's span, which scales float32 rounding
		}
		v, ok := got[k]
		if !ok || v > tol {
			t.Errorf("%s: relative difference to PyTorch %g (present %v), want ≤ %g", k, v, ok, tol)
		}
	}
	t.Logf("against PyTorch: %v", got)
}
