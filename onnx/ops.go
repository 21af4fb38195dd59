package onnx

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/frpt/frpt/onnx/onnxpb"
)

// SupportedOps lists the ONNX operators frpt imports (besides the constant arithmetic it
// folds at load time: Constant, Shape, Gather, Unsqueeze, Squeeze, Concat, Cast, Slice).
var SupportedOps = []string{
	"Conv (square kernel, equal strides, symmetric padding, dilation 1, groups 1)",
	"BatchNormalization (inference or training form; frpt switches the mode itself)",
	"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Gelu and its Erf form x·0.5·(1+erf(x/√2))",
	"MaxPool (square, symmetric padding, no ceil mode)", "AveragePool (square, no padding)",
	"GlobalAveragePool", "ReduceMean over the two spatial axes",
	"Flatten (axis 1)", "Reshape / Unsqueeze / Squeeze that keep the batch dimension first",
	"Gemm (transA 0, alpha = beta = 1)", "MatMul with a weight initializer (+ Add of a bias)",
	"Add of two activations (residual connections)", "Identity", "Dropout (identity in eval mode)",
	"Softmax / LogSoftmax as the last node (left out: frpt works on logits)",
}

// unsupported returns the error for an op frpt cannot import.
func (l *loader) unsupported(gn *gnode, why string) error {
	return fmt.Errorf("%w: %w", errUnsupported, l.fail(gn, "%s. frpt imports: %s. Change this part of the model (or its export) to use those", why, strings.Join(SupportedOps, "; ")))
}

// shapeOf returns the per-sample shape of activation input i.
func (l *loader) shapeOf(gn *gnode) []int { return l.act[gn.in[0]] }

// paramArg resolves weight slot i of a node: an initializer, an Identity alias of one,
// or (transposed true) a Transpose of one.
func (l *loader) paramArg(gn *gnode, i int, slot string, optional bool) (name string, c *constant, transposed bool, err error) {
	if i >= len(gn.args) || gn.args[i] == "" {
		if optional {
			return "", nil, false, nil
		}
		return "", nil, false, l.fail(gn, "has no %s input", slot)
	}
	name = gn.args[i]
	if t := l.transp[name]; t != "" {
		src := l.paramSource(t)
		return t, l.inits[src], true, nil
	}
	if src := l.paramSource(name); src != "" {
		return name, l.inits[src], false, nil
	}
	if l.act[name] != nil {
		return "", nil, false, l.unsupported(gn, fmt.Sprintf("its %s %q is computed from the input; frpt needs it to be a weight (an initializer)", slot, name))
	}
	return "", nil, false, l.fail(gn, "its %s %q is not an initializer (frpt trains initializers; export with export_params=True and do_constant_folding=False)", slot, name)
}

// spatial reads the kernel, stride and padding of Conv and the pools: square kernels,
// equal strides and one padding on every side.
func (l *loader) spatial(gn *gnode, kernel []int64) error {
	if len(kernel) != 2 || kernel[0] != kernel[1] || kernel[0] < 1 {
		return l.unsupported(gn, fmt.Sprintf("kernel %v: frpt's layers take square 2-D kernels", kernel))
	}
	gn.k = int(kernel[0])
	st := gn.a.ints("strides")
	if st == nil {
		st = []int64{1, 1}
	}
	if len(st) != 2 || st[0] != st[1] || st[0] < 1 {
		return l.unsupported(gn, fmt.Sprintf("strides %v: frpt's layers take one stride for both axes", st))
	}
	gn.stride = int(st[0])
	pads := gn.a.ints("pads")
	ap := gn.a.str("auto_pad", "NOTSET")
	switch {
	case ap == "VALID":
		pads = nil
	case ap != "NOTSET" && ap != "":
		return l.unsupported(gn, fmt.Sprintf("auto_pad %s: give explicit pads (PyTorch's padding=p)", ap))
	}
	if pads == nil {
		pads = []int64{0, 0, 0, 0}
	}
	if len(pads) != 4 || slices.Min(pads) != slices.Max(pads) || pads[0] < 0 || pads[0] >= kernel[0] {
		return l.unsupported(gn, fmt.Sprintf("pads %v: frpt's layers take the same padding on every side, smaller than the kernel", pads))
	}
	gn.pad = int(pads[0])
	if d := gn.a.ints("dilations"); d != nil && (slices.Min(d) != 1 || slices.Max(d) != 1) {
		return l.unsupported(gn, fmt.Sprintf("dilations %v: frpt supports dilation 1", d))
	}
	if gn.a.int("ceil_mode", 0) != 0 {
		return l.unsupported(gn, "ceil_mode 1: use ceil_mode=False")
	}
	return nil
}

