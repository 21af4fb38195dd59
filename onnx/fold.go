package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/frpt/frpt/onnx/onnxpb"
)

// Folding of the constant parts of a graph. Exporters compute the target shape of a
// Reshape from the activation's own shape (x.view(x.size(0), -1) becomes Shape → Gather
// → Unsqueeze → Concat → Reshape, and with do_constant_folding=False it stays so). frpt
// knows every activation's shape except the batch size, so it evaluates these nodes at
// load time, carrying the batch size as a symbol (constant.sym), and the Reshape gets a
// fixed per-sample shape.

// foldable lists the ops folding evaluates.
var foldable = map[string]bool{
	"Identity": true, "Gather": true, "Unsqueeze": true, "Squeeze": true, "Concat": true,
	"Cast": true, "Slice": true, "Reshape": true, "Add": true, "Sub": true, "Mul": true, "Div": true,
	"Neg": true, "Sqrt": true,
}

// fold evaluates node n on constant inputs (in[i] nil for an absent optional input).
func fold(n *onnxpb.NodeProto, in []*constant, opset int64) (*constant, error) {
	a := attrsOf(n)
	arg := func(i int) (*constant, error) {
		if i >= len(in) || in[i] == nil {
			return nil, fmt.Errorf("input %d is missing", i)
		}
		return in[i], nil
	}
	x, err := arg(0)
	if err != nil {
		return nil, err
	}
	switch n.GetOpType() {
	case "Identity":
		return x, nil
	case "Cast":
		to := int32(a.int("to", 0))
		out := &constant{dims: x.dims, sym: x.sym}
		switch to {
		case dtInt64, dtInt32, dtInt8, dtUint8, dtBool:
			out.isInt = true
			out.ints = x.asInts()
		case dtFloat, dtDouble, dtFloat16:
			if x.symbolic() {
				return nil, fmt.Errorf("casts the batch size to a float")
			}
			out.f = x.asFloats()
			out.sym = nil
		default:
			return nil, fmt.Errorf("casts to data type %d", to)
		}
		return out, nil
	case "Gather":
		idx, err := arg(1)
		if err != nil {
			return nil, err
		}
		if len(x.dims) != 1 || a.int("axis", 0) != 0 || !idx.isInt {
			return nil, fmt.Errorf("gathers from a %d-D tensor (frpt folds only gathers from shape vectors)", len(x.dims))
		}
		out := &constant{dims: idx.dims, isInt: x.isInt}
		for _, i := range idx.ints {
			if i < 0 {
				i += int64(x.numel())
			}
			if i < 0 || i >= int64(x.numel()) {
				return nil, fmt.Errorf("index %d out of range for %d values", i, x.numel())
			}
			out.appendFrom(x, int(i))
		}
		return out, nil
	case "Unsqueeze", "Squeeze":
		axes := a.ints("axes")
		if opset >= 13 && len(in) > 1 && in[1] != nil {
			axes = in[1].ints
		}
		out := *x
		out.dims = slices.Clone(x.dims)
		if n.GetOpType() == "Unsqueeze" {
			r := len(x.dims) + len(axes)
			for _, ax := range normAxes(axes, r) {
				if ax < 0 || ax > len(out.dims) {
					return nil, fmt.Errorf("axis out of range")
				}
				out.dims = slices.Insert(out.dims, ax, 1)
			}
			return &out, nil
		}
		if len(axes) == 0 {
			out.dims = slices.DeleteFunc(out.dims, func(d int) bool { return d == 1 })
			return &out, nil
		}
		ax := normAxes(axes, len(x.dims))
		slices.Sort(ax)
		for i := len(ax) - 1; i >= 0; i-- {
			if ax[i] < 0 || ax[i] >= len(out.dims) || out.dims[ax[i]] != 1 {
				return nil, fmt.Errorf("squeezes an axis that is not 1")
			}
			out.dims = slices.Delete(out.dims, ax[i], ax[i]+1)
		}
		return &out, nil
	case "Concat":
		out := &constant{isInt: x.isInt}
		for i := range in {
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			if len(v.dims) > 1 || v.isInt != x.isInt {
				return nil, fmt.Errorf("concatenates non-vectors")
			}
			for j := 0; j < v.numel(); j++ {
				out.appendFrom(v, j)
			}
		}
		out.dims = []int{max(len(out.ints), len(out.f))}
		return out, nil
	case "Slice":
		if len(x.dims) != 1 {
			return nil, fmt.Errorf("slices a %d-D tensor (frpt folds only slices of shape vectors)", len(x.dims))
		}
		var starts, ends []int64
		step := int64(1)
		if opset >= 10 {
			s, err1 := arg(1)
			e, err2 := arg(2)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("needs starts and ends")
			}
			starts, ends = s.ints, e.ints
			if len(in) > 4 && in[4] != nil && len(in[4].ints) == 1 {
				step = in[4].ints[0]
			}
		} else {
			starts, ends = a.ints("starts"), a.ints("ends")
		}
		if len(starts) != 1 || len(ends) != 1 || step != 1 {
			return nil, fmt.Errorf("slices with more than one axis or a step")
		}
		n := int64(x.numel())
		lo, hi := clampIndex(starts[0], n), clampIndex(ends[0], n)
		out := &constant{isInt: x.isInt}
		for i := lo; i < hi; i++ {
			out.appendFrom(x, int(i))
		}
		out.dims = []int{int(max(hi-lo, 0))}
		return out, nil
	case "Reshape":
		s, err := arg(1)
		if err != nil {
			return nil, err
		}
		if x.symbolic() || s.symbolic() {
			return nil, fmt.Errorf("reshapes a shape vector by the batch size")
		}
		dims, err := reshapeDims(x.dims, s.ints)
		if err != nil {
			return nil, err
		}
		out := *x
		out.dims = dims
		return &out, nil
	case "Neg", "Sqrt":
		if x.symbolic() || (x.isInt && n.GetOpType() == "Sqrt") {
			return nil, fmt.Errorf("is applied to the batch size")
		}
		out := &constant{dims: x.dims, isInt: x.isInt}
		if x.isInt {
			for _, v := range x.ints {
				out.ints = append(out.ints, -v)
			}
			return out, nil
		}
		for _, v := range x.f {
			if n.GetOpType() == "Neg" {
				out.f = append(out.f, -v)
			} else {
				out.f = append(out.f, float32(math.Sqrt(float64(v))))
			}
		}
		return out, nil
	}
	// Binary arithmetic: Add, Sub, Mul, Div (same shapes or a scalar operand).
	y, err := arg(1)
	if err != nil {
		return nil, err
	}
	if x.symbolic() || y.symbolic() {
		return nil, fmt.Errorf("does arithmetic on the batch size")
	}
	if x.isInt != y.isInt {
		return nil, fmt.Errorf("mixes integer and float operands")
	}
	if x.numel() != y.numel() && x.numel() != 1 && y.numel() != 1 {
		return nil, fmt.Errorf("broadcasts shapes %v and %v", x.dims, y.dims)
	}
	out := &constant{dims: x.dims, isInt: x.isInt}
	if x.numel() == 1 {
		out.dims = y.dims
	}
	m := max(x.numel(), y.numel())
	pick := func(c *constant, i int) int { return min(i, c.numel()-1) }
	op := n.GetOpType()
	for i := 0; i < m; i++ {
		if x.isInt {
			p, q := x.ints[pick(x, i)], y.ints[pick(y, i)]
			if op == "Div" && q == 0 {
				return nil, fmt.Errorf("divides by zero")
			}
			out.ints = append(out.ints, arith(op, p, q))
			continue
		}
		out.f = append(out.f, arith(op, x.f[pick(x, i)], y.f[pick(y, i)]))
	}
	return out, nil
}

