package models

import (
	"fmt"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// layerOp is one layer of a model's forward sequence, as the segment machinery sees it:
// the tap the layer produces ("" for none) and its name among the model's children
// ("" for layers whose parameters, if any, are not trained on their own).
type layerOp[F tensor.Float] struct {
	mod        nn.Module[F]
	tap, child string
}

// cutOps returns the layers of segment (from, to) of a forward sequence: the layers after
// the one producing from ("in" is the input) up to and including the one producing to.
func cutOps[F tensor.Float](arch string, ops []layerOp[F], bounds []string, from, to string) ([]layerOp[F], error) {
	at := func(tap string) int {
		if tap == "in" {
			return -1
		}
		for i, o := range ops {
			if o.tap == tap {
				return i
			}
		}
		return -2
	}
	lo, hi := at(from), at(to)
	if lo == -2 || hi < 0 || hi <= lo {
		return nil, fmt.Errorf("%s has no segment %s→%s (cut points: %v, in input-to-output order)", arch, from, to, bounds)
	}
	return ops[lo+1 : hi+1], nil
}

// runOps runs a segment's layers on x.
func runOps[F tensor.Float](seg []layerOp[F], x *tensor.T[F]) *tensor.T[F] {
	h := x
	for _, o := range seg {
		h = o.mod.Forward(h)
	}
	return h
}

// backOps backpropagates dy through the layers of the last runOps of seg and returns the
// gradient at the segment's start. With inputGrad false it stops at the lowest layer with
// trainable parameters, skips that layer's input gradient where the layer allows it, and
// returns nil.
func backOps[F tensor.Float](seg []layerOp[F], dy *tensor.T[F], inputGrad bool) *tensor.T[F] {
	stop := 0 // lowest layer to backpropagate through
	if !inputGrad {
		stop = -1
		for i, o := range seg {
			if anyTrainableParam(o.mod.Params()) {
				stop = i
				break
			}
		}
		if stop < 0 {
			return nil // nothing in the segment is trained
		}
	}
	g := dy
	for i := len(seg) - 1; i >= stop; i-- {
		if !inputGrad && i == stop {
			WithoutInputGrad(seg[i].mod, g)
			return nil
		}
		g = seg[i].mod.Backward(g)
	}
	return g
}

// opsParams lists the parameters of a segment's named layers, with their model names.
func opsParams[F tensor.Float](seg []layerOp[F]) []nn.Named[F] {
	var ps []nn.Named[F]
	for _, o := range seg {
		if o.child != "" {
			ps = append(ps, nn.Prefix(o.child, o.mod.Params())...)
		}
	}
	return ps
}
