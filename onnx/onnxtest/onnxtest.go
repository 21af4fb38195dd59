// Package onnxtest provides the ONNX fixtures of the tests of packages onnx, reverse and
// pipeline: models exported by PyTorch (onnx/testdata/fixtures.py, run once per test
// binary with Debian's /usr/bin/python3) with their state_dicts and reference logits.
// It is used by tests only.
package onnxtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/tensor"
)

// Python is the interpreter with PyTorch and ONNX (Debian's python3-torch, python3-onnx).
const Python = "/usr/bin/python3"

var (
	once    sync.Once
	dir     string
	skipMsg string
	failMsg string
)

// Dir returns the folder with the exported fixtures (NAME.onnx, NAME.state.safetensors,
// NAME.io.safetensors), exporting them on first use. The test is skipped, with the
// reason printed, when /usr/bin/python3 lacks torch or onnx.
func Dir(t testing.TB) string {
	t.Helper()
	once.Do(export)
	if skipMsg != "" {
		t.Skip(skipMsg)
	}
	if failMsg != "" {
		t.Fatal(failMsg)
	}
	return dir
}

// Script is the path of the fixture exporter.
func Script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "fixtures.py")
}

func export() {
	if err := exec.Command(Python, "-c", "import torch, onnx").Run(); err != nil {
		skipMsg = "skipping: " + Python + " cannot import torch and onnx (apt-get install python3-torch python3-onnx): " + err.Error()
		return
	}
	d, err := os.MkdirTemp("", "frpt-onnx-fixtures-")
	if err != nil {
		failMsg = err.Error()
		return
	}
	out, err := exec.Command(Python, Script(), d).CombinedOutput()
	if err != nil {
		failMsg = "export the ONNX fixtures: " + err.Error() + "\n" + string(out)
		return
	}
	dir = d
}

// Path returns the fixture file NAME+suffix.
func Path(t testing.TB, name, suffix string) string { return filepath.Join(Dir(t), name+suffix) }

// IO returns a fixture's input batch and PyTorch's eval-mode logits for it.
func IO(t testing.TB, name string) (x, logits *tensor.T[float32]) {
	t.Helper()
	f, err := checkpoint.Read(Path(t, name, ".io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(n string) *tensor.T[float32] {
		tt, ok := f.Lookup(n)
		if !ok {
			t.Fatalf("%s: no tensor %s", name, n)
		}
		v, err := tt.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		return tensor.FromData(v, tt.Shape...)
	}
	return get("x"), get("logits")
}
