package explain

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/reverse"
	"github.com/frpt/frpt/tensor"
)

func TestGridOf(t *testing.T) {
	for _, c := range []struct {
		shape []int
		want  Grid
		bad   bool
	}{
		{[]int{3, 8, 8}, Grid{C: 3, H: 8, W: 8}, false},
		{[]int{50, 192}, Grid{C: 192, H: 7, W: 7, Tokens: true}, false},
		{[]int{10}, Grid{C: 10, H: 1, W: 1, Vector: true}, false},
		{[]int{51, 192}, Grid{}, true},
		{[]int{1, 2, 3, 4}, Grid{}, true},
	} {
		g, err := GridOf(c.shape)
		if (err != nil) != c.bad || g != c.want {
			t.Errorf("GridOf(%v) = %+v, %v; want %+v (error %v)", c.shape, g, err, c.want, c.bad)
		}
	}
	// Token reading: channel c of patch p is row 1+p, column c.
	g := Grid{C: 2, H: 2, W: 2, Tokens: true}
	tok := []float32{9, 9, 1, 10, 2, 20, 3, 30, 4, 40} // CLS (9, 9), then 4 patches
	got := g.Channels(nil, tok)
	want := []float64{1, 2, 3, 4, 10, 20, 30, 40}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("token channels %v, want %v", got, want)
		}
	}
}

// TestUpsample checks the align_corners=False convention on hand-computed values: a
// 2-pixel row upsampled to 4 reads source coordinates −0.25 (clamped to 0), 0.25, 0.75,
// 1.25 (upper neighbour clamped), i.e. a, 0.75a+0.25b, 0.25a+0.75b, b.
func TestUpsample(t *testing.T) {
	a, b := 1.0, 5.0
	got := Upsample(nil, []float64{a, b}, 1, 2, 1, 4)
	want := []float64{a, 0.75*a + 0.25*b, 0.25*a + 0.75*b, b}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("Upsample row = %v, want %v", got, want)
		}
	}
	// Same size is the identity; a constant stays constant; 3 → 7 matches the separable
	// 1-D rule in both directions.
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]float64, 12)
	for i := range src {
		src[i] = rng.NormFloat64()
	}
	same := Upsample(nil, src, 3, 4, 3, 4)
	for i := range src {
		if same[i] != src[i] {
			t.Fatalf("same-size upsample changed pixel %d: %g → %g", i, src[i], same[i])
		}
	}
	up := Upsample(nil, src, 3, 4, 7, 9)
	rows := make([]float64, 3*9)
	for y := 0; y < 3; y++ {
		copy(rows[y*9:], Upsample(nil, src[y*4:(y+1)*4], 1, 4, 1, 9))
	}
	for x := 0; x < 9; x++ {
		col := []float64{rows[x], rows[9+x], rows[18+x]}
		c7 := Upsample(nil, col, 3, 1, 7, 1)
		for y := 0; y < 7; y++ {
			if math.Abs(c7[y]-up[y*9+x]) > 1e-12 {
				t.Fatalf("2-D upsample is not the separable 1-D rule at (%d, %d): %g vs %g", y, x, up[y*9+x], c7[y])
			}
		}
	}
}

func TestCAMs(t *testing.T) {
	// Two channels over 2 cells. D has channel means 1 and −1: Σ w f = f0 − f1.
	f := []float64{1, 3, 2, 1}   // f0 = (1, 3), f1 = (2, 1)
	d := []float64{2, 0, -1, -1} // means 1, −1
	got := DiffCAM(nil, f, d, 2, 2)
	if got[0] != 0 || got[1] != 2 { // ReLU(−1, 2)
		t.Fatalf("DiffCAM = %v, want [0 2]", got)
	}
	// All non-positive after the ReLU: |Σ w f| instead.
	got = DiffCAM(nil, []float64{2, 3, 1, 1}, []float64{-1, -1, 0, 0}, 2, 2) // w = (−1, 0): −f0
	if got[0] != 2 || got[1] != 3 {
		t.Fatalf("DiffCAM fallback = %v, want [2 3]", got)
	}
	// SelfCAM has no ReLU: w = (2, −1) on v0 = (1, 3), v1 = (−1, −1): (3, 7).
	got = SelfCAM(nil, []float64{1, 3, -1, -1}, 2, 2)
	if got[0] != 3 || got[1] != 7 {
		t.Fatalf("SelfCAM = %v, want [3 7]", got)
	}
	x := []float64{2, 4, 3}
	MinMax(x)
	if x[0] != 0 || x[1] != 1 || x[2] != 0.5 {
		t.Fatalf("MinMax = %v", x)
	}
	c := []float64{3, 3}
	MinMax(c)
	if c[0] != 0 || c[1] != 0 {
		t.Fatalf("MinMax of a constant = %v, want zeros", c)
	}
}