// spatialOut returns the output size of a kernel/stride/pad on an h×w map (0 when the
// kernel does not fit).
func (gn *gnode) spatialOut(h, w int) (int, int) {
	if h+2*gn.pad < gn.k || w+2*gn.pad < gn.k {
		return 0, 0
	}
	return (h+2*gn.pad-gn.k)/gn.stride + 1, (w+2*gn.pad-gn.k)/gn.stride + 1
}

// maxActivation bounds a per-sample activation (2²⁸ values): a graph that would need
// more is refused at load time.
const maxActivation = 1 << 28

// convert checks a node on activations, reads its settings and infers its output shape.
func (l *loader) convert(gn *gnode, n *onnxpb.NodeProto) error {
	x := l.shapeOf(gn)
	need4 := func() error {
		if len(x) != 3 {
			return l.unsupported(gn, fmt.Sprintf("input %q has shape [N %s]; frpt's %s takes [N C H W]", gn.in[0], dimsText(x), gn.op))
		}
		return nil
	}
	single := func() error {
		if len(gn.in) != 1 {
			return l.unsupported(gn, fmt.Sprintf("takes %d activations", len(gn.in)))
		}
		return nil
	}
	if gn.op != "Add" && gn.op != "Mul" && gn.op != "Div" {
		if err := single(); err != nil {
			return err
		}
	}
	switch gn.op {
	case "Conv":
		if err := need4(); err != nil {
			return err
		}
		w, wc, _, err := l.paramArg(gn, 1, "weight", false)
		if err != nil {
			return err
		}
		if len(wc.dims) != 4 {
			return l.fail(gn, "weight %q has shape %v, want [out in kh kw]", w, wc.dims)
		}
		if g := gn.a.int("group", 1); g != 1 {
			return l.unsupported(gn, fmt.Sprintf("group %d: frpt supports groups=1", g))
		}
		k := gn.a.ints("kernel_shape")
		if k == nil {
			k = []int64{int64(wc.dims[2]), int64(wc.dims[3])}
		}
		if len(k) != 2 || int(k[0]) != wc.dims[2] || int(k[1]) != wc.dims[3] {
			return l.fail(gn, "kernel_shape %v does not match weight %q of shape %v", k, w, wc.dims)
		}
		if err := l.spatial(gn, k); err != nil {
			return err
		}
		if wc.dims[1] != x[0] {
			return l.fail(gn, "weight %q of shape %v expects %d input channels, the input %q has %d", w, wc.dims, wc.dims[1], gn.in[0], x[0])
		}
		b, bc, _, err := l.paramArg(gn, 2, "bias", true)
		if err != nil {
			return err
		}
		if b != "" && bc.numel() != wc.dims[0] {
			return l.fail(gn, "bias %q has %d values for %d output channels", b, bc.numel(), wc.dims[0])
		}
		gn.params = []string{w, b}
		ho, wo := gn.spatialOut(x[1], x[2])
		gn.shape = []int{wc.dims[0], ho, wo}
	case "BatchNormalization":
		if len(x) != 3 && len(x) != 1 {
			return l.unsupported(gn, fmt.Sprintf("input %q has shape [N %s]; frpt normalises [N C H W] or [N C]", gn.in[0], dimsText(x)))
		}
		for i, slot := range []string{"scale", "bias", "mean", "variance"} {
			p, c, _, err := l.paramArg(gn, i+1, slot, false)
			if err != nil {
				return err
			}
			if c.numel() != x[0] {
				return l.fail(gn, "%s %q has %d values for %d channels", slot, p, c.numel(), x[0])
			}
			gn.params = append(gn.params, p)
		}
		gn.eps = gn.a.float("epsilon", 1e-5)
		gn.momentum = f32decimal(1 - gn.a.float("momentum", 0.9))
		gn.shape = slices.Clone(x)
	case "Relu", "Sigmoid", "Tanh", "Erf", "Dropout", "Softmax", "LogSoftmax":
		gn.shape = slices.Clone(x)
		if gn.op == "Dropout" {
			gn.ratio = gn.a.float("ratio", 0.5)
			if len(gn.args) > 1 && gn.args[1] != "" {
				if c := l.consts[gn.args[1]]; c != nil && len(c.f) == 1 {
					gn.ratio = f32decimal(float64(c.f[0]))
				} else {
					return l.unsupported(gn, "the dropout ratio is not a constant")
				}
			}
		}
	case "LeakyRelu":
		gn.slope = gn.a.float("alpha", 0.01)
		gn.shape = slices.Clone(x)
	case "Gelu":
		if ap := gn.a.str("approximate", "none"); ap != "none" {
			return l.unsupported(gn, fmt.Sprintf("approximate=%q: frpt's GELU is the exact erf form", ap))
		}
		gn.shape = slices.Clone(x)
	case "MaxPool", "AveragePool":
		if err := need4(); err != nil {
			return err
		}
		if err := l.spatial(gn, gn.a.ints("kernel_shape")); err != nil {
			return err
		}
		if gn.a.int("storage_order", 0) != 0 {
			return l.unsupported(gn, "storage_order 1")
		}
		if gn.op == "AveragePool" && gn.pad != 0 {
			return l.unsupported(gn, fmt.Sprintf("padding %d: frpt's average pooling is unpadded", gn.pad))
		}
		ho, wo := gn.spatialOut(x[1], x[2])
		gn.shape = []int{x[0], ho, wo}
	case "GlobalAveragePool":
		if err := need4(); err != nil {
			return err
		}
		gn.shape = []int{x[0], 1, 1}
	case "ReduceMean":
		if err := need4(); err != nil {
			return err
		}
		axes := slices.Clone(normAxes(gn.a.ints("axes"), 4))
		slices.Sort(axes)
		if !slices.Equal(axes, []int{2, 3}) {
			return l.unsupported(gn, fmt.Sprintf("mean over axes %v: frpt imports the mean over the spatial axes (2, 3) as global average pooling", gn.a.ints("axes")))
		}
		gn.keep = gn.a.int("keepdims", 1) != 0
		gn.shape = []int{x[0]}
		if gn.keep {
			gn.shape = []int{x[0], 1, 1}
		}
	case "Flatten":
		ax := gn.a.int("axis", 1)
		if ax < 0 {
			ax += int64(len(x) + 1)
		}
		if ax != 1 {
			return l.unsupported(gn, fmt.Sprintf("axis %d: frpt flattens everything after the batch dimension (axis 1)", gn.a.int("axis", 1)))
		}
		gn.shape = []int{numel(x)}
	case "Reshape", "Unsqueeze", "Squeeze":
		s, err := l.reshapeTarget(gn, x)
		if err != nil {
			return err
		}
		gn.shape = s
		gn.op = "Reshape"
	case "Gemm":
		if len(x) != 1 {
			return l.unsupported(gn, fmt.Sprintf("input %q has shape [N %s]; Gemm takes [N K]", gn.in[0], dimsText(x)))
		}
		if gn.a.int("transA", 0) != 0 || gn.a.float("alpha", 1) != 1 || gn.a.float("beta", 1) != 1 {
			return l.unsupported(gn, "transA, alpha or beta differ from PyTorch's Linear (0, 1, 1)")
		}
		if err := l.linear(gn, x, gn.a.int("transB", 0) == 0); err != nil {
			return err
		}
		b, bc, _, err := l.paramArg(gn, 2, "bias", true)
		if err != nil {
			return err
		}
		if b != "" && bc.numel() != gn.shape[0] {
			return l.fail(gn, "bias %q has %d values for %d outputs", b, bc.numel(), gn.shape[0])
		}
		gn.params = append(gn.params, b)
		gn.op = "Linear"
	case "MatMul":
		if len(gn.in) != 1 || gn.args[0] != gn.in[0] {
			return l.unsupported(gn, "multiplies two activations (attention); frpt imports MatMul of an activation by a weight")
		}
		if len(x) < 1 {
			return l.unsupported(gn, "multiplies a scalar")
		}
		if err := l.linear(gn, x, true); err != nil {
			return err
		}
		gn.params = append(gn.params, "")
		gn.op = "Linear"
	case "Pad":
		// [0 0 p p 0 0 p p]: zeros around the spatial axes, merged into the next Conv.
		pads := gn.a.ints("pads")
		if len(gn.args) > 1 && l.consts[gn.args[1]] != nil {
			pads = l.consts[gn.args[1]].ints
		}
		if len(x) != 3 || len(pads) != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 ||
			slices.Min(pads[2:4]) != slices.Max(pads[6:8]) || pads[2] != pads[3] || pads[2] != pads[6] || pads[2] < 0 {
			return l.unsupported(gn, fmt.Sprintf("pads %v: frpt reads the same zero padding on every spatial side, followed by a Conv", pads))
		}
		gn.pad = int(pads[2])
		gn.shape = []int{x[0], x[1] + 2*gn.pad, x[2] + 2*gn.pad}
	case "Add", "Mul", "Div":
		gn.shape = slices.Clone(x)
		if len(gn.in) == 2 && !slices.Equal(l.act[gn.in[0]], l.act[gn.in[1]]) {
			return l.unsupported(gn, fmt.Sprintf("%ss [N %s] and [N %s]: frpt adds activations of the same shape (no broadcasting)", gn.op, dimsText(l.act[gn.in[0]]), dimsText(l.act[gn.in[1]])))
		}
	default:
		return l.unsupported(gn, fmt.Sprintf("operator %s is not supported", gn.op))
	}
	if numel(gn.shape) > maxActivation || slices.Min(append([]int{1}, gn.shape...)) < 1 {
		return l.fail(gn, "output shape [N %s] is empty or too large", dimsText(gn.shape))
	}
	return nil
}

