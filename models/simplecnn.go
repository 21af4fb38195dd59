package models

import (
	"fmt"
	"strconv"

	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// ConvSpec is one convolution of a SimpleCNN: output channels and kernel size.
type ConvSpec struct{ Out, K int }

// SimpleCNNConfig describes a SimpleCNN (spec §5.1): stride-1 unpadded convolutions with
// bias, 2×2 max pooling after each convolution except the last (after every one when
// PoolLast, the MNIST variant), then one FC layer (Hidden = 0, MNIST) or two.
type SimpleCNNConfig struct {
	Version    int
	Dataset    string
	InCh, Size int
	Convs      []ConvSpec
	PoolLast   bool
	Hidden     int
	Classes    int
	Activation string // "relu" (all reported checkpoints) or "tanh"
}

// SimpleCNNFor returns the spec's configuration of version v for a dataset.
func SimpleCNNFor(dataset string, v int) (SimpleCNNConfig, error) {
	shape, err := data.InputShape(dataset)
	if err != nil {
		return SimpleCNNConfig{}, err
	}
	k, _ := data.NumClasses(dataset)
	c := SimpleCNNConfig{Version: v, Dataset: dataset, InCh: shape[0], Size: shape[1], Classes: k, Activation: "relu"}
	table := map[string]map[int][]ConvSpec{
		"mnist":         {1: {{2, 5}, {4, 5}}, 2: {{3, 5}, {3, 5}}},
		"cifar10":       {1: {{5, 5}, {10, 3}, {15, 3}}, 2: {{10, 5}, {10, 3}, {10, 3}}, 3: {{15, 5}, {10, 3}, {5, 3}}, 4: {{5, 5}, {10, 3}, {15, 3}}, 5: {{15, 5}, {10, 3}, {5, 3}}},
		"cifar100":      {1: {{10, 5}, {15, 3}, {20, 3}}, 2: {{18, 5}, {18, 3}, {18, 3}}},
		"tiny-imagenet": {1: {{10, 5}, {25, 3}, {35, 3}, {45, 3}}, 2: {{45, 5}, {45, 3}, {45, 3}, {45, 3}}},
		"imagenette":    {1: {{10, 25}, {15, 17}, {20, 11}, {25, 5}, {30, 3}}, 2: {{16, 25}, {16, 17}, {16, 11}, {16, 5}, {16, 3}}},
	}
	hidden := map[string]int{"cifar10": 128, "cifar100": 256, "tiny-imagenet": 512, "imagenette": 128}
	key := dataset
	switch dataset {
	case "fashion-mnist":
		key = "mnist"
	case "imagewoof":
		key = "imagenette"
	}
	specs, ok := table[key][v]
	if !ok {
		return c, fmt.Errorf("simplecnn-v%d is not defined for %s (spec §5.1)", v, dataset)
	}
	c.Convs = specs
	if key == "mnist" {
		c.PoolLast = true
	} else {
		c.Hidden = hidden[key]
		if key == "cifar10" && (v == 4 || v == 5) {
			c.Hidden = 64
		}
	}
	return c, nil
}

// SimpleCNN is the paper's small convolutional network. Taps: z_i = conv_i output
// (pre-activation), z_{L+1} = fc1 output when there is a hidden layer, out = logits.
type SimpleCNN[F tensor.Float] struct {
	Cfg   SimpleCNNConfig
	Convs []*nn.Conv2d[F]
	Acts  []nn.Module[F]     // activation after each conv
	Pools []*nn.MaxPool2d[F] // nil where no pool follows
	Flat  *nn.Flatten[F]
	FC1   *nn.Linear[F]
	FCAct nn.Module[F]  // activation after fc1 (two-FC variants)
	FC2   *nn.Linear[F] // nil in the MNIST variant

	// Intermediates of the last Forward, for the reverse chain: Z (conv outputs), A
	// (activations), P (pooled maps; A where no pool), Flatten input/output, ZFC (fc1
	// output), AFC (its activation), Out (logits).
	Z, A, P  []*tensor.T[F]
	FlatIn   *tensor.T[F]
	FlatOut  *tensor.T[F]
	ZFC, AFC *tensor.T[F]
	Out      *tensor.T[F]

	seg []layerOp[F] // layers run by the last ForwardSegment, for BackwardSegment
}

func newAct[F tensor.Float](name string) nn.Module[F] {
	if name == "tanh" {
		return nn.NewTanh[F]()
	}
	return nn.NewReLU[F]()
}

// NewSimpleCNN builds a SimpleCNN with Xavier-uniform weights and PyTorch default biases.
func NewSimpleCNN[F tensor.Float](cfg SimpleCNNConfig, seed uint64) *SimpleCNN[F] {
	rng := nn.NewRand(seed)
	m := &SimpleCNN[F]{Cfg: cfg, Flat: nn.NewFlatten[F]()}
	in, size := cfg.InCh, cfg.Size
	for i, s := range cfg.Convs {
		c := nn.NewConv2d[F](in, s.Out, s.K, 1, 0, true, rng)
		nn.XavierUniform(c.Weight.Value, in*s.K*s.K, s.Out*s.K*s.K, rng)
		m.Convs = append(m.Convs, c)
		m.Acts = append(m.Acts, newAct[F](cfg.Activation))
		size = size - s.K + 1
		if i < len(cfg.Convs)-1 || cfg.PoolLast {
			m.Pools = append(m.Pools, nn.NewMaxPool2d[F](2, 2, 0))
			size /= 2
		} else {
			m.Pools = append(m.Pools, nil)
		}
		in = s.Out
	}
	m.Convs[0].NoGrad = true
	flat := in * size * size
	if cfg.Hidden > 0 {
		m.FC1 = nn.NewLinear[F](flat, cfg.Hidden, true, rng)
		nn.XavierUniform(m.FC1.Weight.Value, flat, cfg.Hidden, rng)
		m.FCAct = newAct[F](cfg.Activation)
		m.FC2 = nn.NewLinear[F](cfg.Hidden, cfg.Classes, true, rng)
		nn.XavierUniform(m.FC2.Weight.Value, cfg.Hidden, cfg.Classes, rng)
	} else {
		m.FC1 = nn.NewLinear[F](flat, cfg.Classes, true, rng)
		nn.XavierUniform(m.FC1.Weight.Value, flat, cfg.Classes, rng)
	}
	return m
}

// Forward computes the logits and records every intermediate.
func (m *SimpleCNN[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	m.Z, m.A, m.P = m.Z[:0], m.A[:0], m.P[:0]
	h := x
	for i, c := range m.Convs {
		z := c.Forward(h)
		a, p := m.actPool(i, z)
		m.Z, m.A, m.P = append(m.Z, z), append(m.A, a), append(m.P, p)
		h = p
	}
	m.FlatIn = h
	m.FlatOut = m.Flat.Forward(h)
	if m.FC2 == nil {
		m.Out = m.FC1.Forward(m.FlatOut)
		return m.Out
	}
	m.ZFC = m.FC1.Forward(m.FlatOut)
	m.AFC = m.FCAct.Forward(m.ZFC)
	m.Out = m.FC2.Forward(m.AFC)
	return m.Out
}

// actPool runs activation i and the pool after it (if any) on z and returns both outputs:
// a ReLU and a 2×2 pool in one pass (nn.ReLUMaxPool, the same bits).
func (m *SimpleCNN[F]) actPool(i int, z *tensor.T[F]) (a, p *tensor.T[F]) {
	r, ok := m.Acts[i].(*nn.ReLU[F])
	if ok && m.Pools[i] != nil {
		return nn.ReLUMaxPool(r, m.Pools[i], z)
	}
	a = m.Acts[i].Forward(z)
	if m.Pools[i] == nil {
		return a, a
	}
	return a, m.Pools[i].Forward(a)
}

// actPoolBackward backpropagates g through pool i (if any) and activation i.
func (m *SimpleCNN[F]) actPoolBackward(i int, g *tensor.T[F]) *tensor.T[F] {
	r, ok := m.Acts[i].(*nn.ReLU[F])
	if ok && m.Pools[i] != nil {
		return nn.ReLUMaxPoolBackward(r, m.Pools[i], g)
	}
	if m.Pools[i] != nil {
		g = m.Pools[i].Backward(g)
	}
	return m.Acts[i].Backward(g)
}

// ForwardTo runs only the layers in front of a tap and returns its feature (the whole
// network for "out"). The decoupled post-training mode trains the front this way.
func (m *SimpleCNN[F]) ForwardTo(x *tensor.T[F], tap string) (*tensor.T[F], error) {
	if tap == "out" {
		return m.Forward(x), nil
	}
	L := len(m.Convs)
	var k int
	if _, err := fmt.Sscanf(tap, "z%d", &k); err != nil || k < 1 || k > L+1 || (k == L+1 && m.FC2 == nil) {
		return nil, fmt.Errorf("%s has no tap %q", m.Arch(), tap)
	}
	m.Z, m.A, m.P = m.Z[:0], m.A[:0], m.P[:0]
	h := x
	for i, c := range m.Convs {
		z := c.Forward(h)
		m.Z = append(m.Z, z)
		if i+1 == k {
			return z, nil
		}
		a, p := m.actPool(i, z)
		m.A, m.P = append(m.A, a), append(m.P, p)
		h = p
	}
	m.FlatIn = h
	m.FlatOut = m.Flat.Forward(h)
	m.ZFC = m.FC1.Forward(m.FlatOut)
	return m.ZFC, nil
}

// Backward is BackwardTaps without tap gradients.
func (m *SimpleCNN[F]) Backward(dy *tensor.T[F]) *tensor.T[F] { return m.BackwardTaps(dy, nil) }

// BackwardTaps backpropagates dOut, adding tapGrads where the taps are produced. It
// stops below the lowest layer with trainable parameters or a tap gradient still to add.
func (m *SimpleCNN[F]) BackwardTaps(dOut *tensor.T[F], tapGrads map[string]*tensor.T[F]) *tensor.T[F] {
	// A nil dOut starts the backward pass at the highest tap gradient (after ForwardTo).
	L := len(m.Convs)
	g := addGrad(dOut, tapGrads["out"])
	if m.FC2 != nil {
		if g != nil {
			g = m.FCAct.Backward(m.FC2.Backward(g))
		}
		g = addGrad(g, tapGrads["z"+strconv.Itoa(L+1)])
	}
	if g != nil {
		g = m.Flat.Backward(m.FC1.Backward(g))
	}
	for i := L - 1; i >= 0; i-- {
		if g != nil {
			g = m.actPoolBackward(i, g)
		}
		g = addGrad(g, tapGrads["z"+strconv.Itoa(i+1)])
		if g == nil {
			continue
		}
		if i > 0 && !anyTrainable[F](m.Convs[:i+1]) && !hasTapBelow(tapGrads, i) {
			return nil // nothing below needs a gradient
		}
		g = m.Convs[i].Backward(g)
	}
	return g
}

func anyTrainable[F tensor.Float](cs []*nn.Conv2d[F]) bool {
	for _, c := range cs {
		for _, p := range c.Params() {
			if p.P.Trainable() {
				return true
			}
		}
	}
	return false
}

func hasTapBelow[F tensor.Float](tg map[string]*tensor.T[F], i int) bool {
	for k := 1; k <= i; k++ {
		if tg["z"+strconv.Itoa(k)] != nil {
			return true
		}
	}
	return false
}

// Taps returns z1…z_K and out of the last Forward.
func (m *SimpleCNN[F]) Taps() map[string]*tensor.T[F] {
	t := map[string]*tensor.T[F]{"out": m.Out}
	for i, z := range m.Z {
		t["z"+strconv.Itoa(i+1)] = z
	}
	if m.FC2 != nil {
		t["z"+strconv.Itoa(len(m.Convs)+1)] = m.ZFC
	}
	return t
}

// TapNames lists z1…z_K, out.
func (m *SimpleCNN[F]) TapNames() []string {
	var n []string
	k := len(m.Convs)
	if m.FC2 != nil {
		k++
	}
	for i := 1; i <= k; i++ {
		n = append(n, "z"+strconv.Itoa(i))
	}
	return append(n, "out")
}

// ChildNames: conv1…convL, fc1[, fc2], pooling.
func (m *SimpleCNN[F]) ChildNames() []string {
	var n []string
	for i := range m.Convs {
		n = append(n, "conv"+strconv.Itoa(i+1))
	}
	n = append(n, "fc1")
	if m.FC2 != nil {
		n = append(n, "fc2")
	}
	return append(n, "pooling")
}

// Children in ChildNames order (pooling is the parameter-free max-pool).
func (m *SimpleCNN[F]) Children() []nn.Module[F] {
	var c []nn.Module[F]
	for _, cv := range m.Convs {
		c = append(c, cv)
	}
	c = append(c, m.FC1)
	if m.FC2 != nil {
		c = append(c, m.FC2)
	}
	return append(c, nn.NewMaxPool2d[F](2, 2, 0))
}

// SplitIndex maps a tap to the first frozen child: z_i → i, out → number of children − 1
// (spec §5.1: MNIST out 3, z2 2, z1 1; CIFAR out 5, z4 4, …).
func (m *SimpleCNN[F]) SplitIndex(tap string) (int, error) {
	splits := map[string]int{"out": len(m.ChildNames()) - 1}
	for i, n := range m.TapNames() {
		if n != "out" {
			splits[n] = i + 1
		}
	}
	return splitIndex(m.Arch(), splits, tap)
}

// Params lists conv1.weight, conv1.bias, …, fc1.*, fc2.*.
func (m *SimpleCNN[F]) Params() []nn.Named[F] {
	return namedChildren(m.ChildNames(), m.Children())
}

// Arch is "simplecnn-vN".
func (m *SimpleCNN[F]) Arch() string { return "simplecnn-v" + strconv.Itoa(m.Cfg.Version) }

// Config describes the model for checkpoint metadata.
func (m *SimpleCNN[F]) Config() map[string]string {
	return map[string]string{"dataset": m.Cfg.Dataset, "version": strconv.Itoa(m.Cfg.Version), "activation": m.Cfg.Activation}
}

// Segmented is implemented by models that can be cut at their taps into segments trained
// on their own (the hierarchical post-training mode): segment (from, to) is the layers
// after boundary from up to and including the layer that produces tap to.
type Segmented[F tensor.Float] interface {
	Model[F]
	Fronted[F]
	// SegmentBounds lists the cut points from the input side: "in" (the input image),
	// then TapNames (z1 … z_K, out).
	SegmentBounds() []string
	// ForwardSegment runs the layers of segment (from, to) on x, the feature at from,
	// and returns the feature at to. It does not update Taps.
	ForwardSegment(x *tensor.T[F], from, to string) (*tensor.T[F], error)
	// BackwardSegment backpropagates dy, the gradient at the end of the last
	// ForwardSegment, through its layers, adding the parameter gradients. With inputGrad
	// false it stops at the lowest layer with trainable parameters and returns nil.
	BackwardSegment(dy *tensor.T[F], inputGrad bool) *tensor.T[F]
	// SegmentParams lists the parameters of segment (from, to) with their model names.
	SegmentParams(from, to string) ([]nn.Named[F], error)
}

// ops lists the forward sequence conv1, act1, pool1, …, flatten, fc1[, act, fc2].
func (m *SimpleCNN[F]) ops() []layerOp[F] {
	var ops []layerOp[F]
	for i, c := range m.Convs {
		n := strconv.Itoa(i + 1)
		ops = append(ops, layerOp[F]{c, "z" + n, "conv" + n}, layerOp[F]{mod: m.Acts[i]})
		if m.Pools[i] != nil {
			ops = append(ops, layerOp[F]{mod: m.Pools[i]})
		}
	}
	ops = append(ops, layerOp[F]{mod: m.Flat})
	if m.FC2 == nil {
		return append(ops, layerOp[F]{m.FC1, "out", "fc1"})
	}
	return append(ops, layerOp[F]{m.FC1, "z" + strconv.Itoa(len(m.Convs)+1), "fc1"}, layerOp[F]{mod: m.FCAct}, layerOp[F]{m.FC2, "out", "fc2"})
}

// segment returns the layers of segment (from, to).
func (m *SimpleCNN[F]) segment(from, to string) ([]layerOp[F], error) {
	return cutOps(m.Arch(), m.ops(), m.SegmentBounds(), from, to)
}

// SegmentBounds lists "in", z1 … z_K, out.
func (m *SimpleCNN[F]) SegmentBounds() []string { return append([]string{"in"}, m.TapNames()...) }

// ForwardSegment runs the layers between two cut points (SegmentBounds): from "in" it
// takes the input image, from z_i the pre-activation conv (or fc1) output, and it
// returns z_j or the logits. Chaining the segments in→z1→…→out equals Forward. Taps
// and the intermediates of Forward are left untouched.
func (m *SimpleCNN[F]) ForwardSegment(x *tensor.T[F], from, to string) (*tensor.T[F], error) {
	seg, err := m.segment(from, to)
	if err != nil {
		return nil, err
	}
	m.seg = seg
	return runOps(seg, x), nil
}

// BackwardSegment backpropagates dy (the gradient at the end of the last ForwardSegment)
// through the segment's layers and returns the gradient at its start. With inputGrad
// false (training a segment on its own) it stops at the lowest layer with trainable
// parameters, skips that layer's input gradient and returns nil. The input image never
// gets a gradient (conv1 has NoGrad).
func (m *SimpleCNN[F]) BackwardSegment(dy *tensor.T[F], inputGrad bool) *tensor.T[F] {
	if m.seg == nil {
		panic("models: BackwardSegment without a ForwardSegment")
	}
	return backOps(m.seg, dy, inputGrad)
}

// WithoutInputGrad runs a layer's Backward for its parameter gradients only (the first
// layer of a segment, whose input needs no gradient).
func WithoutInputGrad[F tensor.Float](mod nn.Module[F], g *tensor.T[F]) {
	switch l := mod.(type) {
	case *nn.Conv2d[F]:
		old := l.NoGrad
		l.NoGrad = true
		l.Backward(g)
		l.NoGrad = old
	case *nn.Linear[F]:
		old := l.NoGrad
		l.NoGrad = true
		l.Backward(g)
		l.NoGrad = old
	default:
		mod.Backward(g)
	}
}

func anyTrainableParam[F tensor.Float](ps []nn.Named[F]) bool {
	for _, p := range ps {
		if p.P.Trainable() {
			return true
		}
	}
	return false
}

// SegmentParams lists the parameters of the layers in segment (from, to), named as in
// Params (conv2.weight, …).
func (m *SimpleCNN[F]) SegmentParams(from, to string) ([]nn.Named[F], error) {
	seg, err := m.segment(from, to)
	if err != nil {
		return nil, err
	}
	return opsParams(seg), nil
}

var _ Segmented[float32] = (*SimpleCNN[float32])(nil)
