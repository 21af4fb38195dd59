package onnx

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/frpt/frpt/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// Opset range frpt reads (the default "ai.onnx" domain).
const (
	MinOpset = 11
	MaxOpset = 17
)

// gnode is one layer of the network after loading: an ONNX node on activations (or a
// fused pattern of several), with its constant operands resolved and its output shape
// known.
type gnode struct {
	op     string   // ONNX op type; "Linear" (MatMul [+ Add]) and "Gelu" (the Erf pattern) for fused patterns
	name   string   // ONNX node name (of the first node of a fused pattern)
	index  int      // position of that node in the file
	in     []string // activation inputs
	args   []string // every input, Identity renames resolved ("" for an absent optional one)
	params []string // parameter names in the op's weight slots ("" for an absent optional one)
	out    string   // activation output
	shape  []int    // per-sample output shape (the batch dimension left out)
	a      attrs

	k, stride, pad int     // Conv, MaxPool, AveragePool
	eps, momentum  float64 // BatchNormalization (momentum in PyTorch's convention)
	slope, ratio   float64 // LeakyRelu, Dropout
	keep           bool    // ReduceMean keepdims
	transW         bool    // Linear: the weight is stored [in, out] (MatMul without Transpose, Gemm transB=0)
	fused          []int   // file positions of the nodes a fused pattern replaced
}

// where names a node in error messages.
func (n *gnode) where() string { return fmt.Sprintf("node %q (%s, #%d)", n.name, n.op, n.index) }

// param is a trainable tensor or buffer of the graph: an initializer, or the output of an
// Identity on an initializer (the exporter's deduplication of equal parameters, which
// PyTorch keeps as separate tensors).
type param struct {
	name  string
	value *constant
	// alias is the initializer an Identity copied (the ONNX file keeps one copy for both);
	// "" for a plain initializer.
	alias string
	// buffer marks BatchNorm running statistics; synth a num_batches_tracked buffer frpt
	// adds so that the state_dict it writes loads strictly into the PyTorch module (it is
	// not in the graph).
	buffer, synth bool
}

// graph is a checked, simplified ONNX classifier.
type graph struct {
	path    string
	model   *onnxpb.ModelProto
	opset   int64
	input   string
	inShape []int // per-sample input shape, as the dataset delivers it
	flatIn  bool  // the graph reads flattened images [N, C·H·W]
	output  string
	nodes   []*gnode
	params  []*param
	byName  map[string]*param
	notes   []string // what loading changed, for frpt info
}

// Error is a problem with an ONNX file: which file, which node (if any) and what to do.
type Error struct {
	Path string
	Node string // node name and op type, "" for file-level problems
	Msg  string
}

