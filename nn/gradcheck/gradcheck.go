// Package gradcheck compares a module's hand-written backward with central finite
// differences in float64. It is used by the tests of nn and models.
package gradcheck

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// Result reports the worst disagreement found.
type Result struct {
	MaxRelErr float64 // max over checked entries of |a-n| / max(|a|+|n|, floor)
	Where     string  // which entry
}

// Options tunes the check.
type Options struct {
	Eps     float64 // finite-difference step (default 1e-6)
	Samples int     // entries checked per tensor, 0 = all
	Floor   float64 // denominator floor (default 1e-6)
	Seed    uint64
}

// Check runs the module on x, takes the loss L = Σ w ⊙ forward(x) with a fixed random w,
// and compares the analytic gradients of L with respect to x and every trainable
// parameter against central differences. The module must be deterministic between calls.
func Check(m nn.Module[float64], x *tensor.T[float64], opt Options) Result {
	if opt.Eps == 0 {
		opt.Eps = 1e-6
	}
	if opt.Floor == 0 {
		opt.Floor = 1e-6
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 7))
	y := m.Forward(x)
	w := tensor.New[float64](y.Shape...)
	for i := range w.Data {
		w.Data[i] = rng.NormFloat64()
	}
	loss := func() float64 {
		out := m.Forward(x)
		var s float64
		for i, v := range out.Data {
			s += v * w.Data[i]
		}
		return s
	}
	params := m.Params()
	nn.ZeroGrad(params)
	m.Forward(x)
	dx := m.Backward(w.Clone())
	var res Result
	compare := func(name string, vals []float64, grad []float64) {
		idx := pick(len(vals), opt.Samples, rng)
		for _, i := range idx {
			old := vals[i]
			vals[i] = old + opt.Eps
			lp := loss()
			vals[i] = old - opt.Eps
			lm := loss()
			vals[i] = old
			num := (lp - lm) / (2 * opt.Eps)
			rel := math.Abs(grad[i]-num) / math.Max(math.Abs(grad[i])+math.Abs(num), opt.Floor)
			if rel > res.MaxRelErr || math.IsNaN(rel) {
				res = Result{MaxRelErr: rel, Where: fmt.Sprintf("%s[%d]: analytic %.9g numeric %.9g", name, i, grad[i], num)}
			}
		}
	}
	if dx != nil {
		compare("input", x.Data, dx.Data)
	}
	for _, p := range params {
		if p.P.Trainable() {
			compare(p.Name, p.P.Value.Data, p.P.Grad.Data)
		}
	}
	return res
}

func pick(n, k int, rng *rand.Rand) []int {
	if k <= 0 || k >= n {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rng.Perm(n)[:k]
}
