package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/nn/gradcheck"
	"github.com/frpt/frpt/tensor"
)

func smallModels(t *testing.T) map[string]Model[float64] {
	t.Helper()
	mn, _ := SimpleCNNFor("mnist", 2)
	c10, _ := SimpleCNNFor("cifar10", 2)
	rc, _ := ResNetFor("resnet18", "cifar10")
	rc.Width, rc.Layers = 4, [4]int{1, 1, 1, 1}
	rm, _ := ResNetFor("resnet18", "mnist")
	rm.Width, rm.Layers = 4, [4]int{1, 1, 1, 1}
	v, _ := ViTFor("mnist", false)
	v.D, v.Depth, v.Heads, v.Hidden, v.Patch = 8, 2, 2, 16, 7
	vp := v
	vp.PreLN = true
	return map[string]Model[float64]{
		"simplecnn-mnist": NewSimpleCNN[float64](mn, 1), "simplecnn-cifar": NewSimpleCNN[float64](c10, 2),
		"resnet-cifar": NewResNet[float64](rc, 3), "resnet-mnist": NewResNet[float64](rm, 4),
		"vit": NewSimpleViT[float64](v, 5), "vit-preln": NewSimpleViT[float64](vp, 6),
	}
}

func inputFor(m Model[float64], n int) *tensor.T[float64] {
	var shape []int
	switch mm := m.(type) {
	case *SimpleCNN[float64]:
		shape = []int{n, mm.Cfg.InCh, mm.Cfg.Size, mm.Cfg.Size}
	case *ResNet[float64]:
		if mm.Cfg.CIFARStem {
			shape = []int{n, 3, 8, 8}
		} else {
			shape = []int{n, 1, 28, 28}
		}
	case *SimpleViT[float64]:
		shape = []int{n, mm.Cfg.InCh, mm.Cfg.Size, mm.Cfg.Size}
	}
	x := tensor.New[float64](shape...)
	nn.Normal(x, 1, nn.NewRand(9))
	return x
}

// Whole-model gradient checks in float64 (parameters sampled; BN in eval mode).
func TestWholeModelGradients(t *testing.T) {
	for name, m := range smallModels(t) {
		nn.SetTraining[float64](m, false)
		x := inputFor(m, 2)
		r := gradcheck.Check(m, x, gradcheck.Options{Samples: 25, Seed: 1, Floor: 1e-4})
		if r.MaxRelErr > 1e-4 {
			t.Errorf("%s: %s (rel %.3g)", name, r.Where, r.MaxRelErr)
		}
	}
}

// BackwardTaps: the gradient of L = Σ w·out + Σ v·tap w.r.t. the first trainable
// parameters matches finite differences, for every tap.
func TestBackwardTapsMatchesFiniteDifferences(t *testing.T) {
	for name, m := range smallModels(t) {
		nn.SetTraining[float64](m, false)
		x := inputFor(m, 2)
		m.Forward(x)
		for _, tap := range m.TapNames() {
			out := m.Forward(x)
			feat := m.Taps()[tap]
			rng := nn.NewRand(7)
			w, v := tensor.New[float64](out.Shape...), tensor.New[float64](feat.Shape...)
			nn.Normal(w, 1, rng)
			nn.Normal(v, 1, rng)
			loss := func() float64 {
				o := m.Forward(x)
				s := 0.0
				for i := range o.Data {
					s += o.Data[i] * w.Data[i]
				}
				for i, f := range m.Taps()[tap].Data {
					s += f * v.Data[i]
				}
				return s
			}
			ps := m.Params()
			nn.ZeroGrad(ps)
			m.Forward(x)
			m.BackwardTaps(w.Clone(), map[string]*tensor.T[float64]{tap: v.Clone()})
			p := ps[0].P // the first layer's weight: every tap's term reaches it
			for _, i := range []int{0, len(p.Value.Data) / 2, len(p.Value.Data) - 1} {
				old := p.Value.Data[i]
				p.Value.Data[i] = old + 1e-6
				lp := loss()
				p.Value.Data[i] = old - 1e-6
				lm := loss()
				p.Value.Data[i] = old
				num := (lp - lm) / 2e-6
				if got := p.Grad.Data[i]; math.Abs(got-num) > 1e-5*(1+math.Abs(num)) {
					t.Errorf("%s tap %s: %s[%d] grad %v, finite differences %v", name, tap, ps[0].Name, i, got, num)
				}
			}
		}
	}
}