func (e *Error) Error() string {
	if e.Node == "" {
		return fmt.Sprintf("onnx %s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("onnx %s: %s: %s", e.Path, e.Node, e.Msg)
}

// ReadModel reads and decodes an ONNX file.
func ReadModel(path string) (*onnxpb.ModelProto, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return DecodeModel(b, path)
}

// DecodeModel decodes the bytes of an ONNX file (path is only used in messages).
func DecodeModel(b []byte, path string) (*onnxpb.ModelProto, error) {
	if len(b) == 0 {
		return nil, &Error{Path: path, Msg: "empty file"}
	}
	mp := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(b, mp); err != nil {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("not an ONNX model (protobuf: %v); truncated or another format?", err)}
	}
	if mp.GetGraph() == nil {
		return nil, &Error{Path: path, Msg: "no graph in the file (not an ONNX model, or truncated)"}
	}
	return mp, nil
}

// loader holds the state of one pass over a graph's nodes.
type loader struct {
	g       *graph
	inits   map[string]*constant
	consts  map[string]*constant // folded constants, including the initializers
	act     map[string][]int     // activation tensors and their per-sample shapes
	rename  map[string]string    // Identity outputs on activations → their input
	aliases map[string]string    // Identity outputs on initializers → the initializer
	transp  map[string]string    // Transpose(perm 1,0) outputs on initializers → the initializer
	extra   map[string]*gnode    // outputs frpt does not compute (BatchNorm's running statistics, Dropout's mask)
	nodes   []*gnode
}

func (l *loader) fail(n *gnode, format string, args ...any) error {
	return &Error{Path: l.g.path, Node: n.where(), Msg: fmt.Sprintf(format, args...)}
}

// newGraph checks and simplifies mp for inputs of per-sample shape inShape ([C, H, W]).
func newGraph(mp *onnxpb.ModelProto, path string, inShape []int) (*graph, error) {
	g := &graph{path: path, model: mp, byName: map[string]*param{}}
	ferr := func(format string, args ...any) error { return &Error{Path: path, Msg: fmt.Sprintf(format, args...)} }
	for _, o := range mp.GetOpsetImport() {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			g.opset = o.GetVersion()
		}
	}
	if g.opset < MinOpset || g.opset > MaxOpset {
		return nil, ferr("opset %d: frpt reads opsets %d–%d (export with torch.onnx.export(..., opset_version=14))", g.opset, MinOpset, MaxOpset)
	}
	gp := mp.GetGraph()
	l := &loader{g: g, inits: map[string]*constant{}, consts: map[string]*constant{}, act: map[string][]int{},
		extra: map[string]*gnode{}, rename: map[string]string{}, aliases: map[string]string{}, transp: map[string]string{}}
	for _, t := range gp.GetInitializer() {
		if _, dup := l.inits[t.GetName()]; dup || t.GetName() == "" {
			return nil, ferr("initializer %q is defined twice (or has no name)", t.GetName())
		}
		c, err := decodeTensor(t)
		if err != nil {
			return nil, ferr("%v", err)
		}
		l.inits[t.GetName()], l.consts[t.GetName()] = c, c
	}
	if len(gp.GetSparseInitializer()) > 0 {
		return nil, ferr("the graph has sparse initializers, which frpt does not read")
	}
	var inputs []*onnxpb.ValueInfoProto
	for _, in := range gp.GetInput() {
		if _, isInit := l.inits[in.GetName()]; !isInit {
			inputs = append(inputs, in)
		}
	}
	if len(inputs) != 1 || len(gp.GetOutput()) != 1 {
		return nil, ferr("the graph has %d inputs and %d outputs; frpt imports classifiers with one image input and one logits output", len(inputs), len(gp.GetOutput()))
	}
	if err := g.checkInput(inputs[0], inShape); err != nil {
		return nil, err
	}
	g.input, g.output = inputs[0].GetName(), gp.GetOutput()[0].GetName()
	l.act[g.input] = slices.Clone(inShape)
	if g.flatIn {
		l.act[g.input] = []int{numel(inShape)}
	}
	for i, n := range gp.GetNode() {
		if err := l.node(i, n); err != nil {
			return nil, err
		}
	}
	out := l.resolve(g.output)
	if _, ok := l.act[out]; !ok {
		return nil, ferr("the graph output %q does not depend on the input (or is not computed)", g.output)
	}
	if err := l.finish(out); err != nil {
		return nil, err
	}
	return g, nil
}

// checkInput compares the graph input's declared shape with the dataset's images.
func (g *graph) checkInput(in *onnxpb.ValueInfoProto, inShape []int) error {
	tt := in.GetType().GetTensorType()
	if tt == nil {
		return &Error{Path: g.path, Msg: fmt.Sprintf("input %q is not a tensor", in.GetName())}
	}
	if et := tt.GetElemType(); et != dtFloat {
		return &Error{Path: g.path, Msg: fmt.Sprintf("input %q has element type %s; frpt feeds float images (export with a float32 dummy input)", in.GetName(), onnxpb.TensorProto_DataType(et))}
	}
	dims := tt.GetShape().GetDim()
	if tt.GetShape() == nil {
		g.inShape = slices.Clone(inShape)
		return nil
	}
	want := fmt.Sprintf("[N %s] or [N %d]", strings.Trim(fmt.Sprint(inShape), "[]"), numel(inShape))
	var got []string
	for _, d := range dims {
		if d.GetDimParam() != "" || d.GetDimValue() <= 0 {
			got = append(got, "?")
		} else {
			got = append(got, fmt.Sprint(d.GetDimValue()))
		}
	}
	switch {
	case len(dims) == len(inShape)+1:
		for i, d := range dims[1:] {
			if v := d.GetDimValue(); v > 0 && int(v) != inShape[i] {
				return &Error{Path: g.path, Msg: fmt.Sprintf("input %q has shape [%s], the dataset's images need %s", in.GetName(), strings.Join(got, " "), want)}
			}
		}
	case len(dims) == 2:
		if v := dims[1].GetDimValue(); v > 0 && int(v) != numel(inShape) {
			return &Error{Path: g.path, Msg: fmt.Sprintf("input %q has shape [%s], the dataset's images need %s", in.GetName(), strings.Join(got, " "), want)}
		}
		g.flatIn = true
	default:
		return &Error{Path: g.path, Msg: fmt.Sprintf("input %q has shape [%s], the dataset's images need %s", in.GetName(), strings.Join(got, " "), want)}
	}
	g.inShape = slices.Clone(inShape)
	return nil
}

// resolve follows Identity renames of activations.
func (l *loader) resolve(name string) string {
	for i := 0; i < 1000; i++ {
		r, ok := l.rename[name]
		if !ok {
			return name
		}
		name = r
	}
	return name
}

