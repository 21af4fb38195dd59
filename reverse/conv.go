package reverse

import (
	"fmt"
	"math"
	"sync"

	"github.com/frpt/frpt/tensor"
)

// Conv2D is a convolution layer to reverse (spec §4.2): weight [Cout, Cin, KH, KW]
// row-major (PyTorch layout), optional bias (length Cout), equal stride and zero padding
// on both axes, dilation 1, groups 1. A Conv2D caches per-weight work (FFT systems per
// input size, the operator-norm estimate, dense matrices), so the weight must not be
// changed after the first Reverse call; build a new Conv2D for new weights. It is safe for
// concurrent use.
type Conv2D struct {
	Weight            []float64
	Bias              []float64
	Cout, Cin, KH, KW int
	Stride, Pad       int

	mu    sync.Mutex
	cache map[any]any // per input size: FFT systems, CG plans, norm estimates, dense matrices
}

// NewConv2D returns a Conv2D for a weight [cout, cin, kh, kw] and optional bias, with
// stride 1 and no padding; set Stride and Pad for other layers.
func NewConv2D(weight, bias []float64, cout, cin, kh, kw int) *Conv2D {
	return &Conv2D{Weight: weight, Bias: bias, Cout: cout, Cin: cin, KH: kh, KW: kw, Stride: 1}
}

// shape returns the tensor.ConvShape for a batch of n inputs of h×w.
func (c *Conv2D) shape(n, h, w int) tensor.ConvShape {
	s := c.Stride
	if s < 1 {
		s = 1
	}
	return tensor.ConvShape{N: n, Cin: c.Cin, H: h, W: w, Cout: c.Cout, KH: c.KH, KW: c.KW, Stride: s, Pad: c.Pad}
}

// OutSize returns the output height and width for an h×w input.
func (c *Conv2D) OutSize(h, w int) (int, int) { return c.shape(1, h, w).OutSize() }

// Forward returns the bias-free convolution A x of a batch of n inputs of h×w.
func (c *Conv2D) Forward(x []float64, n, h, w int) []float64 {
	s := c.shape(n, h, w)
	ho, wo := s.OutSize()
	y := make([]float64, n*c.Cout*ho*wo)
	tensor.Conv2dForward(s, x, c.Weight, nil, y)
	return y
}

// Adjoint returns Aᵀ y (the transposed convolution) for outputs of n inputs of h×w.
func (c *Conv2D) Adjoint(y []float64, n, h, w int) []float64 {
	s := c.shape(n, h, w)
	x := make([]float64, n*c.Cin*h*w)
	tensor.Conv2dBackward(s, make([]float64, len(x)), c.Weight, y, x, nil, nil)
	return x
}

// cached returns the value stored under key (any comparable value), building it once
// with build.
func (c *Conv2D) cached(key any, build func() any) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil {
		c.cache = map[any]any{}
	}
	v, ok := c.cache[key]
	if !ok {
		v = build()
		c.cache[key] = v
	}
	return v
}

// Reverse solves for the input of a batch: anchor holds n inputs of Cin×h×w, target n
// outputs of Cout×Ho×Wo (with bias). The method is opt.ConvMethod (spec §4.2): dense
// matrix, CG, fft_pad or fft_oldbound. The FFT methods need stride 1; dense and CG
// accept any stride and padding. Diag.RelResid is the mean relative residual
// ‖A x̂ + β − ŷ‖/‖ŷ‖ of the true (non-circular) convolution.
func (c *Conv2D) Reverse(anchor []float64, n, h, w int, target []float64, opt Options) ([]float64, Diag, error) {
	if len(c.Weight) != c.Cout*c.Cin*c.KH*c.KW || (c.Bias != nil && len(c.Bias) != c.Cout) {
		return nil, Diag{}, fmt.Errorf("reverse.Conv2D: weight has %d values (want %d×%d×%d×%d), bias %d", len(c.Weight), c.Cout, c.Cin, c.KH, c.KW, len(c.Bias))
	}
	ho, wo := c.OutSize(h, w)
	if ho < 1 || wo < 1 {
		return nil, Diag{}, fmt.Errorf("reverse.Conv2D: a %d×%d kernel (stride %d, padding %d) does not fit a %d×%d input", c.KH, c.KW, c.Stride, c.Pad, h, w)
	}
	if len(anchor) != n*c.Cin*h*w || len(target) != n*c.Cout*ho*wo {
		return nil, Diag{}, fmt.Errorf("reverse.Conv2D: anchor has %d values (want %d×%d×%d×%d), target %d (want %d×%d×%d×%d)",
			len(anchor), n, c.Cin, h, w, len(target), n, c.Cout, ho, wo)
	}
	b := target // bias-free target, read only
	if c.Bias != nil {
		b = append([]float64(nil), target...)
		for i := 0; i < n; i++ {
			for co := 0; co < c.Cout; co++ {
				blk := b[(i*c.Cout+co)*ho*wo : (i*c.Cout+co+1)*ho*wo]
				for j := range blk {
					blk[j] -= c.Bias[co]
				}
			}
		}
	}
	var (
		x    []float64
		diag Diag
		err  error
	)
	method := opt.ConvMethod
	if method == "" {
		method = ConvFFTPad
	}
	switch method {
	case ConvFFTPad, ConvFFTBoundary:
		if c.Stride > 1 {
			return nil, Diag{}, fmt.Errorf("reverse.Conv2D: method %s needs stride 1 (this layer has stride %d); use %s or %s", method, c.Stride, ConvDense, ConvCG)
		}
		x, diag, err = c.reverseFFT(anchor, n, h, w, b, opt, method == ConvFFTBoundary)
	case ConvDense:
		x, diag, err = c.reverseDense(anchor, n, h, w, b, opt)
	case ConvCG:
		x, diag, err = c.reverseCG(anchor, n, h, w, b, opt)
	default:
		return nil, Diag{}, fmt.Errorf("reverse.Conv2D: unknown method %q (want %s, %s, %s or %s)", method, ConvDense, ConvCG, ConvFFTPad, ConvFFTBoundary)
	}
	if err != nil {
		return nil, diag, err
	}
	diag.Samples = n
	if !opt.SkipResidual {
		diag.RelResid = c.relResid(x, n, h, w, b, target)
	}
	return x, diag, nil
}

// relResid is the mean over samples of ‖A x − b‖/‖ŷ‖.
func (c *Conv2D) relResid(x []float64, n, h, w int, b, target []float64) float64 {
	y := c.Forward(x, n, h, w)
	m := len(y) / max(n, 1)
	s := 0.0
	for i := 0; i < n; i++ {
		d := 0.0
		for j := i * m; j < (i+1)*m; j++ {
			d += (y[j] - b[j]) * (y[j] - b[j])
		}
		s += math.Sqrt(d) / max(norm2(target[i*m:(i+1)*m]), 1e-300)
	}
	return s / float64(max(n, 1))
}
