package reverse

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/onnx"
	"github.com/frpt/frpt/tensor"
)

// The reverse chain of a model imported from ONNX, derived from its units: from the
// output target, every unit is reversed with its forward input as the anchor, down to
// the lowest tap, with the single-layer operators of this package for the sequential
// units and the composite solver (§4.8) for residual blocks:
//
//	Conv                  Conv2D.Reverse (opt.ConvMethod; fft_pad needs stride 1, so
//	                      strided convolutions use cg)
//	Gemm / MatMul (+Add)  LinearFromForward (§4.1)
//	BatchNormalization    ReverseBatchNorm (§4.6)
//	activations           ReverseActivation (§4.4)
//	MaxPool / AveragePool ReversePool when kernel = stride and no padding (§4.3); other
//	                      pools (overlapping, padded) as a composite block
//	global average pool   ReverseGlobalAvgPool by projection x₀ + (τ − mean x₀) unless
//	                      GraphPoolBroadcast (the paper's broadcast)
//	Flatten / Reshape     the target reshaped (§4.5); Dropout is the identity
//	residual block        Composite (Gauss–Newton or VJP-Adam, damping ResNetDamping)
//
// Unless GraphSolveUnchanged, a sample whose target at a unit's output equals the
// forward output keeps the unit's forward input: that is the exact answer of every
// operator's problem (the closest point to the anchor among inputs giving the target),
// which the float64 solvers only reach up to rounding (and fft_pad, which ignores the
// anchor, not at all). So a correctly classified sample, whose nearest-embedding target
// is its own logits, keeps its forward feature at every tap (gap 0).

// graphStep is the prepared reverse operator of one unit.
type graphStep struct {
	method string // for frpt info and the tap diagnostics
	conv   *Conv2D
	lin    linearF64
	bn     *nn.BatchNorm2d[float32]
	act    Activation
	pool   PoolKind
	k      int
	global bool // global average pool
	shape  bool // data pass through
	comp   nn.Module[float32]
}

// graphChain is the prepared chain of an imported model.
type graphChain struct {
	m     *onnx.Model[float32]
	steps []graphStep
	low   int // the lowest tap's cut: the chain stops there
}

// GraphStep describes the reverse operator of one unit of an imported model.
type GraphStep struct {
	Unit   string // op and ONNX node name
	Kind   string
	Out    string // ONNX tensor the unit writes
	Shape  []int  // its per-sample shape
	Tap    string // the tap at the unit's output ("" if none)
	Method string // reverse operator; "-" below the lowest tap (never reversed)
}

// DescribeGraph lists, unit by unit, the reverse operator the chain of an imported model
// uses with options opt.
func DescribeGraph(m *onnx.Model[float32], opt ChainOptions) ([]GraphStep, error) {
	gc, err := newGraphChain(m, opt)
	if err != nil {
		return nil, err
	}
	tapAt := map[int]string{}
	for _, t := range m.TapList() {
		tapAt[t.Cut] = t.Name
	}
	var out []GraphStep
	for i, u := range m.Units() {
		s := GraphStep{Unit: u.Op + " " + u.Name, Kind: u.Kind.String(), Out: u.Out, Shape: u.Shape, Tap: tapAt[i+1], Method: "-"}
		if i >= gc.low {
			s.Method = gc.steps[i].method
		}
		out = append(out, s)
	}
	return out, nil
}

