package onnx

import (
	"fmt"
	"slices"
	"strings"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// build makes the frpt model of a loaded graph: parameters from the initializers, one
// unit per stretch between two single-tensor cut points, taps (taps.go).
func build[F tensor.Float](g *graph, dataset string, seed uint64) (*Model[F], error) {
	m := &Model[F]{g: g, dataset: dataset, synth: map[string]bool{}, tapAt: map[string]int{}}
	byName := map[string]*nn.Param[F]{}
	for _, p := range g.params {
		np := newParam[F](p)
		byName[p.name] = np
		m.params = append(m.params, nn.Named[F]{Name: p.name, P: np})
		if p.synth {
			m.synth[p.name] = true
		}
	}
	if g.flatIn {
		m.units = append(m.units, &Unit[F]{Kind: KindShape, Op: "Flatten", Name: "(input)", Nodes: []string{"Flatten (input)"},
			In: "(image)", Out: g.input, Shape: []int{numel(g.inShape)}, Module: &Reshape[F]{Shape: []int{numel(g.inShape)}}})
	}
	from := g.input
	for _, nodes := range g.groups() {
		u := &Unit[F]{In: from, Out: nodes[len(nodes)-1].out, Shape: slices.Clone(nodes[len(nodes)-1].shape), Name: nodes[0].name}
		from = u.Out
		for _, n := range nodes {
			u.Nodes = append(u.Nodes, n.op+" "+n.name)
		}
		if len(nodes) == 1 {
			mod, ps, err := moduleFor(nodes[0], byName, seed)
			if err != nil {
				return nil, err
			}
			u.Kind, u.Op, u.Module, u.params = kindOf(nodes[0]), nodes[0].op, mod, ps
		} else {
			b, err := blockFor(nodes, u.In, byName, seed)
			if err != nil {
				return nil, err
			}
			u.Kind, u.Op, u.Module, u.params = KindBlock, "Block", b, b.params
		}
		m.units = append(m.units, u)
	}
	m.InputGrad(false)
	m.placeTaps()
	m.fuse = make([]bool, len(m.units))
	isTap := map[int]bool{}
	for _, t := range m.taps {
		isTap[t.Cut] = true
	}
	for i := 0; i+1 < len(m.units); i++ {
		_, relu := m.units[i].Module.(*nn.ReLU[F])
		pool, isPool := m.units[i+1].Module.(*nn.MaxPool2d[F])
		if relu && isPool && pool.K == 2 && pool.Stride == 2 && pool.Pad == 0 && !isTap[i+1] {
			m.fuse[i] = true
		}
	}
	return m, nil
}

// newParam makes the nn.Param of a graph parameter with the initializer's shape and
// values.
func newParam[F tensor.Float](p *param) *nn.Param[F] {
	var np *nn.Param[F]
	if p.buffer {
		np = nn.NewBuffer[F](p.value.dims...)
	} else {
		np = nn.NewParam[F](p.value.dims...)
	}
	if p.value.isInt {
		np.Int = true
		for i, v := range p.value.ints {
			np.Value.Data[i] = F(v)
		}
	} else {
		for i, v := range p.value.f {
			np.Value.Data[i] = F(v)
		}
	}
	np.NoDecay = len(p.value.dims) < 2
	return np
}

// groups splits the nodes at the cut points into the units' nodes. A residual block
// ends at the activations after its Add (torchvision's BasicBlock ends with a ReLU after
// the sum), so those join the block.
func (g *graph) groups() [][]*gnode {
	var out [][]*gnode
	prev := -1
	for _, c := range g.cuts() {
		nodes := g.nodes[prev+1 : c+1]
		prev = c
		if k := len(out) - 1; len(nodes) == 1 && kindOf(nodes[0]) == KindAct && k >= 0 && len(out[k]) > 1 {
			out[k] = append(out[k], nodes[0])
			continue
		}
		out = append(out, nodes)
	}
	return out
}

// cuts returns the positions k (into g.nodes) after which exactly one tensor is live:
// the single-tensor cut points that split the graph into units. Every node is an
// ancestor of the output (unused nodes are pruned), so any topological order finds the
// same cuts.
func (g *graph) cuts() []int {
	lastUse := map[string]int{g.output: len(g.nodes)}
	for k, n := range g.nodes {
		for _, in := range n.in {
			lastUse[in] = max(lastUse[in], k)
		}
	}
	var cuts []int
	for k := range g.nodes {
		live := 0
		if lastUse[g.input] > k {
			live++
		}
		for _, n := range g.nodes[:k+1] {
			if lastUse[n.out] > k {
				live++
			}
		}
		if live == 1 {
			cuts = append(cuts, k)
		}
	}
	return cuts
}

func kindOf(n *gnode) Kind {
	switch n.op {
	case "Conv", "Linear":
		return KindLayer
	case "BatchNormalization":
		return KindNorm
	case "MaxPool", "AveragePool":
		return KindPool
	case "GlobalAveragePool", "ReduceMean":
		return KindGlobalPool
	case "Flatten", "Reshape", "Dropout":
		return KindShape
	}
	return KindAct
}

// moduleFor builds the layer of one node with the shared parameters; it returns the
// module and its parameters under their initializer names.
func moduleFor[F tensor.Float](n *gnode, byName map[string]*nn.Param[F], seed uint64) (nn.Module[F], []nn.Named[F], error) {
	var ps []nn.Named[F]
	p := func(i int) *nn.Param[F] {
		if i >= len(n.params) || n.params[i] == "" {
			return nil
		}
		ps = append(ps, nn.Named[F]{Name: n.params[i], P: byName[n.params[i]]})
		return byName[n.params[i]]
	}
	switch n.op {
	case "Conv":
		w := p(0)
		c := &nn.Conv2d[F]{Weight: w, Bias: p(1), In: w.Value.Shape[1], Out: w.Value.Shape[0], K: n.k, Stride: n.stride, Pad: n.pad}
		return c, ps, nil
	case "BatchNormalization":
		b := nn.NewBatchNorm2d[F](n.shape[0])
		b.Weight, b.Bias, b.RunningMean, b.RunningVar = p(0), p(1), p(2), p(3)
		if mod, ok := strings.CutSuffix(n.params[0], ".weight"); ok && byName[mod+".num_batches_tracked"] != nil {
			b.NumBatchesTracked = byName[mod+".num_batches_tracked"]
			ps = append(ps, nn.Named[F]{Name: mod + ".num_batches_tracked", P: b.NumBatchesTracked})
		}
		b.Eps, b.Momentum = n.eps, n.momentum
		if len(n.shape) == 1 {
			return &BatchNorm1d[F]{BN: b}, ps, nil
		}
		return b, ps, nil
	case "Relu":
		return nn.NewReLU[F](), nil, nil
	case "LeakyRelu":
		return nn.NewLeakyReLU[F](n.slope), nil, nil
	case "Sigmoid":
		return nn.NewSigmoid[F](), nil, nil
	case "Tanh":
		return nn.NewTanh[F](), nil, nil
	case "Gelu":
		return nn.NewGELU[F](), nil, nil
	case "MaxPool":
		return nn.NewMaxPool2d[F](n.k, n.stride, n.pad), nil, nil
	case "AveragePool":
		return nn.NewAvgPool2d[F](n.k, n.stride), nil, nil
	case "GlobalAveragePool", "ReduceMean":
		return &GlobalPool[F]{Pool: nn.NewGlobalAvgPool2d[F](), KeepDim: n.op == "GlobalAveragePool" || n.keep}, nil, nil
	case "Flatten":
		return nn.NewFlatten[F](), nil, nil
	case "Reshape":
		return &Reshape[F]{Shape: slices.Clone(n.shape)}, nil, nil
	case "Dropout":
		return &Dropout[F]{P: n.ratio, rng: nn.NewRand(seed + uint64(n.index)*0x9e3779b97f4a7c15)}, nil, nil
	case "Linear":
		w := p(0)
		b := p(1)
		if n.transW {
			return &TransposedLinear[F]{Weight: w, Bias: b, In: w.Value.Shape[0], Out: w.Value.Shape[1]}, ps, nil
		}
		return &nn.Linear[F]{Weight: w, Bias: b, In: w.Value.Shape[1], Out: w.Value.Shape[0]}, ps, nil
	}
	return nil, nil, fmt.Errorf("onnx: %s has no frpt layer", n.where())
}

// blockFor builds a residual block from the nodes between two cut points; in is the
// block's input tensor.
func blockFor[F tensor.Float](nodes []*gnode, in string, byName map[string]*nn.Param[F], seed uint64) (*Block[F], error) {
	slot := map[string]int{in: 0}
	b := &Block[F]{}
	seen := map[*nn.Param[F]]bool{}
	for _, n := range nodes {
		bn := &blockNode[F]{op: n.op, name: n.name}
		for _, t := range n.in {
			s, ok := slot[t]
			if !ok {
				return nil, fmt.Errorf("onnx: %s reads %q from outside its block", n.where(), t)
			}
			bn.in = append(bn.in, s)
		}
		if n.op != "Add" {
			mod, ps, err := moduleFor(n, byName, seed)
			if err != nil {
				return nil, err
			}
			bn.mod = mod
			for _, p := range ps {
				if !seen[p.P] {
					seen[p.P] = true
					b.params = append(b.params, p)
				}
			}
		}
		bn.out = len(slot)
		slot[n.out] = bn.out
		b.nodes = append(b.nodes, bn)
	}
	b.slots = len(slot)
	b.vals = make([]*tensor.T[F], b.slots)
	b.grads = make([]*tensor.T[F], b.slots)
	b.bufs = make([]*tensor.T[F], b.slots)
	b.owned = make([]bool, b.slots)
	return b, nil
}
