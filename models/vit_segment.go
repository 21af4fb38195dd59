package models

import (
	"strconv"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// SimpleViT as a Segmented model (hierarchical post-training): the segments are the token
// embedding (in→z0), each block (z_{i−1}→z_i), the class-token selection
// (z_depth→z_{depth+1}, no parameters) and the head (z_{depth+1}→out).

// ops lists the forward sequence token_embed, block1…block_depth, class token, head.
func (m *SimpleViT[F]) ops() []layerOp[F] {
	ops := []layerOp[F]{{m.Embed, "z0", "token_embed"}}
	for i, b := range m.Blocks {
		n := strconv.Itoa(i + 1)
		ops = append(ops, layerOp[F]{b, "z" + n, "block" + n})
	}
	return append(ops, layerOp[F]{mod: &m.cls, tap: "z" + strconv.Itoa(len(m.Blocks)+1)}, layerOp[F]{m.Head, "out", "head"})
}

// SegmentBounds lists "in", z0 … z_{depth+1}, out.
func (m *SimpleViT[F]) SegmentBounds() []string { return append([]string{"in"}, m.TapNames()...) }

func (m *SimpleViT[F]) segment(from, to string) ([]layerOp[F], error) {
	return cutOps(m.Arch(), m.ops(), m.SegmentBounds(), from, to)
}

// ForwardSegment runs the layers between two cut points (SegmentBounds) on x, the feature
// at from, and returns the feature at to. Chaining the segments equals Forward; the taps
// of Forward are left untouched.
func (m *SimpleViT[F]) ForwardSegment(x *tensor.T[F], from, to string) (*tensor.T[F], error) {
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
func (m *SimpleViT[F]) BackwardSegment(dy *tensor.T[F], inputGrad bool) *tensor.T[F] {
	if m.seg == nil {
		panic("models: BackwardSegment without a ForwardSegment")
	}
	return backOps(m.seg, dy, inputGrad)
}

// SegmentParams lists the parameters of segment (from, to), named as in Params
// (block3.attn.in_proj_weight, …).
func (m *SimpleViT[F]) SegmentParams(from, to string) ([]nn.Named[F], error) {
	seg, err := m.segment(from, to)
	if err != nil {
		return nil, err
	}
	return opsParams(seg), nil
}

// ForwardTo runs only the layers in front of a tap and returns its feature (the whole
// network for "out"), recording the taps up to it as Forward does; BackwardTaps(nil,
// {tap: g}) then backpropagates from the tap.
func (m *SimpleViT[F]) ForwardTo(x *tensor.T[F], tap string) (*tensor.T[F], error) {
	if _, err := m.segment("in", tap); err != nil {
		return nil, err
	}
	m.CLS, m.Out = nil, nil
	h := m.Embed.Forward(x)
	m.Z = append(m.Z[:0], h)
	if tap == "z0" {
		return h, nil
	}
	for i, b := range m.Blocks {
		h = b.Forward(h)
		m.Z = append(m.Z, h)
		if tap == "z"+strconv.Itoa(i+1) {
			return h, nil
		}
	}
	m.CLS = m.cls.Forward(h)
	if tap == "out" {
		m.Out = m.Head.Forward(m.CLS)
		return m.Out, nil
	}
	return m.CLS, nil
}

var _ Segmented[float32] = (*SimpleViT[float32])(nil)