// node reads one ONNX node: constants are folded, nodes on activations become gnodes.
func (l *loader) node(i int, n *onnxpb.NodeProto) error {
	gn := &gnode{op: n.GetOpType(), name: n.GetName(), index: i, a: attrsOf(n)}
	if gn.name == "" {
		gn.name = fmt.Sprintf("%s_%d", gn.op, i)
	}
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		return l.fail(gn, "operator domain %q: frpt reads only standard ONNX operators", d)
	}
	if len(n.GetOutput()) == 0 || n.GetOutput()[0] == "" {
		return l.fail(gn, "has no output")
	}
	var actIn []string
	ins := make([]*constant, len(n.GetInput()))
	for j, name := range n.GetInput() {
		if name == "" {
			continue
		}
		name = l.resolve(name)
		switch {
		case l.act[name] != nil:
			actIn = append(actIn, name)
		case l.consts[name] != nil:
			ins[j] = l.consts[name]
		case l.aliases[name] != "" || l.transp[name] != "":
		case l.extra[name] != nil:
			return l.fail(gn, "reads %q, an extra output of %s that frpt does not compute (BatchNormalization's running statistics in training form, MaxPool's indices, Dropout's mask)", name, l.extra[name].where())
		default:
			return l.fail(gn, "reads %q before it is computed (the nodes are not in topological order, or the tensor does not exist)", n.GetInput()[j])
		}
	}
	if len(actIn) == 0 {
		return l.constNode(gn, n, ins)
	}
	if n.GetOpType() == "Shape" {
		return l.shapeNode(gn, n, actIn[0])
	}
	if n.GetOpType() == "Identity" {
		l.rename[n.GetOutput()[0]] = actIn[0]
		return nil
	}
	if n.GetOpType() == "Pad" {
		if zero, err := l.zeroPad(gn, n, ins); err != nil || zero {
			if zero {
				l.rename[n.GetOutput()[0]] = actIn[0]
			}
			return err
		}
	}
	for _, name := range n.GetInput() {
		gn.args = append(gn.args, l.resolve(name))
	}
	gn.in = actIn
	gn.out = n.GetOutput()[0]
	for _, o := range n.GetOutput()[1:] {
		if o != "" {
			l.extra[o] = gn
		}
	}
	if err := l.convert(gn, n); err != nil {
		return err
	}
	l.act[gn.out] = gn.shape
	l.nodes = append(l.nodes, gn)
	return nil
}

// zeroPad reports whether a Pad adds nothing (PyTorch's avg_pool2d writes one with zero
// pads at opset 11); a Pad that adds zeros on the spatial axes of a [N C H W] tensor is
// left to convert, which merges it into the Conv reading it.
func (l *loader) zeroPad(gn *gnode, n *onnxpb.NodeProto, ins []*constant) (bool, error) {
	pads := gn.a.ints("pads")
	if len(ins) > 1 && ins[1] != nil {
		pads = ins[1].ints
	}
	if m := gn.a.str("mode", "constant"); m != "constant" {
		return false, l.fail(gn, "pads in mode %q; frpt reads zero padding (mode constant)", m)
	}
	if len(ins) > 2 && ins[2] != nil && ins[2].numel() == 1 && ins[2].asFloats()[0] != 0 {
		return false, l.fail(gn, "pads with the value %g; frpt reads zero padding", ins[2].asFloats()[0])
	}
	for _, p := range pads {
		if p != 0 {
			return false, nil
		}
	}
	return true, nil
}

// constNode folds a node whose inputs are all constant.
func (l *loader) constNode(gn *gnode, n *onnxpb.NodeProto, ins []*constant) error {
	out := n.GetOutput()[0]
	switch op := n.GetOpType(); {
	case op == "Constant":
		c, err := constantValue(n)
		if err != nil {
			return l.fail(gn, "%v", err)
		}
		l.consts[out] = c
		return nil
	case op == "Identity" && len(n.GetInput()) == 1 && l.paramSource(l.resolve(n.GetInput()[0])) != "":
		// The exporter stored one copy of parameters with equal values (e.g. untrained
		// BatchNorm weights): the output is a parameter of its own in PyTorch.
		l.aliases[out] = l.paramSource(l.resolve(n.GetInput()[0]))
		return nil
	case op == "Transpose" && len(n.GetInput()) == 1:
		src := l.paramSource(l.resolve(n.GetInput()[0]))
		perm := gn.a.ints("perm")
		if src != "" && len(l.inits[src].dims) == 2 && (perm == nil || slices.Equal(perm, []int64{1, 0})) {
			l.transp[out] = l.resolve(n.GetInput()[0])
			return nil
		}
	case foldable[op]:
		c, err := fold(n, ins, l.g.opset)
		if err != nil {
			return l.fail(gn, "computes a constant frpt cannot fold: it %v", err)
		}
		l.consts[out] = c
		return nil
	}
	return l.fail(gn, "computes a constant with an operator frpt does not fold (Constant, Identity, Shape, Gather, Unsqueeze, Squeeze, Concat, Cast, Slice, Reshape and integer arithmetic are folded); export with do_constant_folding=True or remove the computation")
}

