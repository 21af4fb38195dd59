package onnx

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// Kind classifies a unit for tap placement and for the reverse chain.
type Kind int

// Unit kinds.
const (
	KindLayer      Kind = iota // Conv, Gemm, MatMul (+ Add): the layers with weights
	KindNorm                   // BatchNormalization
	KindAct                    // Relu, LeakyRelu, Sigmoid, Tanh, Gelu
	KindPool                   // MaxPool, AveragePool
	KindGlobalPool             // GlobalAveragePool, ReduceMean over the spatial axes
	KindShape                  // Flatten, Reshape, Dropout: the data pass through
	KindBlock                  // a residual block: a fork and an Add between two cut points
)

func (k Kind) String() string {
	return [...]string{"layer", "norm", "activation", "pool", "global-pool", "shape", "block"}[k]
}

// Unit is one step of an imported model between two single-tensor cut points of the
// graph: one ONNX node (or fused pattern), or a residual block.
type Unit[F tensor.Float] struct {
	Kind    Kind
	Op      string   // ONNX op type ("Linear" for Gemm/MatMul, "Gelu" for the Erf pattern, "Block")
	Name    string   // ONNX node name (of the block's first node)
	Nodes   []string // "op name" of the ONNX nodes in the unit
	In, Out string   // ONNX names of the tensors the unit reads and writes
	Shape   []int    // per-sample output shape
	Module  nn.Module[F]
	params  []nn.Named[F] // with initializer names
}

// Tap is a transitional layer of an imported model: the feature at a cut point.
type Tap struct {
	Name   string // z1 … zK, out
	Cut    int    // the tap is the output of unit Cut−1
	Tensor string // ONNX tensor name
	Shape  []int  // per-sample shape
}

// Model is a network imported from ONNX, built from frpt's layers: units in order, taps
// at the cut points the paper would use (see taps.go), parameters named as the graph's
// initializers (the PyTorch state_dict names torch.onnx.export writes). It implements
// models.Model, models.Fronted and models.Segmented.
type Model[F tensor.Float] struct {
	g       *graph
	dataset string
	units   []*Unit[F]
	params  []nn.Named[F]
	synth   map[string]bool // num_batches_tracked buffers frpt added (not in the graph)
	taps    []Tap
	tapAt   map[string]int // tap name → cut
	fuse    []bool         // fuse[i]: units i, i+1 are ReLU and a 2×2 max pool run as one pass
	acts    []*tensor.T[F] // cut values of the last Forward: acts[0] the input, acts[i] unit i−1's output
	seg     [2]int         // units of the last ForwardSegment
	hasSeg  bool
}

// Units lists the model's steps from the input to the logits.
func (m *Model[F]) Units() []*Unit[F] { return m.units }

// TapList lists the taps (input side first, out last) with their ONNX tensors and shapes.
func (m *Model[F]) TapList() []Tap { return m.taps }

// Cut returns the feature at cut i of the last Forward (0: the input; i: unit i−1's
// output); nil if the last pass did not reach it.
func (m *Model[F]) Cut(i int) *tensor.T[F] {
	if i < len(m.acts) {
		return m.acts[i]
	}
	return nil
}

// TapCut returns the cut index of a tap.
func (m *Model[F]) TapCut(tap string) (int, error) {
	c, ok := m.tapAt[tap]
	if !ok {
		return 0, fmt.Errorf("%s has no tap %q (taps: %v)", m.Arch(), tap, m.TapNames())
	}
	return c, nil
}

// Path is the ONNX file the model was read from.
func (m *Model[F]) Path() string { return m.g.path }

// Notes says what loading changed (a final Softmax left out, …).
func (m *Model[F]) Notes() []string { return m.g.notes }