// TestScoreSeedsFiniteDifferences checks the embeddings' Jacobian rows against central
// differences of reverse.Targets, sample by sample, away from the kinks.
func TestScoreSeedsFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const k, n = 6, 40
	for _, emb := range []reverse.Embedding{reverse.Nearest, reverse.MaxAssign, reverse.OneHot} {
		o := make([]float64, n*k)
		for i := range o {
			o[i] = 3 * rng.NormFloat64()
		}
		labels := make([]int, n)
		for i := range labels {
			labels[i] = rng.IntN(k)
		}
		tg, err := reverse.Targets(emb, o, k, labels)
		if err != nil {
			t.Fatal(err)
		}
		o32, t32 := make([]float32, n*k), make([]float32, n*k)
		for i := range o {
			o32[i], t32[i] = float32(o[i]), float32(tg[i])
		}
		preds := tensor.ArgmaxRows(o32, k)
		diff, recons, fwd, err := ScoreSeeds(emb, o32, t32, k, labels, preds)
		if err != nil {
			t.Fatal(err)
		}
		const h = 1e-6
		for i, y := range labels {
			row := o[i*k : (i+1)*k]
			for j := 0; j < k; j++ {
				p := append([]float64(nil), row...)
				m := append([]float64(nil), row...)
				p[j] += h
				m[j] -= h
				tp, _ := reverse.Targets(emb, p, k, []int{y})
				tm, _ := reverse.Targets(emb, m, k, []int{y})
				num := (tp[y] - tm[y]) / (2 * h)
				if math.Abs(num-float64(recons[i*k+j])) > 1e-5 {
					t.Fatalf("%s sample %d: ∂ô_%d/∂o_%d = %g, finite differences %g", emb, i, y, j, recons[i*k+j], num)
				}
				dnum := num
				if j == y {
					dnum--
				}
				if math.Abs(dnum-float64(diff[i*k+j])) > 1e-5 {
					t.Fatalf("%s sample %d: ∂D_%d/∂o_%d = %g, finite differences %g", emb, i, y, j, diff[i*k+j], dnum)
				}
				want := float32(0)
				if j == preds[i] {
					want = 1
				}
				if fwd[i*k+j] != want {
					t.Fatalf("forward seed of sample %d is not e_pred", i)
				}
			}
		}
	}
}