// linear reads the weight of Gemm or MatMul: transposed storage [in, out] when inKN
// (MatMul's B, Gemm with transB 0) unless B is a Transpose of an [out, in] initializer.
func (l *loader) linear(gn *gnode, x []int, inKN bool) error {
	w, wc, transposed, err := l.paramArg(gn, 1, "weight", false)
	if err != nil {
		return err
	}
	if len(wc.dims) != 2 {
		return l.unsupported(gn, fmt.Sprintf("weight %q has shape %v; frpt takes a 2-D weight", w, wc.dims))
	}
	if transposed {
		inKN = !inKN
	}
	out, in := wc.dims[0], wc.dims[1]
	if inKN {
		out, in = in, out
	}
	if in != x[len(x)-1] {
		return l.fail(gn, "weight %q of shape %v takes %d inputs, the input %q has %d", w, wc.dims, in, gn.in[0], x[len(x)-1])
	}
	gn.transW = inKN
	gn.params = []string{w}
	gn.shape = append(slices.Clone(x[:len(x)-1]), out)
	return nil
}

// reshapeTarget returns the per-sample output shape of Reshape, Unsqueeze or Squeeze,
// which must keep the batch dimension first and alone.
func (l *loader) reshapeTarget(gn *gnode, x []int) ([]int, error) {
	full := append([]int{-1}, x...) // -1: the batch dimension
	if gn.op != "Reshape" {
		axes := gn.a.ints("axes")
		if len(gn.args) > 1 && gn.args[1] != "" {
			c := l.consts[gn.args[1]]
			if c == nil || !c.isInt || c.symbolic() {
				return nil, l.unsupported(gn, "the axes are not a constant")
			}
			axes = c.ints
		}
		out := slices.Clone(full)
		if gn.op == "Unsqueeze" {
			for _, ax := range slices.Sorted(slices.Values(normAxes(axes, len(full)+len(axes)))) {
				if ax < 1 || ax > len(out) {
					return nil, l.unsupported(gn, fmt.Sprintf("inserts axis %d: the batch dimension must stay first", ax))
				}
				out = slices.Insert(out, ax, 1)
			}
		} else {
			ax := normAxes(axes, len(full))
			if len(axes) == 0 {
				for i := len(full) - 1; i >= 1; i-- {
					if full[i] == 1 {
						ax = append(ax, i)
					}
				}
			}
			slices.Sort(ax)
			for i := len(ax) - 1; i >= 0; i-- {
				if ax[i] < 1 || ax[i] >= len(out) || out[ax[i]] != 1 {
					return nil, l.unsupported(gn, fmt.Sprintf("squeezes axis %d of [N %s]", ax[i], dimsText(x)))
				}
				out = slices.Delete(out, ax[i], ax[i]+1)
			}
		}
		return out[1:], nil
	}
	if len(gn.args) < 2 || l.consts[gn.args[1]] == nil || !l.consts[gn.args[1]].isInt {
		return nil, l.unsupported(gn, "the target shape is computed from activations frpt cannot fold")
	}
	c := l.consts[gn.args[1]]
	allowZero := gn.a.int("allowzero", 0) != 0
	if len(c.ints) == 0 {
		return nil, l.unsupported(gn, "reshapes to a scalar: the batch dimension must stay first")
	}
	var rest []int64
	first := c.ints[0]
	batchFirst := (c.sym != nil && c.sym[0]) || (first == 0 && !allowZero)
	for i, v := range c.ints[1:] {
		if c.sym != nil && c.sym[i+1] {
			return nil, l.unsupported(gn, "moves the batch dimension: frpt needs it to stay first")
		}
		if v == 0 && !allowZero {
			if i+1 >= len(full) {
				return nil, l.fail(gn, "copies dimension %d of [N %s]", i+1, dimsText(x))
			}
			v = int64(full[i+1])
		}
		rest = append(rest, v)
	}
	if !batchFirst && first != -1 {
		return nil, l.unsupported(gn, fmt.Sprintf("reshapes to %v with a fixed batch size %d; export with a dynamic batch (x.view(x.size(0), -1) or dynamic_axes)", c.ints, first))
	}
	if first == -1 && slices.Contains(rest, -1) {
		return nil, l.unsupported(gn, fmt.Sprintf("reshapes to %v: the batch size cannot be inferred", c.ints))
	}
	out, err := reshapeDims(x, rest)
	if err != nil {
		return nil, l.fail(gn, "%v", err)
	}
	return out, nil
}

