package onnx_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/onnx"
	"github.com/frpt/frpt/tensor"
)

// FuzzDecode feeds the ONNX loader mutated models. The seeds are small real exports
// (onnx/testdata/seeds/*.onnx, written by onnx/testdata/fixtures.py with PyTorch 1.13:
// the residual BYOM network in training and evaluation form, the activation zoo of
// opset 11 and SimpleCNN v2), so mutations reach every stage: protobuf decoding,
// initializer decoding, constant folding, pattern fusion, unit building and taps. No
// input may panic, hang or allocate beyond what its own bytes justify; an error must be
// the loader's *onnx.Error (or name the file); a model that loads must run forward and
// backward on a batch of two without a panic and give logits of the reported shape.
func FuzzDecode(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "seeds", "*.onnx"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed models in testdata/seeds (%v)", err)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2]) // truncated
	}
	f.Add([]byte{})
	f.Add([]byte("not an onnx file"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := onnx.Decode[float32](b, "fuzz.onnx", []int{1, 28, 28}, 0)
		if err != nil {
			var oe *onnx.Error
			if !errors.As(err, &oe) && !strings.Contains(err.Error(), "fuzz.onnx") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		// Bound what a forward pass may allocate: per-sample activation sizes come from
		// the graph, whose weights are in the input bytes, but a MaxPool/Reshape chain
		// could still ask for a lot; the loader must have checked the shapes it accepted.
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		x := tensor.New[float32](2, 1, 28, 28)
		for i := range x.Data {
			x.Data[i] = float32(i%7) - 3
		}
		nn.SetTraining[float32](m, false)
		logits := m.Forward(x)
		if len(logits.Shape) != 2 || logits.Shape[0] != 2 {
			t.Fatalf("logits of shape %v for a batch of 2", logits.Shape)
		}
		nn.SetTraining[float32](m, true)
		out := m.Forward(x)
		dy := tensor.New[float32](out.Shape...)
		for i := range dy.Data {
			dy.Data[i] = 1
		}
		m.Backward(dy)
		runtime.ReadMemStats(&ms)
		if grown := ms.TotalAlloc - before; grown > 1<<30 {
			t.Fatalf("a %d-byte model allocated %d MB in one forward/backward", len(b), grown>>20)
		}
	})
}

// The fuzz seeds are models the loader accepts: a seed that failed to load would leave
// the fuzzer only the decoding errors to explore.
func TestFuzzSeedsLoad(t *testing.T) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "seeds", "*.onnx"))
	if len(seeds) < 4 {
		t.Fatalf("%d seed models in testdata/seeds, want 4", len(seeds))
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := onnx.Decode[float32](b, p, []int{1, 28, 28}, 0)
		if err != nil {
			t.Fatalf("seed %s: %v", p, err)
		}
		if len(m.TapList()) < 2 {
			t.Errorf("seed %s: %d taps", p, len(m.TapList()))
		}
	}
}
