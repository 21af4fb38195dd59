// Package onnx imports classifiers exported from PyTorch (torch.onnx.export) as frpt
// models: the graph is read with google.golang.org/protobuf (types generated from
// ONNX's onnx.proto in package onnxpb), its constant shape arithmetic folded, known
// multi-node patterns fused (MatMul + Add, GELU's Erf form), and every remaining node
// becomes one of frpt's own layers (package nn), so the imported network trains,
// reconstructs and post-trains like a zoo model, forward and backward.
//
// The graph is cut at its single-tensor points into units: one layer each, or a
// residual block (a fork and an Add) that the reverse chain solves as one composite
// block (spec §4.8). Taps are placed as the paper places them (taps.go); the
// parameters keep the initializer names, which are the PyTorch state_dict names, so a
// state_dict saved as safetensors loads with --weights and the weights frpt writes load
// back into the PyTorch module. SupportedOps lists what is imported; anything else is
// refused with an error naming the node, its op type and what to change.
//
// Opsets 11–17 and a dynamic batch dimension are read. BatchNormalization and Dropout
// exported in training form (torch.onnx.TrainingMode.PRESERVE on a module in training
// mode) are accepted: frpt switches training and evaluation itself, as for its own
// models. Package onnx sits next to models (it imports nn, models and checkpoint) and
// registers itself with models.New for names ending in ".onnx".
package onnx

import (
	"strings"

	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/tensor"
)

func init() {
	models.RegisterImporter(models.Importer{
		Name:  "ONNX",
		Match: IsPath,
		New: func(name, dataset string, seed uint64, f64 bool) (any, error) {
			if f64 {
				return Load[float64](name, dataset, seed)
			}
			return Load[float32](name, dataset, seed)
		},
	})
}

// IsPath reports whether a model name is an ONNX file path (it ends in ".onnx").
func IsPath(name string) bool { return strings.HasSuffix(strings.ToLower(name), ".onnx") }

// Load reads an ONNX file and builds the model for a dataset's images (their shape
// must match the graph input), weights from the initializers; seed only drives Dropout.
func Load[F tensor.Float](path, dataset string, seed uint64) (*Model[F], error) {
	shape, err := data.InputShape(dataset)
	if err != nil {
		return nil, err
	}
	mp, err := ReadModel(path)
	if err != nil {
		return nil, err
	}
	g, err := newGraph(mp, path, shape)
	if err != nil {
		return nil, err
	}
	return build[F](g, dataset, seed)
}

// Decode builds a model from the bytes of an ONNX file for inputs of per-sample shape
// inShape ([C, H, W]); path is only used in messages.
func Decode[F tensor.Float](b []byte, path string, inShape []int, seed uint64) (*Model[F], error) {
	mp, err := DecodeModel(b, path)
	if err != nil {
		return nil, err
	}
	g, err := newGraph(mp, path, inShape)
	if err != nil {
		return nil, err
	}
	return build[F](g, "", seed)
}
