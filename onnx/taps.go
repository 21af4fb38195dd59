package onnx

import (
	"slices"
	"strconv"
)

// Tap placement. The paper's models put their transitional layers (spec §5) at
//   - the pre-activation output of every convolution and linear layer of a plain
//     network (SimpleCNN z_i: after the layer and the BatchNorm that follows it, if any),
//   - the input of the first residual block and the output of every stage (ResNet z0…z4:
//     a stage is a run of consecutive blocks with the same output shape, reversed block
//     by block as spec §4.8.4 does),
//   - the input of the head when it is a globally pooled vector (ResNet z5),
//   - the logits (out).
// An imported model gets its taps by the same rules, from its units (the stretches
// between two single-tensor cut points). Between a layer and a following residual stage
// the stage input is the tap (as ResNet's z0 after the stem), not the layer's output. The
// taps are named z1 … zK from the input side, then out; frpt info lists them with their
// ONNX tensor names. For the zoo's SimpleCNN and ResNet exported from PyTorch this gives
// exactly the zoo's taps (with ResNet's z0…z5 numbered z1…z6).

func (m *Model[F]) placeTaps() {
	n := len(m.units)
	kind := func(i int) Kind { return m.units[i].Kind }
	set := map[int]bool{n: true}
	for i := 0; i < n; i++ {
		switch kind(i) {
		case KindBlock:
			if i+1 >= n || kind(i+1) != KindBlock || !sameShape(m.units[i+1].Shape, m.units[i].Shape) {
				set[i+1] = true // the end of a stage
			}
			if i > 0 && kind(i-1) != KindBlock {
				set[i] = true // the input of a stage
			}
		case KindGlobalPool:
			j := i
			for j+1 < n && kind(j+1) == KindShape {
				j++
			}
			set[j+1] = true // the pooled vector the head reads
		case KindLayer:
			j := i
			for j+1 < n && kind(j+1) == KindNorm {
				j++
			}
			k := j + 1
			for k < n && (kind(k) == KindAct || kind(k) == KindPool || kind(k) == KindNorm || kind(k) == KindShape) {
				k++
			}
			if k < n && kind(k) == KindBlock {
				continue // the stage's input is this gap's tap
			}
			set[j+1] = true // the layer's pre-activation output
		}
	}
	delete(set, 0)
	cuts := make([]int, 0, len(set))
	for c := range set {
		cuts = append(cuts, c)
	}
	slices.Sort(cuts)
	m.taps = m.taps[:0]
	for i, c := range cuts {
		name := "z" + strconv.Itoa(i+1)
		if c == n {
			name = "out"
		}
		u := m.units[c-1]
		m.taps = append(m.taps, Tap{Name: name, Cut: c, Tensor: u.Out, Shape: slices.Clone(u.Shape)})
		m.tapAt[name] = c
	}
}