// Forward computes the logits and records every cut.
func (m *Model[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	m.acts = append(m.acts[:0], x)
	h, _ := m.run(x, 0, len(m.units), true)
	return h
}

// run runs units [lo, hi) on x, recording the cuts when record is set.
func (m *Model[F]) run(x *tensor.T[F], lo, hi int, record bool) (*tensor.T[F], int) {
	h := x
	for i := lo; i < hi; i++ {
		if m.fuse[i] && i+1 < hi {
			a, p := nn.ReLUMaxPool(m.units[i].Module.(*nn.ReLU[F]), m.units[i+1].Module.(*nn.MaxPool2d[F]), h)
			if record {
				m.acts = append(m.acts, a, p)
			}
			h = p
			i++
			continue
		}
		h = m.units[i].Module.Forward(h)
		if record {
			m.acts = append(m.acts, h)
		}
	}
	return h, hi
}

// ForwardTo runs only the units in front of a tap and returns its feature.
func (m *Model[F]) ForwardTo(x *tensor.T[F], tap string) (*tensor.T[F], error) {
	c, err := m.TapCut(tap)
	if err != nil {
		return nil, err
	}
	m.acts = append(m.acts[:0], x)
	h, _ := m.run(x, 0, c, true)
	return h, nil
}

// Backward is BackwardTaps without tap gradients.
func (m *Model[F]) Backward(dy *tensor.T[F]) *tensor.T[F] { return m.BackwardTaps(dy, nil) }

// BackwardTaps backpropagates dOut, adding the tap gradients where the taps are
// produced; it stops below the lowest unit with trainable parameters or a tap gradient
// still to add. A nil dOut starts at the highest tap gradient (after ForwardTo).
func (m *Model[F]) BackwardTaps(dOut *tensor.T[F], tg map[string]*tensor.T[F]) *tensor.T[F] {
	at := make(map[int]*tensor.T[F], len(tg))
	lowest := len(m.units) + 1
	for name, g := range tg {
		if c, ok := m.tapAt[name]; ok && g != nil {
			at[c] = g
			lowest = min(lowest, c)
		}
	}
	lowTrain := -1 // lowest unit with trainable parameters
	for i, u := range m.units {
		if anyTrainable(u.params) {
			lowTrain = i
			break
		}
	}
	g := dOut
	for c := len(m.units); c >= 1; c-- {
		g = addGrad(g, at[c])
		i := c - 1 // the unit producing cut c
		if !(lowTrain >= 0 && lowTrain <= i) && lowest >= c {
			return nil // nothing at or below unit i needs a gradient
		}
		if g == nil {
			continue
		}
		if i >= 1 && m.fuse[i-1] && at[i] == nil {
			g = nn.ReLUMaxPoolBackward(m.units[i-1].Module.(*nn.ReLU[F]), m.units[i].Module.(*nn.MaxPool2d[F]), g)
			c--
			continue
		}
		g = m.units[i].Module.Backward(g)
	}
	return g
}

// addGrad adds extra into g in place (BackwardTaps' gradients are scratch).
func addGrad[F tensor.Float](g, extra *tensor.T[F]) *tensor.T[F] {
	switch {
	case extra == nil:
		return g
	case g == nil:
		return extra
	case g.Numel() != extra.Numel():
		panic(fmt.Sprintf("onnx: tap gradient of shape %v does not match feature %v", extra.Shape, g.Shape))
	}
	tensor.Axpy(1, extra.Data, g.Data)
	return g
}

func anyTrainable[F tensor.Float](ps []nn.Named[F]) bool {
	for _, p := range ps {
		if p.P.Trainable() {
			return true
		}
	}
	return false
}

// Taps returns the tap features of the last Forward (nil for taps it did not reach).
func (m *Model[F]) Taps() map[string]*tensor.T[F] {
	t := make(map[string]*tensor.T[F], len(m.taps))
	for _, tp := range m.taps {
		t[tp.Name] = m.Cut(tp.Cut)
	}
	return t
}

// TapNames lists z1 … zK, out.
func (m *Model[F]) TapNames() []string {
	n := make([]string, len(m.taps))
	for i, t := range m.taps {
		n[i] = t.Name
	}
	return n
}

// Children are the units; post-training at a tap freezes the units after it.
func (m *Model[F]) Children() []nn.Module[F] {
	c := make([]nn.Module[F], len(m.units))
	for i, u := range m.units {
		c[i] = u.Module
	}
	return c
}

// ChildNames names the units by their ONNX nodes ("Conv /c1/Conv", "Block /c2/Conv…").
func (m *Model[F]) ChildNames() []string {
	n := make([]string, len(m.units))
	for i, u := range m.units {
		n[i] = u.Op + " " + u.Name
	}
	return n
}

// SplitIndex is the number of units in front of the tap: those are trained, the rest
// frozen (out: every unit is trained).
func (m *Model[F]) SplitIndex(tap string) (int, error) { return m.TapCut(tap) }

// Params lists the parameters and buffers with their initializer names, in the order the
// layers use them; BatchNorm's num_batches_tracked buffers are included (state_dict
// names) although the graph does not hold them.
func (m *Model[F]) Params() []nn.Named[F] { return m.params }

// SetTraining switches BatchNorm and Dropout between training and evaluation.
func (m *Model[F]) SetTraining(on bool) {
	for _, u := range m.units {
		nn.SetTraining(u.Module, on)
	}
}

// InputGrad makes Backward return the input's gradient (on) or skip it (off, the
// default, as for the zoo's first convolutions).
func (m *Model[F]) InputGrad(on bool) {
	switch l := m.units[0].Module.(type) {
	case *nn.Conv2d[F]:
		l.NoGrad = !on
	case *nn.Linear[F]:
		l.NoGrad = !on
	case *TransposedLinear[F]:
		l.NoGrad = !on
	}
}

// Arch is "onnx:" and the file's base name.
func (m *Model[F]) Arch() string { return "onnx:" + filepath.Base(m.g.path) }

// Config describes the model for checkpoint metadata.
func (m *Model[F]) Config() map[string]string {
	return map[string]string{"onnx": m.g.path, "dataset": m.dataset, "opset": strconv.FormatInt(m.g.opset, 10)}
}

// SegmentBounds lists "in", then the taps.
func (m *Model[F]) SegmentBounds() []string { return append([]string{"in"}, m.TapNames()...) }

// segment returns the units [lo, hi) of segment (from, to).
func (m *Model[F]) segment(from, to string) (int, int, error) {
	lo := 0
	if from != "in" {
		c, err := m.TapCut(from)
		if err != nil {
			return 0, 0, err
		}
		lo = c
	}
	hi, err := m.TapCut(to)
	if err != nil {
		return 0, 0, err
	}
	if hi <= lo {
		return 0, 0, fmt.Errorf("%s has no segment %s→%s (cut points: %v, in input-to-output order)", m.Arch(), from, to, m.SegmentBounds())
	}
	return lo, hi, nil
}

// ForwardSegment runs the units between two cut points (SegmentBounds) on x, the feature
// at from, and returns the feature at to. Taps are left untouched.
func (m *Model[F]) ForwardSegment(x *tensor.T[F], from, to string) (*tensor.T[F], error) {
	lo, hi, err := m.segment(from, to)
	if err != nil {
		return nil, err
	}
	m.seg, m.hasSeg = [2]int{lo, hi}, true
	h, _ := m.run(x, lo, hi, false)
	return h, nil
}

// BackwardSegment backpropagates dy through the units of the last ForwardSegment; with
// inputGrad false it stops at the lowest unit with trainable parameters (skipping its
// input gradient where the layer allows) and returns nil.
func (m *Model[F]) BackwardSegment(dy *tensor.T[F], inputGrad bool) *tensor.T[F] {
	if !m.hasSeg {
		panic("onnx: BackwardSegment without a ForwardSegment")
	}
	lo, hi := m.seg[0], m.seg[1]
	stop := lo
	if !inputGrad {
		stop = -1
		for i := lo; i < hi; i++ {
			if anyTrainable(m.units[i].params) {
				stop = i
				break
			}
		}
		if stop < 0 {
			return nil
		}
	}
	g := dy
	for i := hi - 1; i >= stop; i-- {
		if !inputGrad && i == stop {
			models.WithoutInputGrad(m.units[i].Module, g)
			return nil
		}
		if i-1 >= stop && m.fuse[i-1] {
			g = nn.ReLUMaxPoolBackward(m.units[i-1].Module.(*nn.ReLU[F]), m.units[i].Module.(*nn.MaxPool2d[F]), g)
			i--
			continue
		}
		g = m.units[i].Module.Backward(g)
	}
	return g
}

// SegmentParams lists the parameters of the units in segment (from, to).
func (m *Model[F]) SegmentParams(from, to string) ([]nn.Named[F], error) {
	lo, hi, err := m.segment(from, to)
	if err != nil {
		return nil, err
	}
	var ps []nn.Named[F]
	seen := map[*nn.Param[F]]bool{}
	for _, u := range m.units[lo:hi] {
		for _, p := range u.params {
			if !seen[p.P] {
				seen[p.P] = true
				ps = append(ps, p)
			}
		}
	}
	return ps, nil
}

var (
	_ models.Segmented[float32] = (*Model[float32])(nil)
	_ models.Segmented[float64] = (*Model[float64])(nil)
)

// sameShape compares two per-sample shapes.
func sameShape(a, b []int) bool { return slices.Equal(a, b) }
