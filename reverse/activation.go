package reverse

import (
	"fmt"
	"math"
	"strings"
)

// Activation describes an elementwise activation to reverse: its name (any case, with or
// without underscores: "ReLU", "leaky_relu", ...) and the parameters some rules use.
type Activation struct {
	Name     string
	Min, Max float64 // Hardtanh range (default −1, 1)
	Alpha    float64 // ELU α (default 1)
	Beta     float64 // Softplus β (default 1)
	Slope    float64 // LeakyReLU slope; 0 selects the ReLU rule
}

// GELU constants of spec §4.4: the minimiser of gelu and its value.
const (
	geluZMin  = -0.7517915246935645
	siluZMin  = -1.2784645427610738
	bisectIts = 80
)

func gelu(z float64) float64 { return 0.5 * z * (1 + math.Erf(z/math.Sqrt2)) }
func silu(z float64) float64 { return z / (1 + math.Exp(-z)) }

// ReverseActivation returns ẑ with σ(ẑ) = â (after projecting â onto σ's range) and
// |ẑ − z₀| minimal among pre-images, elementwise (spec §4.4). z0 is the forward
// pre-activation (the anchor). Softmax is reversed by ReverseSoftmax.
func ReverseActivation(act Activation, z0, a []float64) ([]float64, error) {
	if len(z0) != len(a) {
		return nil, fmt.Errorf("reverse.ReverseActivation: anchor has %d values, target %d", len(z0), len(a))
	}
	name := strings.ReplaceAll(strings.ToLower(act.Name), "_", "")
	out := make([]float64, len(a))
	switch name {
	case "relu":
		for i, v := range a {
			if v > 0 {
				out[i] = v
			} else {
				out[i] = min(z0[i], 0)
			}
		}
	case "relu6":
		for i, v := range a {
			v = min(max(v, 0), 6)
			switch v {
			case 0:
				out[i] = min(z0[i], 0)
			case 6:
				out[i] = max(z0[i], 6)
			default:
				out[i] = v
			}
		}
	case "leakyrelu":
		if act.Slope == 0 {
			return ReverseActivation(Activation{Name: "relu"}, z0, a)
		}
		for i, v := range a {
			if v >= 0 {
				out[i] = v
			} else {
				out[i] = v / 0.5 // the original fixes the slope at 0.5 (§10.11)
			}
		}
	case "hardtanh":
		lo, hi := act.Min, act.Max
		if lo == 0 && hi == 0 {
			lo, hi = -1, 1
		}
		for i, v := range a {
			v = min(max(v, lo), hi)
			switch v {
			case lo:
				out[i] = min(z0[i], lo)
			case hi:
				out[i] = max(z0[i], hi)
			default:
				out[i] = v
			}
		}
	case "tanh":
		for i, v := range a {
			out[i] = math.Atanh(min(max(v, -1+1e-6), 1-1e-6))
		}
	case "sigmoid":
		for i, v := range a {
			p := min(max(v, 1e-6), 1-1e-6)
			out[i] = math.Log(p / (1 - p))
		}
	case "hardsigmoid":
		for i, v := range a {
			v = min(max(v, 0), 1)
			switch v {
			case 0:
				out[i] = min(z0[i], -3)
			case 1:
				out[i] = max(z0[i], 3)
			default:
				out[i] = 6*v - 3
			}
		}
	case "elu":
		al := act.Alpha
		if al == 0 {
			al = 1
		}
		for i, v := range a {
			v = max(v, -al+1e-6)
			if v > 0 {
				out[i] = v
			} else {
				out[i] = math.Log(1 + v/al)
			}
		}
	case "softplus":
		be := act.Beta
		if be == 0 {
			be = 1
		}
		for i, v := range a {
			v = max(v, 1e-6)
			out[i] = (be*v + math.Log(-math.Expm1(-be*v))) / be
		}
	case "gelu":
		reverseBisect(out, a, z0, gelu, geluZMin, -30)
	case "silu", "swish":
		reverseBisect(out, a, z0, silu, siluZMin, -60)
	case "hardswish":
		for i, v := range a {
			v = max(v, -0.375)
			disc := math.Sqrt(max(9+24*v, 0))
			rp, rm := (-3+disc)/2, (-3-disc)/2
			switch {
			case v < 0:
				if math.Abs(rm-z0[i]) < math.Abs(rp-z0[i]) {
					out[i] = rm
				} else {
					out[i] = rp
				}
			case v == 0:
				if c := min(z0[i], -3); math.Abs(c-z0[i]) < math.Abs(z0[i]) {
					out[i] = c
				} else {
					out[i] = 0
				}
			case v < 3:
				out[i] = rp
			default:
				out[i] = v
			}
		}
	default:
		return nil, fmt.Errorf("reverse.ReverseActivation: no reverse rule for activation %q", act.Name)
	}
	return out, nil
}