// check refuses what fusion left over: elementwise arithmetic outside a known pattern,
// a Softmax inside the network.
func (l *loader) check(gn *gnode) error {
	switch gn.op {
	case "Add":
		if len(gn.in) != 2 || gn.in[0] == gn.in[1] {
			return l.unsupported(gn, "adds a constant or an activation to itself; frpt supports Add of two activations (a residual connection) and of a bias after MatMul")
		}
	case "Pad":
		return l.unsupported(gn, "pads an activation that is not read by a Conv alone")
	case "Mul", "Div", "Erf":
		return l.unsupported(gn, "elementwise arithmetic outside the patterns frpt knows (GELU's x·0.5·(1+erf(x/√2)))")
	case "Softmax", "LogSoftmax":
		return l.unsupported(gn, fmt.Sprintf("%s inside the network; frpt accepts it only as the last node", gn.op))
	}
	return nil
}

// constScalar reports whether argument i of gn is a constant with one value near v.
func (l *loader) constScalar(gn *gnode, i int, v float64) bool {
	if i >= len(gn.args) {
		return false
	}
	c := l.consts[gn.args[i]]
	if c == nil || c.numel() != 1 {
		return false
	}
	got := float64(c.asFloats()[0])
	return math.Abs(got-v) <= 1e-6*math.Max(1, math.Abs(v))
}

func dimsText(s []int) string { return strings.Trim(fmt.Sprint(s), "[]") }
