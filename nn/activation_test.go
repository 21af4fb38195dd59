package nn_test

import (
	"math"
	"strings"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/nn/gradcheck"
	"github.com/frpt/frpt/tensor"
)

// tfmRandn returns a tensor of N(0, std²) values from a seeded stream.
func tfmRandn(seed uint64, std float64, shape ...int) *tensor.T[float64] {
	t := tensor.New[float64](shape...)
	nn.Normal(t, std, nn.NewRand(seed))
	return t
}

// tfmMaxDiff is max |a − b| over two equally long slices.
func tfmMaxDiff[F, G tensor.Float](a []F, b []G) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}

// tfmActivations returns one instance of every activation with non-default parameters,
// together with its scalar definition.
func tfmActivations[F tensor.Float]() []struct {
	name string
	m    nn.Module[F]
	f    func(float64) float64
} {
	return []struct {
		name string
		m    nn.Module[F]
		f    func(float64) float64
	}{
		{"relu", nn.NewReLU[F](), func(x float64) float64 { return max(x, 0) }},
		{"relu6", nn.NewReLU6[F](), func(x float64) float64 { return min(max(x, 0), 6) }},
		{"leakyrelu", nn.NewLeakyReLU[F](0.1), func(x float64) float64 {
			if x > 0 {
				return x
			}
			return 0.1 * x
		}},
		{"hardtanh", nn.NewHardtanh[F](-2, 1.5), func(x float64) float64 { return min(max(x, -2), 1.5) }},
		{"tanh", nn.NewTanh[F](), math.Tanh},
		{"sigmoid", nn.NewSigmoid[F](), func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
		{"hardsigmoid", nn.NewHardsigmoid[F](), func(x float64) float64 { return min(max(x/6+0.5, 0), 1) }},
		{"elu", nn.NewELU[F](0.7), func(x float64) float64 {
			if x > 0 {
				return x
			}
			return 0.7 * (math.Exp(x) - 1)
		}},
		{"softplus", nn.NewSoftplus[F](2), func(x float64) float64 {
			if 2*x > 20 {
				return x
			}
			return math.Log(1+math.Exp(2*x)) / 2
		}},
		{"gelu", nn.NewGELU[F](), func(x float64) float64 { return x * 0.5 * (1 + math.Erf(x/math.Sqrt2)) }},
		{"silu", nn.NewSiLU[F](), func(x float64) float64 { return x / (1 + math.Exp(-x)) }},
		{"hardswish", nn.NewHardswish[F](), func(x float64) float64 { return x * min(max(x+3, 0), 6) / 6 }},
	}
}

// tfmAwayFromKinks returns n values in [−8, 12] at least 0.05 from every kink of the
// activations above (−3, −2, −1, 0, 1, 1.5, 3, 6 and Softplus β=2's threshold at 10).
func tfmAwayFromKinks(n int, seed uint64) *tensor.T[float64] {
	rng := nn.NewRand(seed)
	kinks := []float64{-3, -2, -1, 0, 1, 1.5, 3, 6, 10}
	x := tensor.New[float64](n)
	for i := range x.Data {
	draw:
		v := rng.Float64()*20 - 8
		for _, k := range kinks {
			if math.Abs(v-k) < 0.05 {
				goto draw
			}
		}
		x.Data[i] = v
	}
	return x
}

func TestActivationGrad(t *testing.T) {
	x := tfmAwayFromKinks(120, 1).Reshape(4, 30)
	for _, a := range tfmActivations[float64]() {
		// The loss sums 120 terms of size up to ~10, so the finite differences carry ~1e-9 of
		// rounding: compare relative to max(|a|+|n|, 1e-3).
		if r := gradcheck.Check(a.m, x, gradcheck.Options{Eps: 1e-5, Floor: 1e-3}); r.MaxRelErr > 1e-6 {
			t.Errorf("%s: %s (rel %.3g)", a.name, r.Where, r.MaxRelErr)
		}
	}
}

func TestActivationForwardMatchesDefinition(t *testing.T) {
	x64 := tfmAwayFromKinks(200, 2)
	x64.Data = append(x64.Data, -3, -2, -1, 0, 1, 1.5, 3, 6, 10, 30, -30)
	x64.Shape[0] = len(x64.Data)
	x32 := tensor.Convert[float32](x64)
	a32 := tfmActivations[float32]()
	for i, a := range tfmActivations[float64]() {
		y64 := a.m.Forward(x64)
		y32 := a32[i].m.Forward(x32)
		for j, v := range x64.Data {
			want := a.f(v)
			if d := math.Abs(y64.Data[j] - want); d > 1e-12*max(1, math.Abs(want)) {
				t.Errorf("%s(%g) = %.17g, want %.17g", a.name, v, y64.Data[j], want)
			}
			if d := math.Abs(float64(y32.Data[j]) - a.f(float64(x32.Data[j]))); d > 2e-6*max(1, math.Abs(want)) {
				t.Errorf("float32 %s(%g) = %g, want %g", a.name, v, y32.Data[j], want)
			}
		}
	}
}

// TestActivationKinkDerivatives pins PyTorch's choice of derivative at the kinks.
func TestActivationKinkDerivatives(t *testing.T) {
	cases := []struct {
		m    nn.Module[float64]
		x    []float64
		want []float64
	}{
		{nn.NewReLU[float64](), []float64{0}, []float64{0}},
		{nn.NewReLU6[float64](), []float64{0, 6}, []float64{0, 0}},
		{nn.NewLeakyReLU[float64](0.2), []float64{0}, []float64{0.2}},
		{nn.NewHardtanh[float64](-1, 1), []float64{-1, 1}, []float64{0, 0}},
		{nn.NewHardsigmoid[float64](), []float64{-3, 3}, []float64{0, 0}},
		{nn.NewHardswish[float64](), []float64{-3, 3}, []float64{-0.5, 1.5}},
		{nn.NewELU[float64](0.5), []float64{0}, []float64{0.5}},
	}
	for _, c := range cases {
		x := tensor.FromData(append([]float64(nil), c.x...), len(c.x))
		c.m.Forward(x)
		dy := tensor.New[float64](len(c.x))
		dy.Fill(1)
		if dx := c.m.Backward(dy); tfmMaxDiff(dx.Data, c.want) > 1e-15 {
			t.Errorf("%T at %v: derivative %v, want %v", c.m, c.x, dx.Data, c.want)
		}
	}
}

func TestActivationLarge(t *testing.T) {
	// Large enough to run on several goroutines; compare with the scalar definition.
	x := tfmRandn(3, 3, 1<<17)
	g := nn.NewGELU[float64]()
	y := g.Forward(x)
	dy := tfmRandn(4, 1, 1<<17)
	dx := g.Backward(dy)
	for i, v := range x.Data {
		if y.Data[i] != nn.GELUScalar(v) || dx.Data[i] != dy.Data[i]*nn.GELUDeriv(v) {
			t.Fatalf("element %d differs", i)
		}
	}
}

func TestNewActivation(t *testing.T) {
	for _, name := range append(nn.ActivationNames, "ReLU", "Leaky_ReLU", "GELU", "Hard-Swish") {
		m, err := nn.NewActivation[float32](name)
		if err != nil || m == nil {
			t.Errorf("NewActivation(%q): %v", name, err)
		}
	}
	if m, _ := nn.NewActivation[float64]("leaky_relu"); m.(*nn.LeakyReLU[float64]).Slope != 0.01 {
		t.Error("LeakyReLU default slope is not 0.01")
	}
	if m, _ := nn.NewActivation[float64]("softplus"); m.(*nn.Softplus[float64]).Beta != 1 {
		t.Error("Softplus default beta is not 1")
	}
	if m, _ := nn.NewActivation[float64]("hardtanh"); m.(*nn.Hardtanh[float64]).Min != -1 {
		t.Error("Hardtanh default min is not -1")
	}
	_, err := nn.NewActivation[float64]("mish")
	if err == nil || !strings.Contains(err.Error(), `"mish"`) {
		t.Errorf("unknown name: error %v", err)
	}
}

func TestActivationScalars(t *testing.T) {
	const h = 1e-6
	for _, x := range []float64{-4, -1.3, -0.2, 0.4, 2.5} {
		num := (nn.GELUScalar(x+h) - nn.GELUScalar(x-h)) / (2 * h)
		if math.Abs(num-nn.GELUDeriv(x)) > 1e-8 {
			t.Errorf("GELUDeriv(%g) = %g, numeric %g", x, nn.GELUDeriv(x), num)
		}
	}
	if v := nn.SigmoidScalar(-800); v != 0 || math.IsNaN(v) {
		t.Errorf("SigmoidScalar(-800) = %g", v)
	}
	if v := nn.SoftplusScalar(-800, 1); v != 0 {
		t.Errorf("SoftplusScalar(-800) = %g", v)
	}
	if v := nn.HardswishScalar(1); math.Abs(v-4.0/6) > 1e-15 {
		t.Errorf("HardswishScalar(1) = %g", v)
	}
	if v := nn.HardsigmoidScalar(1); math.Abs(v-4.0/6) > 1e-15 {
		t.Errorf("HardsigmoidScalar(1) = %g", v)
	}
	if v := nn.ELUScalar(-1, 2); math.Abs(v-2*(math.Exp(-1)-1)) > 1e-15 {
		t.Errorf("ELUScalar(-1, 2) = %g", v)
	}
	if v := nn.SiLUScalar(2); math.Abs(v-2/(1+math.Exp(-2))) > 1e-15 {
		t.Errorf("SiLUScalar(2) = %g", v)
	}
}

// BenchmarkGELU times forward + backward on a [32, 65, 384] float32 MLP activation.
func BenchmarkGELU(b *testing.B) {
	g := nn.NewGELU[float32]()
	x := tensor.Convert[float32](tfmRandn(1, 1, 32, 65, 384))
	for b.Loop() {
		g.Forward(x)
		g.Backward(x)
	}
}

// BenchmarkReLU times forward + backward on a [256, 16, 28, 28] float32 feature map.
func BenchmarkReLU(b *testing.B) {
	r := nn.NewReLU[float32]()
	x := tensor.Convert[float32](tfmRandn(1, 1, 256, 16, 28, 28))
	for b.Loop() {
		r.Forward(x)
		r.Backward(x)
	}
}

// TestGELUFloat32 checks the float32 kernels (rational erf, fast exp) against the float64
// definition on a dense grid, including the tails.
func TestGELUFloat32(t *testing.T) {
	const n = 200001
	x := tensor.New[float32](n)
	for i := range x.Data {
		x.Data[i] = float32(-12 + 24*float64(i)/(n-1))
	}
	g := nn.NewGELU[float32]()
	y := g.Forward(x)
	dy := tensor.New[float32](n)
	dy.Fill(1)
	dx := g.Backward(dy)
	var ey, ed float64
	for i, v := range x.Data {
		xv := float64(v)
		ey = max(ey, math.Abs(float64(y.Data[i])-nn.GELUScalar(xv))/max(1, math.Abs(xv)))
		ed = max(ed, math.Abs(float64(dx.Data[i])-nn.GELUDeriv(xv)))
	}
	if ey > 1.5e-7 || ed > 2e-7 {
		t.Errorf("float32 GELU: value error %.3g (relative to max(1,|x|)), derivative error %.3g", ey, ed)
	}
	t.Logf("float32 GELU: value error %.3g, derivative error %.3g", ey, ed)
}

func TestActivationName(t *testing.T) {
	for _, a := range tfmActivations[float32]() {
		n, ok := a.m.(interface{ Name() string })
		if !ok || n.Name() != a.name {
			t.Errorf("%T: Name() missing or not %q", a.m, a.name)
			continue
		}
		if m, err := nn.NewActivation[float32](n.Name()); err != nil || m.(interface{ Name() string }).Name() != a.name {
			t.Errorf("NewActivation(%q) does not round-trip: %v", a.name, err)
		}
	}
}

// TestActivationFloat32Backward checks every float32 backward (several have their own
// kernels) against float64 on the same inputs.
func TestActivationFloat32Backward(t *testing.T) {
	x64 := tfmAwayFromKinks(300, 5)
	dy64 := tfmRandn(6, 1, 300)
	x32, dy32 := tensor.Convert[float32](x64), tensor.Convert[float32](dy64)
	x64, dy64 = tensor.Convert[float64](x32), tensor.Convert[float64](dy32)
	a32 := tfmActivations[float32]()
	for i, a := range tfmActivations[float64]() {
		a.m.Forward(x64)
		want := a.m.Backward(dy64)
		a32[i].m.Forward(x32)
		got := a32[i].m.Backward(dy32)
		for j := range want.Data {
			if d := math.Abs(float64(got.Data[j]) - want.Data[j]); d > 1e-6*max(1, math.Abs(want.Data[j])) {
				t.Errorf("%s at %g: float32 derivative %g, float64 %g", a.name, x64.Data[j], got.Data[j], want.Data[j])
				break
			}
		}
	}
}