// paramSource returns the initializer a tensor name stands for ("" if none): itself, or
// the initializer an Identity aliases.
func (l *loader) paramSource(name string) string {
	if c := l.inits[name]; c != nil && !c.isInt {
		return name
	}
	if a := l.aliases[name]; a != "" {
		return a
	}
	return ""
}

// shapeNode folds Shape(activation) into [N, dims…] with N symbolic.
func (l *loader) shapeNode(gn *gnode, n *onnxpb.NodeProto, in string) error {
	s := l.act[in]
	c := &constant{isInt: true, ints: []int64{1}, sym: []bool{true}}
	for _, d := range s {
		c.ints = append(c.ints, int64(d))
		c.sym = append(c.sym, false)
	}
	r := int64(len(c.ints))
	start, end := gn.a.int("start", 0), gn.a.int("end", r)
	start, end = clampIndex(start, r), clampIndex(end, r)
	if gn.a.has("end") && gn.a.int("end", 0) >= r {
		end = r
	}
	c.ints, c.sym = c.ints[start:max(start, end)], c.sym[start:max(start, end)]
	c.dims = []int{len(c.ints)}
	l.consts[n.GetOutput()[0]] = c
	return nil
}

// finish fuses patterns, drops a final Softmax, removes nodes the output does not need
// and collects the parameters.
func (l *loader) finish(out string) error {
	if err := l.fuse(); err != nil {
		return err
	}
	out = l.resolve(out)
	for {
		last := l.producer(out)
		if last == nil || (last.op != "Softmax" && last.op != "LogSoftmax") {
			break
		}
		l.g.notes = append(l.g.notes, fmt.Sprintf("the final %s %q is left out: frpt's models return logits (the argmax, the accuracy and the cross-entropy are those of the module)", last.op, last.name))
		out = last.in[0]
	}
	l.g.output = out
	// Keep the nodes the output needs.
	need := map[string]bool{out: true}
	var kept []*gnode
	for i := len(l.nodes) - 1; i >= 0; i-- {
		n := l.nodes[i]
		if !need[n.out] {
			continue
		}
		for _, in := range n.in {
			need[in] = true
		}
		kept = append(kept, n)
	}
	slices.Reverse(kept)
	l.g.nodes = kept
	if len(kept) == 0 {
		return &Error{Path: l.g.path, Msg: "the graph output is its input: there are no layers"}
	}
	for _, n := range kept {
		if err := l.check(n); err != nil {
			return err
		}
	}
	return l.collectParams()
}

// producer returns the node computing tensor t (nil for the input).
func (l *loader) producer(t string) *gnode {
	for _, n := range l.nodes {
		if n.out == t {
			return n
		}
	}
	return nil
}

// consumers returns the nodes reading tensor t.
func (l *loader) consumers(t string) []*gnode {
	var out []*gnode
	for _, n := range l.nodes {
		if slices.Contains(n.in, t) {
			out = append(out, n)
		}
	}
	return out
}

// collectParams lists the parameters in the order the layers use them, each BatchNorm's
// running statistics followed by a synthesised num_batches_tracked (when the weight is
// named "<module>.weight", as PyTorch's state_dict names it).
func (l *loader) collectParams() error {
	g := l.g
	add := func(name string, buffer bool) {
		if name == "" || g.byName[name] != nil {
			return
		}
		src := name
		if a := l.aliases[name]; a != "" {
			src = a
		}
		p := &param{name: name, value: l.inits[src], buffer: buffer}
		if src != name {
			p.alias = src
		}
		g.params = append(g.params, p)
		g.byName[name] = p
	}
	for _, n := range g.nodes {
		for i, name := range n.params {
			add(name, n.op == "BatchNormalization" && i >= 2)
		}
		if n.op == "BatchNormalization" {
			if mod, ok := strings.CutSuffix(n.params[0], ".weight"); ok {
				nbt := mod + ".num_batches_tracked"
				if g.byName[nbt] == nil && l.inits[nbt] == nil {
					p := &param{name: nbt, value: &constant{isInt: true, ints: []int64{0}}, buffer: true, synth: true}
					g.params = append(g.params, p)
					g.byName[nbt] = p
				}
			}
		}
	}
	return nil
}

// errUnsupported is wrapped by every error about an operator frpt cannot import.
var errUnsupported = errors.New("unsupported")
