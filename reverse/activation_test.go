package reverse

import (
	"math"
	"math/rand/v2"
	"testing"
)

func forwardAct(name string, z float64, act Activation) float64 {
	switch name {
	case "relu":
		return max(z, 0)
	case "relu6":
		return min(max(z, 0), 6)
	case "hardtanh":
		return min(max(z, -1), 1)
	case "tanh":
		return math.Tanh(z)
	case "sigmoid":
		return 1 / (1 + math.Exp(-z))
	case "hardsigmoid":
		return min(max(z+3, 0), 6) / 6
	case "elu":
		if z > 0 {
			return z
		}
		return math.Expm1(z)
	case "softplus":
		return math.Log1p(math.Exp(z))
	case "gelu":
		return gelu(z)
	case "silu":
		return silu(z)
	case "hardswish":
		return z * min(max(z+3, 0), 6) / 6
	case "leakyrelu":
		if z >= 0 {
			return z
		}
		return 0.5 * z
	}
	panic(name)
}

// Running the forward activation on the reversed value must give back every target in
// the activation's range, and among pre-images the one nearest the anchor is chosen.
func TestActivationInversesReproduceTargets(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	names := []string{"relu", "relu6", "hardtanh", "tanh", "sigmoid", "hardsigmoid", "elu", "softplus", "gelu", "silu", "hardswish", "leakyrelu"}
	for _, name := range names {
		act := Activation{Name: name, Slope: 0.5}
		n := 400
		z0, a := make([]float64, n), make([]float64, n)
		for i := range z0 {
			z0[i] = rng.NormFloat64() * 3
			a[i] = forwardAct(name, rng.NormFloat64()*3, act) // targets in the range
		}
		z, err := ReverseActivation(act, z0, a)
		if err != nil {
			t.Fatal(err)
		}
		for i := range z {
			got := forwardAct(name, z[i], act)
			tol := 1e-9
			if name == "tanh" || name == "sigmoid" {
				tol = 2e-6 // the targets are clipped 1e-6 inside the open range
			}
			if math.Abs(got-a[i]) > tol*(1+math.Abs(a[i])) {
				t.Fatalf("%s: target %.9g, reversed %.9g gives %.9g", name, a[i], z[i], got)
			}
		}
	}
}

func TestActivationRulesNearestPreimage(t *testing.T) {
	z, _ := ReverseActivation(Activation{Name: "ReLU"}, []float64{-2, 3, 1}, []float64{0, 0, 5})
	if z[0] != -2 || z[1] != 0 || z[2] != 5 {
		t.Fatalf("relu: %v", z)
	}
	// GELU target −0.1 has two pre-images; the one nearer the anchor wins.
	for _, z0 := range []float64{-3.0, 0.5} {
		g, _ := ReverseActivation(Activation{Name: "gelu"}, []float64{z0}, []float64{-0.1})
		if math.Abs(gelu(g[0])+0.1) > 1e-12 {
			t.Fatalf("gelu root wrong: %v", g)
		}
		if (z0 < geluZMin) != (g[0] < geluZMin) {
			t.Fatalf("anchor %v: chose root %v on the far branch", z0, g[0])
		}
	}
	if _, err := ReverseActivation(Activation{Name: "mish"}, []float64{0}, []float64{0}); err == nil {
		t.Fatal("unknown activation accepted")
	}
}

func TestSoftmaxReverse(t *testing.T) {
	z0 := []float64{1, 2, 3, -1, 0, 1}
	a := []float64{0.2, 0.3, 0.5, 0.1, 0.1, 0.8}
	z, err := ReverseSoftmax(z0, a, 3)
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 2; r++ {
		s, dz := 0.0, 0.0
		for j := 0; j < 3; j++ {
			s += math.Exp(z[r*3+j])
			dz += z[r*3+j] - z0[r*3+j]
		}
		for j := 0; j < 3; j++ {
			if p := math.Exp(z[r*3+j]) / s; math.Abs(p-a[r*3+j]) > 1e-12 {
				t.Fatalf("softmax(ẑ) = %v want %v", p, a[r*3+j])
			}
		}
		if math.Abs(dz) > 1e-12 {
			t.Fatalf("shift not closest to anchor: Σ(ẑ−z₀) = %v", dz)
		}
	}
	if _, err := ReverseSoftmax([]float64{0, 0}, []float64{-1, 2}, 2); err == nil {
		t.Fatal("negative target accepted")
	}
}
