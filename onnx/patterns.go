package onnx

import (
	"math"
	"slices"
)

// Pattern fusion: the exporters write some layers as several nodes. frpt recognises
//   - MatMul(x, W) followed by Add(·, b) with b a weight: one Linear layer with bias
//     (PyTorch's nn.Linear on inputs that are not 2-D);
//   - GELU's erf form Div(x, √2) → Erf → Add(·, 1) → Mul(x, ·) → Mul(·, 0.5) (or with
//     the 0.5 applied to x first), which torch.onnx writes for nn.GELU() at opsets < 20.

// fuse rewrites the recognised patterns in l.nodes.
func (l *loader) fuse() error {
	for _, n := range slices.Clone(l.nodes) {
		if n.op == "Linear" && n.params[1] == "" && n.a.node.GetOpType() == "MatMul" {
			l.fuseBias(n)
		}
	}
	for _, n := range slices.Clone(l.nodes) {
		if n.op == "Pad" {
			l.fusePad(n)
		}
	}
	for _, n := range slices.Clone(l.nodes) {
		if n.op == "Erf" {
			l.fuseGELU(n)
		}
	}
	return nil
}

// only returns the single consumer of t when it has op, else nil.
func (l *loader) only(t, op string) *gnode {
	c := l.consumers(t)
	if len(c) != 1 || c[0].op != op || t == l.resolve(l.g.output) {
		return nil
	}
	return c[0]
}

// remove drops nodes from l.nodes and puts repl (if any) where last was.
func (l *loader) remove(last, repl *gnode, drop ...*gnode) {
	var out []*gnode
	for _, n := range l.nodes {
		switch {
		case n == last && repl != nil:
			out = append(out, repl)
		case n == last || slices.Contains(drop, n):
		default:
			out = append(out, n)
		}
	}
	l.nodes = out
}

func (l *loader) fuseBias(mm *gnode) {
	add := l.only(mm.out, "Add")
	if add == nil || len(add.in) != 1 {
		return
	}
	for _, arg := range add.args {
		if arg == mm.out || l.paramSource(arg) == "" {
			continue
		}
		if l.inits[l.paramSource(arg)].numel() != mm.shape[len(mm.shape)-1] {
			return
		}
		mm.params[1] = arg
		mm.out = add.out
		mm.fused = append(mm.fused, add.index)
		l.act[mm.out] = mm.shape
		l.remove(add, nil)
		return
	}
}

func (l *loader) fuseGELU(e *gnode) {
	d := l.producer(e.in[0])
	if d == nil || len(d.in) != 1 || d.args[0] != d.in[0] || l.only(d.out, "Erf") != e {
		return
	}
	if !(d.op == "Div" && l.constScalar(d, 1, math.Sqrt2)) && !(d.op == "Mul" && l.constScalar(d, 1, 1/math.Sqrt2)) {
		return
	}
	x := d.in[0]
	s := l.only(e.out, "Add")
	if s == nil || len(s.in) != 1 || !l.constScalar(s, 1-slices.Index(s.args, e.out), 1) {
		return
	}
	m := l.only(s.out, "Mul")
	if m == nil || len(m.in) != 2 {
		return
	}
	other := m.in[0]
	if other == s.out {
		other = m.in[1]
	}
	var last *gnode
	drop := []*gnode{d, e, s}
	switch h := l.producer(other); {
	case other == x: // x·(1+erf) then ·0.5
		last = l.only(m.out, "Mul")
		if last == nil || len(last.in) != 1 || !l.constScalar(last, 1-slices.Index(last.args, m.out), 0.5) {
			return
		}
		drop = append(drop, m)
	case h != nil && h.op == "Mul" && len(h.in) == 1 && h.in[0] == x && l.only(h.out, "Mul") == m && l.constScalar(h, 1-slices.Index(h.args, x), 0.5):
		last = m
		drop = append(drop, h)
	default:
		return
	}
	g := &gnode{op: "Gelu", name: d.name, index: d.index, in: []string{x}, args: []string{x}, out: last.out,
		shape: slices.Clone(d.shape), a: d.a}
	for _, n := range append(drop, last) {
		g.fused = append(g.fused, n.index)
	}
	l.remove(last, g, drop...)
}

// fusePad merges a zero Pad into the Conv that alone reads it.
func (l *loader) fusePad(p *gnode) {
	c := l.only(p.out, "Conv")
	if c == nil || c.pad != 0 || c.k <= p.pad+c.pad {
		return
	}
	c.pad = p.pad
	c.in = []string{p.in[0]}
	c.args[0] = p.in[0]
	c.fused = append(c.fused, p.index)
	l.remove(p, nil)
}