// reverseBisect inverts a function that decreases on (−∞, zMin] and increases on
// [zMin, ∞) (GELU, SiLU) by 80 bisection steps per branch (spec §4.4): targets are clamped
// to f(zMin); the right root is searched on [zMin, h] (â < 0) or [0, h] (â ≥ 0) with
// h = max(max â + 8, 8); for â < 0 the left root on [left, zMin] is chosen iff strictly
// closer to the anchor. The result is the midpoint of the final bracket.
func reverseBisect(out, a, z0 []float64, f func(float64) float64, zMin, left float64) {
	aMin := f(zMin)
	h := 8.0
	for _, v := range a {
		h = max(h, v+8)
	}
	for i, v := range a {
		v = max(v, aMin)
		lo, hi := 0.0, h
		if v < 0 {
			lo = zMin
		}
		for it := 0; it < bisectIts; it++ { // increasing branch
			mid := (lo + hi) / 2
			if f(mid) < v {
				lo = mid
			} else {
				hi = mid
			}
		}
		right := (lo + hi) / 2
		out[i] = right
		if v < 0 {
			lo, hi = left, zMin
			for it := 0; it < bisectIts; it++ { // decreasing branch
				mid := (lo + hi) / 2
				if f(mid) > v {
					lo = mid
				} else {
					hi = mid
				}
			}
			if l := (lo + hi) / 2; math.Abs(l-z0[i]) < math.Abs(right-z0[i]) {
				out[i] = l
			}
		}
	}
}

// ReverseSoftmax reverses softmax along rows of length k (spec §4.4): the target must be
// non-negative with positive row sums; p = renormalised max(â, 1e-12) and
// ẑ = log p + c with c = mean(z₀ − log p) per row (the pre-image closest to the anchor).
func ReverseSoftmax(z0, a []float64, k int) ([]float64, error) {
	if len(z0) != len(a) || k <= 0 || len(a)%k != 0 {
		return nil, fmt.Errorf("reverse.ReverseSoftmax: anchor %d, target %d values, rows of %d", len(z0), len(a), k)
	}
	out := make([]float64, len(a))
	for r := 0; r < len(a)/k; r++ {
		row := a[r*k : (r+1)*k]
		s := 0.0
		for _, v := range row {
			if v < 0 {
				return nil, fmt.Errorf("reverse.ReverseSoftmax: negative target %g in row %d", v, r)
			}
			s += max(v, 1e-12)
		}
		if s == 0 {
			return nil, fmt.Errorf("reverse.ReverseSoftmax: zero row sum in row %d", r)
		}
		c := 0.0
		for j, v := range row {
			lp := math.Log(max(v, 1e-12) / s)
			out[r*k+j] = lp
			c += z0[r*k+j] - lp
		}
		c /= float64(k)
		for j := 0; j < k; j++ {
			out[r*k+j] += c
		}
	}
	return out, nil
}