func TestSplitMapsFollowTheSpec(t *testing.T) {
	want := map[string]map[string]int{
		"simplecnn-mnist": {"out": 3, "z2": 2, "z1": 1},
		"simplecnn-cifar": {"out": 5, "z4": 4, "z3": 3, "z2": 2, "z1": 1},
		"resnet-cifar":    {"out": 10, "z5": 9, "z4": 8, "z3": 7, "z2": 6, "z1": 5, "z0": 4},
		"vit":             {"out": 4, "z3": 3, "z2": 3, "z1": 2, "z0": 1},
	}
	ms := smallModels(t)
	for name, taps := range want {
		m := ms[name]
		for tap, idx := range taps {
			got, err := m.SplitIndex(tap)
			if err != nil || got != idx {
				t.Errorf("%s: SplitIndex(%s) = %d, %v; want %d", name, tap, got, err, idx)
			}
		}
		if _, err := m.SplitIndex("z99"); err == nil {
			t.Errorf("%s: unknown tap accepted", name)
		}
		// FreezeFrom(split of z2) freezes exactly the children from that index.
		s, _ := m.SplitIndex("z2")
		FreezeFrom(m, s)
		for i, c := range m.Children() {
			for _, p := range c.Params() {
				if !p.P.Buffer && p.P.Frozen != (i >= s) {
					t.Errorf("%s: child %s frozen=%v", name, m.ChildNames()[i], p.P.Frozen)
				}
			}
		}
	}
}

func TestZooNamesAndShapes(t *testing.T) {
	cases := []struct {
		name, dataset string
		params        int
	}{
		{"simplecnn-v2", "mnist", 796},
		{"simplecnn-v2", "cifar10", 10*3*25 + 10 + 10*10*9 + 10 + 10*10*9 + 10 + 160*128 + 128 + 128*10 + 10},
		{"resnet18", "cifar10", 11173962},
	}
	for _, c := range cases {
		m, err := New[float32](c.name, c.dataset, 0)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range m.Params() {
			if !p.P.Buffer {
				n += p.P.Value.Numel()
			}
		}
		if n != c.params {
			t.Errorf("%s/%s: %d parameters, want %d", c.name, c.dataset, n, c.params)
		}
	}
	if _, err := New[float32]("simplecnn-v3", "mnist", 0); err == nil {
		t.Error("simplecnn-v3 for MNIST accepted")
	}
	if _, err := New[float32]("vgg", "mnist", 0); err == nil {
		t.Error("unknown model accepted")
	}
}

// TestSimpleCNNForwardTo: the front-only pass gives the same tap feature as the full
// forward, and backward from the tap alone gives the same parameter gradients as a full
// backward with zero output gradient.
func TestSimpleCNNForwardTo(t *testing.T) {
	cfg, _ := SimpleCNNFor("cifar10", 2)
	m := NewSimpleCNN[float64](cfg, 7)
	rng := rand.New(rand.NewPCG(7, 7))
	x := tensor.New[float64](3, 3, 32, 32)
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	for _, tap := range []string{"z1", "z2", "z4"} {
		m.Forward(x)
		full := m.Taps()[tap].Clone()
		g := full.Clone()
		for i := range g.Data {
			g.Data[i] = rng.NormFloat64()
		}
		nn.ZeroGrad(m.Params())
		m.BackwardTaps(tensor.New[float64](3, 10), map[string]*tensor.T[float64]{tap: g})
		want := map[string][]float64{}
		for _, p := range m.Params() {
			want[p.Name] = append([]float64(nil), p.P.Grad.Data...)
		}
		front, err := m.ForwardTo(x, tap)
		if err != nil {
			t.Fatal(err)
		}
		for i := range front.Data {
			if front.Data[i] != full.Data[i] {
				t.Fatalf("%s: ForwardTo differs at %d", tap, i)
			}
		}
		nn.ZeroGrad(m.Params())
		m.BackwardTaps(nil, map[string]*tensor.T[float64]{tap: g})
		for _, p := range m.Params() {
			for i, v := range p.P.Grad.Data {
				if math.Abs(v-want[p.Name][i]) > 1e-12 {
					t.Fatalf("%s: grad of %s differs at %d: %g vs %g", tap, p.Name, i, v, want[p.Name][i])
				}
			}
		}
	}
	if _, err := m.ForwardTo(x, "z9"); err == nil {
		t.Error("unknown tap accepted")
	}
}