// TestGradientsFiniteDifferences checks the input gradient and the tap gradient of every
// zoo family against central differences in float64 arithmetic of the float32 model
// (a handful of coordinates, step 1e-2 on a smooth enough score).
func TestGradientsFiniteDifferences(t *testing.T) {
	for _, name := range []string{"simplecnn-v2", "resnet18", "simplevit"} {
		t.Run(name, func(t *testing.T) {
			m, err := models.New[float32](name, "mnist", 7)
			if err != nil {
				t.Fatal(err)
			}
			frozenBefore := map[string]bool{}
			for _, p := range m.Params() {
				frozenBefore[p.Name] = p.P.Frozen
			}
			rng := rand.New(rand.NewPCG(5, 6))
			n := 2
			x := tensor.New[float32](n, 1, 28, 28)
			for i := range x.Data {
				x.Data[i] = float32(rng.NormFloat64())
			}
			logits := m.Forward(x)
			k := logits.Shape[1]
			seed := make([]float32, n*k)
			for i := range seed {
				seed[i] = float32(rng.NormFloat64())
			}
			score := func(x *tensor.T[float32]) float64 {
				o := m.Forward(x)
				s := 0.0
				for i, v := range o.Data {
					s += float64(v) * float64(seed[i])
				}
				return s
			}
			g, err := InputGradients(m, x, [][]float32{seed})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []int{100, 300, 406, 784 + 350, 784 + 500} {
				const h = 1e-2
				old := x.Data[p]
				x.Data[p] = old + h
				sp := score(x)
				x.Data[p] = old - h
				sm := score(x)
				x.Data[p] = old
				num := (sp - sm) / (2 * h)
				if d := math.Abs(num - float64(g[0][p])); d > 2e-2*math.Max(1, math.Abs(num)) {
					t.Errorf("∂s/∂x[%d] = %g, finite differences %g", p, g[0][p], num)
				}
			}
			// Tap gradient at the second tap, by perturbing the feature through the segment.
			tap := m.TapNames()[1]
			m.Forward(x)
			f := m.Taps()[tap].Clone()
			gt, err := TapGradient(m, tap, f.Clone(), seed)
			if err != nil {
				t.Fatal(err)
			}
			sm := m.(models.Segmented[float32])
			segScore := func(f *tensor.T[float32]) float64 {
				o, err := sm.ForwardSegment(f, tap, "out")
				if err != nil {
					t.Fatal(err)
				}
				s := 0.0
				for i, v := range o.Data {
					s += float64(v) * float64(seed[i])
				}
				return s
			}
			for _, p := range []int{0, 7, f.Numel()/2 + 3, f.Numel() - 1} {
				const h = 1e-2
				old := f.Data[p]
				f.Data[p] = old + h
				sp := segScore(f.Clone())
				f.Data[p] = old - h
				sm := segScore(f.Clone())
				f.Data[p] = old
				num := (sp - sm) / (2 * h)
				if d := math.Abs(num - float64(gt[p])); d > 2e-2*math.Max(1, math.Abs(num)) {
					t.Errorf("tap %s: ∂s/∂f[%d] = %g, finite differences %g", tap, p, gt[p], num)
				}
			}
			// The model is left as it was: parameters trainable, no input gradient.
			for _, p := range m.Params() {
				if p.P.Frozen != frozenBefore[p.Name] {
					t.Fatalf("parameter %s: Frozen changed to %v", p.Name, p.P.Frozen)
				}
			}
			if was, _ := models.SetInputGrad(m, false); was {
				t.Fatal("input gradient left on")
			}
		})
	}
}

func TestAUCAndMassRatio(t *testing.T) {
	if a := AUC([]float64{1, 1, 1}); a != 1 {
		t.Fatalf("AUC of 1 = %g", a)
	}
	if a := AUC([]float64{0, 0.5, 1}); math.Abs(a-0.5) > 1e-15 {
		t.Fatalf("AUC of the diagonal = %g", a)
	}
	// 4 pixels, 1 object pixel holding half the mass: mass ratio 1, density ratio 3.
	m := []float32{0.5, 0.25, 0.25, 0}
	raw := []float32{0.9, 0.1, 0.2, 0}
	mass, dens := MassRatio(m, raw, 1, 0.5)
	if math.Abs(mass-1) > 1e-12 || math.Abs(dens-3) > 1e-12 {
		t.Fatalf("MassRatio = %g, %g; want 1, 3", mass, dens)
	}
	if mass, _ := MassRatio(m, []float32{0, 0, 0, 0}, 1, 0.5); !math.IsNaN(mass) {
		t.Fatalf("no object pixel: mass ratio %g, want NaN", mass)
	}
}

func TestParseSelection(t *testing.T) {
	s, err := ParseSelection("3, 17,200-203,17")
	if err != nil {
		t.Fatal(err)
	}
	want := []int{3, 17, 200, 201, 202, 203}
	if s.Kind != SelectIndices || len(s.Indices) != len(want) {
		t.Fatalf("ParseSelection = %+v", s)
	}
	for i := range want {
		if s.Indices[i] != want[i] {
			t.Fatalf("ParseSelection = %v, want %v", s.Indices, want)
		}
	}
	for _, k := range []string{"misclassified", "all", "per-class"} {
		if s, err := ParseSelection(k); err != nil || s.Kind != k {
			t.Fatalf("ParseSelection(%q) = %+v, %v", k, s, err)
		}
	}
	for _, bad := range []string{"", "wrong", "3,x", "5-2", "-1", "1-"} {
		if _, err := ParseSelection(bad); err == nil {
			t.Errorf("ParseSelection(%q) accepted", bad)
		}
	}
}