func newGraphChain(m *onnx.Model[float32], opt ChainOptions) (*graphChain, error) {
	gc := &graphChain{m: m, low: m.TapList()[0].Cut}
	project := !opt.GraphPoolBroadcast || opt.GlobalPoolProjection
	for _, u := range m.Units() {
		var s graphStep
		switch l := u.Module.(type) {
		case *nn.Conv2d[float32]:
			rc := NewConv2D(toF64(l.Weight.Value.Data), nil, l.Out, l.In, l.K, l.K)
			if l.Bias != nil {
				rc.Bias = toF64(l.Bias.Value.Data)
			}
			rc.Stride, rc.Pad = l.Stride, l.Pad
			s.conv = rc
			s.method = "conv-" + string(convMethodFor(rc, opt.Options))
		case *nn.Linear[float32]:
			s.lin, s.method = linearOf(l), "linear"
		case *onnx.TransposedLinear[float32]:
			w := make([]float64, l.In*l.Out)
			for i := 0; i < l.In; i++ {
				for j := 0; j < l.Out; j++ {
					w[j*l.In+i] = float64(l.Weight.Value.Data[i*l.Out+j])
				}
			}
			s.lin = linearF64{w: w, m: l.Out, n: l.In}
			if l.Bias != nil {
				s.lin.b = toF64(l.Bias.Value.Data)
			}
			s.method = "linear"
		case *nn.BatchNorm2d[float32]:
			s.bn, s.method = l, "batchnorm"
		case *onnx.BatchNorm1d[float32]:
			s.bn, s.method = l.BN, "batchnorm"
		case *nn.LeakyReLU[float32]:
			s.act, s.method = Activation{Name: "leakyrelu", Slope: l.Slope}, "leakyrelu"
		case *nn.MaxPool2d[float32]:
			if l.K == l.Stride && l.Pad == 0 {
				s.pool, s.k, s.method = MaxPool, l.K, "maxpool"
			} else {
				s.comp, s.method = l, "composite (overlapping max pool)"
			}
		case *nn.AvgPool2d[float32]:
			if l.K == l.Stride {
				s.pool, s.k, s.method = AvgPool, l.K, "avgpool"
			} else {
				s.comp, s.method = l, "composite (overlapping average pool)"
			}
		case *onnx.GlobalPool[float32]:
			s.global, s.method = true, "globalpool-broadcast"
			if project {
				s.method = "globalpool-projection"
			}
		case *nn.Flatten[float32], *onnx.Reshape[float32], *onnx.Dropout[float32]:
			s.shape, s.method = true, "reshape"
		case *onnx.Block[float32]:
			s.comp, s.method = l, fmt.Sprintf("composite-%s (damping %g)", opt.CompositeMethod, opt.ResNetDamping)
		case interface{ Name() string }:
			s.act, s.method = Activation{Name: l.Name()}, l.Name()
		default:
			return nil, fmt.Errorf("reverse: no reverse operator for %s %s (%T)", u.Op, u.Name, u.Module)
		}
		gc.steps = append(gc.steps, s)
	}
	return gc, nil
}

// convMethodFor is the method a convolution is reversed with: the configured one, or CG
// where an FFT method cannot take the layer (stride > 1).
func convMethodFor(c *Conv2D, opt Options) ConvMethod {
	m := opt.ConvMethod
	if m == "" {
		m = ConvFFTPad
	}
	if c.Stride > 1 && (m == ConvFFTPad || m == ConvFFTBoundary) {
		return ConvCG
	}
	return m
}

// runGraph walks an imported model backwards from the output target o (spec §1.2 step 3).
func (c *Chain) runGraph(r *Reconstruction, fwd map[string]*tensor.T[float32], o []float64, start time.Time) error {
	gc := c.graph
	m := gc.m
	units := m.Units()
	n := len(units)
	// The cut features of the forward pass (the solvers run forward passes of their own).
	cuts := make([]*tensor.T[float32], n+1)
	for i := gc.low - 1; i <= n; i++ {
		if i >= 0 {
			cuts[i] = m.Cut(i).Clone()
		}
	}
	tapAt := map[int]string{}
	for _, t := range m.TapList() {
		tapAt[t.Cut] = t.Name
	}
	target := o
	var methods []string
	td := &TapDiag{}
	for cut := n; cut > gc.low; cut-- {
		u, s := units[cut-1], &gc.steps[cut-1]
		anchor, forward := cuts[cut-1], cuts[cut]
		x, d, comp, err := c.graphStep(s, anchor, forward, target)
		if err != nil {
			return fmt.Errorf("reverse %s %s: %w", u.Op, u.Name, err)
		}
		if !c.opt.GraphSolveUnchanged {
			keepUnchanged(x, anchor, forward, target)
		}
		target = x
		methods = append(methods, d.Method)
		td.Fallbacks += d.Fallbacks
		if comp != nil { // as the zoo chains record their composite blocks
			td.History = append(td.History, comp.History...)
			td.Guarded = td.Guarded || comp.Guarded
		}
		if d.Method != "reshape" && !strings.HasPrefix(d.Method, "composite") {
			td.RelResid = d.RelResid
		}
		if tap := tapAt[cut-1]; tap != "" {
			slices.Reverse(methods)
			td.Method = strings.Join(methods, "+")
			c.record(r, fwd, tap, target, td, start)
			methods, td = nil, &TapDiag{}
		}
	}
	return nil
}

