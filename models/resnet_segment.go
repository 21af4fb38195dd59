package models

import (
	"strconv"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// ResNet as a Segmented model (hierarchical post-training): the cut points are the input
// and the taps, so the segments are the stem (in→z0), each stage (z_{s}→z_{s+1}), the
// global average pool (z4→z5, no parameters) and the classifier (z5→out).

// ops lists the forward sequence conv1, bn1, relu, maxpool, layer1…4, avgpool, flatten, fc.
func (m *ResNet[F]) ops() []layerOp[F] {
	ops := []layerOp[F]{{m.Conv1, "", "conv1"}, {m.BN1, "", "bn1"}, {mod: m.Relu}, {mod: m.MaxPool, tap: "z0"}}
	for s, st := range m.Stages {
		n := strconv.Itoa(s + 1)
		ops = append(ops, layerOp[F]{st, "z" + n, "layer" + n})
	}
	return append(ops, layerOp[F]{mod: m.AvgPool}, layerOp[F]{mod: m.Flat, tap: "z5"}, layerOp[F]{m.FC, "out", "fc"})
}

// SegmentBounds lists "in", z0 … z5, out.
func (m *ResNet[F]) SegmentBounds() []string { return append([]string{"in"}, m.TapNames()...) }

func (m *ResNet[F]) segment(from, to string) ([]layerOp[F], error) {
	return cutOps(m.Arch(), m.ops(), m.SegmentBounds(), from, to)
}

// ForwardSegment runs the layers between two cut points (SegmentBounds) on x, the feature
// at from, and returns the feature at to. Chaining the segments in→z0→…→out equals
// Forward. Taps and the block inputs of Forward are left untouched.
func (m *ResNet[F]) ForwardSegment(x *tensor.T[F], from, to string) (*tensor.T[F], error) {
	seg, err := m.segment(from, to)
	if err != nil {
		return nil, err
	}
	m.seg = seg
	return runOps(seg, x), nil
}

// BackwardSegment backpropagates dy (the gradient at the end of the last ForwardSegment)
// through the segment's layers and returns the gradient at its start; with inputGrad
// false it stops at the lowest layer with trainable parameters and returns nil.
func (m *ResNet[F]) BackwardSegment(dy *tensor.T[F], inputGrad bool) *tensor.T[F] {
	if m.seg == nil {
		panic("models: BackwardSegment without a ForwardSegment")
	}
	return backOps(m.seg, dy, inputGrad)
}

// SegmentParams lists the parameters of segment (from, to), named as in Params
// (layer2.0.conv1.weight, …).
func (m *ResNet[F]) SegmentParams(from, to string) ([]nn.Named[F], error) {
	seg, err := m.segment(from, to)
	if err != nil {
		return nil, err
	}
	return opsParams(seg), nil
}

// ForwardTo runs only the layers in front of a tap and returns its feature (the whole
// network for "out"), recording the taps and block inputs up to it as Forward does;
// BackwardTaps(nil, {tap: g}) then backpropagates from the tap. The decoupled
// post-training mode and the frozen fronts of hierarchical segments use it.
func (m *ResNet[F]) ForwardTo(x *tensor.T[F], tap string) (*tensor.T[F], error) {
	if _, err := m.segment("in", tap); err != nil {
		return nil, err
	}
	m.Z5, m.Out = nil, nil
	h := m.MaxPool.Forward(m.Relu.Forward(m.BN1.Forward(m.Conv1.Forward(x))))
	m.Z[0] = h
	for s := range m.Z[1:] {
		m.Z[s+1] = nil
	}
	if tap == "z0" {
		return h, nil
	}
	for s, st := range m.Stages {
		m.BlockIn[s] = m.BlockIn[s][:0]
		for _, b := range st.Children {
			m.BlockIn[s] = append(m.BlockIn[s], h)
			h = b.Forward(h)
		}
		m.Z[s+1] = h
		if tap == "z"+strconv.Itoa(s+1) {
			return h, nil
		}
	}
	m.Z5 = m.Flat.Forward(m.AvgPool.Forward(h))
	if tap == "z5" {
		return m.Z5, nil
	}
	m.Out = m.FC.Forward(m.Z5)
	return m.Out, nil
}

var _ Segmented[float32] = (*ResNet[float32])(nil)
