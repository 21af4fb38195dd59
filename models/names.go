package models

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/frpt/frpt/data"
)

// IsONNX reports whether a model name is the path of an ONNX file (it ends in .onnx, in
// any case) rather than a zoo name.
func IsONNX(name string) bool { return strings.HasSuffix(strings.ToLower(name), ".onnx") }

// CheckName is the one check of a model name given on the command line (--model): a zoo
// name (Names; "simplecnn" is simplecnn-v2) or the path of an existing ONNX file. What an
// ONNX file must hold is checked when it is imported.
func CheckName(name string) error {
	if IsONNX(name) {
		st, err := os.Stat(name)
		if err != nil {
			return fmt.Errorf("model %q: ONNX file: %w", name, err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("model %q: ONNX file: not a regular file", name)
		}
		return nil
	}
	if name == "simplecnn" || slices.Contains(Names(), name) {
		return nil
	}
	return fmt.Errorf("unknown model %q: want one of %s, or the path of an ONNX file (*.onnx)", name, strings.Join(Names(), ", "))
}

// CheckFor reports whether the model name can be built for dataset, without building it:
// the name is known (CheckName), the dataset is known, and a zoo model has a variant for
// the dataset's input shape (simplecnn-v3 exists for CIFAR-10 only, for instance). An
// ONNX model's shapes are checked when it is imported.
func CheckFor(name, dataset string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if _, err := data.InputShape(dataset); err != nil {
		return err
	}
	if IsONNX(name) {
		return nil
	}
	var err error
	switch {
	case name == "simplecnn" || strings.HasPrefix(name, "simplecnn-v"):
		v := 2
		if name != "simplecnn" {
			fmt.Sscanf(name, "simplecnn-v%d", &v)
		}
		_, err = SimpleCNNFor(dataset, v)
	case strings.HasPrefix(name, "resnet"):
		_, err = ResNetFor(name, dataset)
	default:
		_, err = ViTFor(dataset, name == "simplevit-preln")
	}
	return err
}
