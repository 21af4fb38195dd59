package models

import (
	"fmt"
	"sort"
	"strings"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// Model is a classifier with named taps.
type Model[F tensor.Float] interface {
	nn.Module[F] // Forward returns logits [N, K]; Backward(dLogits)
	// Taps returns the features of the last Forward by name (z1…, out). The tensors are
	// the layers' own buffers: valid until the next Forward.
	Taps() map[string]*tensor.T[F]
	// TapNames lists the taps from the input side to the output (… z_K, out).
	TapNames() []string
	// Children are the top-level modules in the paper's order; post-training at a tap
	// freezes children [SplitIndex(tap):].
	Children() []nn.Module[F]
	ChildNames() []string
	SplitIndex(tap string) (int, error)
	// BackwardTaps is Backward with extra gradients added where each tap is produced
	// (the post-training MSE term). dOut and the tap gradients are used as scratch: the
	// sums are formed in place, so callers refill them before the next call.
	BackwardTaps(dOut *tensor.T[F], tapGrads map[string]*tensor.T[F]) *tensor.T[F]
	Arch() string
	Config() map[string]string
}

// Fronted is implemented by models that can run only the part in front of a tap:
// ForwardTo returns the tap's feature, and BackwardTaps(nil, {tap: g}) then starts the
// backward pass at the tap.
type Fronted[F tensor.Float] interface {
	ForwardTo(x *tensor.T[F], tap string) (*tensor.T[F], error)
}

// FreezeFrom freezes the parameters of children [index:] and unfreezes those before.
func FreezeFrom[F tensor.Float](m Model[F], index int) {
	for i, c := range m.Children() {
		nn.SetFrozen(c.Params(), i >= index)
	}
}

// splitIndex looks a tap up in a model's split map.
func splitIndex(arch string, splits map[string]int, tap string) (int, error) {
	if i, ok := splits[tap]; ok {
		return i, nil
	}
	keys := make([]string, 0, len(splits))
	for k := range splits {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return 0, fmt.Errorf("%s has no tap %q (taps: %s)", arch, tap, strings.Join(keys, ", "))
}

// addGrad adds extra into g in place and returns g (either may be nil; BackwardTaps
// documents that its gradient arguments are scratch).
func addGrad[F tensor.Float](g, extra *tensor.T[F]) *tensor.T[F] {
	if extra == nil {
		return g
	}
	if g == nil {
		return extra
	}
	if g.Numel() != extra.Numel() {
		panic(fmt.Sprintf("models: tap gradient of shape %v does not match feature %v", extra.Shape, g.Shape))
	}
	tensor.Axpy(1, extra.Data, g.Data)
	return g
}

// namedChildren prefixes each child's parameters with its name.
func namedChildren[F tensor.Float](names []string, children []nn.Module[F]) []nn.Named[F] {
	var ps []nn.Named[F]
	for i, c := range children {
		ps = append(ps, nn.Prefix(names[i], c.Params())...)
	}
	return ps
}

// New builds a zoo model for a dataset, initialised from seed.
// Names an importer reads (an ".onnx" path once package onnx is linked) build that
// file's model instead.
func New[F tensor.Float](name, dataset string, seed uint64) (Model[F], error) {
	if m, ok, err := newImported[F](name, dataset, seed); ok {
		return m, err
	}
	switch {
	case name == "simplecnn" || strings.HasPrefix(name, "simplecnn-v"):
		v := 2
		if name != "simplecnn" {
			if _, err := fmt.Sscanf(name, "simplecnn-v%d", &v); err != nil {
				return nil, fmt.Errorf("model %q: want simplecnn-v1 … simplecnn-v5", name)
			}
		}
		cfg, err := SimpleCNNFor(dataset, v)
		if err != nil {
			return nil, err
		}
		return NewSimpleCNN[F](cfg, seed), nil
	case name == "resnet18" || name == "resnet34":
		cfg, err := ResNetFor(name, dataset)
		if err != nil {
			return nil, err
		}
		return NewResNet[F](cfg, seed), nil
	case name == "simplevit" || name == "simplevit-preln":
		cfg, err := ViTFor(dataset, name == "simplevit-preln")
		if err != nil {
			return nil, err
		}
		return NewSimpleViT[F](cfg, seed), nil
	}
	return nil, fmt.Errorf("unknown model %q (models: %s)", name, strings.Join(Names(), ", "))
}

// Names lists the zoo.
func Names() []string {
	return []string{"simplecnn-v1", "simplecnn-v2", "simplecnn-v3", "simplecnn-v4", "simplecnn-v5", "resnet18", "resnet34", "simplevit", "simplevit-preln"}
}