// arith applies the binary operation op (Add, Sub, Mul, Div) to p and q.
func arith[T int64 | float32](op string, p, q T) T {
	switch op {
	case "Add":
		return p + q
	case "Sub":
		return p - q
	case "Mul":
		return p * q
	}
	return p / q
}

// appendFrom appends element i of src (with its batch-size mark).
func (c *constant) appendFrom(src *constant, i int) {
	if src.isInt {
		c.ints = append(c.ints, src.ints[i])
		s := src.sym != nil && src.sym[i]
		if s && c.sym == nil {
			c.sym = make([]bool, len(c.ints)-1)
		}
		if c.sym != nil {
			c.sym = append(c.sym, s)
		}
		return
	}
	c.f = append(c.f, src.f[i])
}

func (c *constant) asInts() []int64 {
	if c.isInt {
		return c.ints
	}
	out := make([]int64, len(c.f))
	for i, v := range c.f {
		out[i] = int64(v)
	}
	return out
}

func (c *constant) asFloats() []float32 {
	if !c.isInt {
		return c.f
	}
	out := make([]float32, len(c.ints))
	for i, v := range c.ints {
		out[i] = float32(v)
	}
	return out
}

func clampIndex(i, n int64) int64 {
	if i < 0 {
		i += n
	}
	return min(max(i, 0), n)
}

// normAxes maps negative axes of a rank-r tensor to non-negative ones.
func normAxes(axes []int64, r int) []int {
	out := make([]int, len(axes))
	for i, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		out[i] = int(a)
	}
	return out
}

// reshapeDims resolves a Reshape target (0 copies the input dimension, −1 is inferred)
// for a static input shape.
func reshapeDims(in []int, shape []int64) ([]int, error) {
	out := make([]int, len(shape))
	infer := -1
	known := 1
	for i, s := range shape {
		switch {
		case s == 0:
			if i >= len(in) {
				return nil, fmt.Errorf("copies dimension %d of a rank-%d tensor", i, len(in))
			}
			out[i] = in[i]
		case s == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("has two −1 entries in %v", shape)
			}
			infer = i
			continue
		case s < 0 || s > maxConstElems:
			return nil, fmt.Errorf("has entry %d in %v", s, shape)
		default:
			out[i] = int(s)
		}
		known *= out[i]
		if known > maxConstElems {
			return nil, fmt.Errorf("target %v is too large", shape)
		}
	}
	total := numel(in)
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot infer −1 in %v for %d values", shape, total)
		}
		out[infer] = total / known
		known = total
	}
	if known != total {
		return nil, fmt.Errorf("target %v holds %d values, the input %v has %d", shape, known, in, total)
	}
	return out, nil
}
