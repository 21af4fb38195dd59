package models

import (
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// closeTo fails unless a and b agree elementwise to tol (relative to max(1, |b|)).
func closeTo(t *testing.T, what string, a, b []float64, tol float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d values, want %d", what, len(a), len(b))
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol*max(1, math.Abs(b[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, a[i], b[i])
		}
	}
}

func randomLike(shape []int, seed uint64) *tensor.T[float64] {
	g := tensor.New[float64](shape...)
	nn.Normal(g, 1, nn.NewRand(seed))
	return g
}

// gradsByName copies the parameter gradients of ps.
func gradsByName(ps []nn.Named[float64]) map[string][]float64 {
	out := map[string][]float64{}
	for _, p := range ps {
		if p.P.Grad != nil {
			out[p.Name] = slices.Clone(p.P.Grad.Data)
		}
	}
	return out
}

// Cutting a Segmented model at its taps: the segments' forwards chained give Forward's
// taps, the segments' parameters partition the model's, and chaining BackwardSegment
// (each segment in its own copy of the model) gives Backward's parameter gradients.
func TestSegmentsChainToTheModel(t *testing.T) {
	for name, m := range smallModels(t) {
		sm, ok := m.(Segmented[float64])
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			x := inputFor(m, 3)
			nn.SetTraining[float64](m, true)
			m.Forward(x)
			want := map[string][]float64{}
			for tap, v := range m.Taps() {
				want[tap] = slices.Clone(v.Data)
			}
			dy := randomLike(m.Taps()["out"].Shape, 7)
			nn.ZeroGrad(m.Params())
			m.Backward(dy.Clone())
			wantGrads := gradsByName(m.Params())

			bounds := sm.SegmentBounds()
			copies := make([]Segmented[float64], len(bounds)-1)
			var names []string
			f := x
			for i := range copies {
				copies[i] = smallModels(t)[name].(Segmented[float64])
				nn.SetTraining[float64](copies[i], true)
				var err error
				if f, err = copies[i].ForwardSegment(f, bounds[i], bounds[i+1]); err != nil {
					t.Fatal(err)
				}
				closeTo(t, bounds[i]+"->"+bounds[i+1], f.Data, want[bounds[i+1]], 1e-12)
				ps, err := copies[i].SegmentParams(bounds[i], bounds[i+1])
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range ps {
					names = append(names, p.Name)
				}
			}
			var all []string
			for _, p := range m.Params() {
				all = append(all, p.Name)
			}
			sort.Strings(names)
			sort.Strings(all)
			if !slices.Equal(names, all) {
				t.Fatalf("segment parameters %v\nmodel parameters %v", names, all)
			}
			g := dy.Clone()
			for i := len(copies) - 1; i >= 0 && g != nil; i-- {
				nn.ZeroGrad(copies[i].Params())
				g = copies[i].BackwardSegment(g, true)
				ps, _ := copies[i].SegmentParams(bounds[i], bounds[i+1])
				for n, v := range gradsByName(ps) {
					closeTo(t, "grad "+n, v, wantGrads[n], 1e-10)
				}
			}
			if _, err := sm.ForwardSegment(x, bounds[2], bounds[1]); err == nil {
				t.Fatal("a backwards segment was accepted")
			}
		})
	}
}

// ForwardTo stops at the tap with Forward's feature there, and BackwardTaps(nil, {tap: g})
// gives the front the gradients that a full pass with only the tap gradient gives.
func TestForwardToMatchesForward(t *testing.T) {
	for name, m := range smallModels(t) {
		fm, ok := m.(Fronted[float64])
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			x := inputFor(m, 2)
			nn.SetTraining[float64](m, false)
			for _, tap := range m.TapNames() {
				m.Forward(x)
				want := slices.Clone(m.Taps()[tap].Data)
				g := randomLike(m.Taps()[tap].Shape, 11)
				zero := tensor.New[float64](m.Taps()["out"].Shape...)
				nn.ZeroGrad(m.Params())
				m.BackwardTaps(zero, map[string]*tensor.T[float64]{tap: g.Clone()})
				wantGrads := gradsByName(m.Params())

				front := smallModels(t)[name]
				nn.SetTraining[float64](front, false)
				f, err := front.(Fronted[float64]).ForwardTo(x, tap)
				if err != nil {
					t.Fatal(err)
				}
				closeTo(t, tap, f.Data, want, 1e-12)
				nn.ZeroGrad(front.Params())
				front.BackwardTaps(nil, map[string]*tensor.T[float64]{tap: g.Clone()})
				for n, v := range gradsByName(front.Params()) {
					closeTo(t, tap+" grad "+n, v, wantGrads[n], 1e-10)
				}
			}
			if _, err := fm.ForwardTo(x, "z99"); err == nil {
				t.Fatal("unknown tap accepted")
			}
		})
	}
}