// keepUnchanged gives every sample whose target equals its forward output (exactly) its
// forward input.
func keepUnchanged(x []float64, anchor, forward *tensor.T[float32], target []float64) {
	b := anchor.Shape[0]
	na, nf := anchor.Numel()/b, forward.Numel()/b
	for s := 0; s < b; s++ {
		same := true
		for j := s * nf; j < (s+1)*nf; j++ {
			if target[j] != float64(forward.Data[j]) {
				same = false
				break
			}
		}
		if same {
			for j := s * na; j < (s+1)*na; j++ {
				x[j] = float64(anchor.Data[j])
			}
		}
	}
}

// graphStep reverses one unit: the anchor is its forward input, forward its output. A
// composite block also returns the solver's result (error history, guard).
func (c *Chain) graphStep(s *graphStep, anchor, forward *tensor.T[float32], target []float64) ([]float64, Diag, *CompositeResult, error) {
	sh := anchor.Shape
	n := sh[0]
	switch {
	case s.conv != nil:
		opt := c.opt.Options
		opt.ConvMethod = convMethodFor(s.conv, opt)
		x, d, err := s.conv.Reverse(toF64(anchor.Data), n, sh[2], sh[3], target, opt)
		return x, d, nil, err
	case s.lin.w != nil:
		x, d, err := LinearFromForward(s.lin.w, s.lin.b, s.lin.m, s.lin.n, toF64(anchor.Data), toF64(forward.Data), target, c.opt.Options)
		return x, d, nil, err
	case s.bn != nil:
		ch := s.bn.Weight.Value.Numel()
		x, err := ReverseBatchNorm(target, n, ch, anchor.Numel()/(n*ch), toF64(s.bn.Weight.Value.Data), toF64(s.bn.Bias.Value.Data),
			toF64(s.bn.RunningMean.Value.Data), toF64(s.bn.RunningVar.Value.Data), s.bn.Eps)
		return x, Diag{Method: s.method}, nil, err
	case s.act.Name != "":
		x, err := ReverseActivation(s.act, toF64(anchor.Data), target)
		return x, Diag{Method: s.method}, nil, err
	case s.k > 0:
		x, err := ReversePool(s.pool, toF64(anchor.Data), n, sh[1], sh[2], sh[3], s.k, s.k, target, 0)
		return x, Diag{Method: s.method}, nil, err
	case s.global:
		x, err := ReverseGlobalAvgPool(toF64(anchor.Data), n, sh[1], sh[2], sh[3], target, s.method == "globalpool-projection")
		return x, Diag{Method: s.method}, nil, err
	case s.shape:
		return target, Diag{Method: s.method}, nil, nil
	}
	opt := c.opt.Options
	opt.CompositeDamping = c.opt.ResNetDamping
	t := tensor.New[float32](forward.Shape...)
	copy(t.Data, toF32(target))
	z, res, err := Composite[float32](s.comp, anchor.Clone(), t, opt)
	if err != nil {
		return nil, Diag{}, nil, err
	}
	d := Diag{Method: "composite-" + res.Method}
	if len(res.History) > 0 {
		d.RelResid = res.History[len(res.History)-1]
	}
	return toF64(z.Data), d, &res, nil
}
