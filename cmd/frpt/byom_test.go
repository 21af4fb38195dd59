package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/onnx"
	"github.com/frpt/frpt/pipeline"
	"github.com/frpt/frpt/tensor"
)

// Issue 15's "Done when", end to end through real processes on real MNIST: the example
// module of examples/byom (BatchNorm, a residual add, stride-2 convolutions, ReduceMean
// pooling; written for the example, not one of the zoo's) is trained briefly by PyTorch
// and exported with torch.onnx.export(..., do_constant_folding=False,
// training=TrainingMode.PRESERVE). Then, with the built frpt binary:
//
//   - frpt eval --model model.onnx (weights: the initializers) and with --weights
//     model.safetensors (its state_dict, num_batches_tracked included) count exactly as
//     many correct test images (all 10,000) as PyTorch did (torch-eval.json);
//   - frpt reconstruct --model model.onnx writes a cache in which, for every sample, the
//     label is tied-top of the target logits at out, and for every sample the model
//     classifies correctly the target equals the forward feature at every tap, bit for
//     bit (forward features recomputed here from the cached input), with a recorded gap
//     of 0; the model has at least two inner taps (besides out and the head's input).
//
// It takes about a minute on two cores (PyTorch's training and export about half of it).
func TestBYOMDoneWhen(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch, onnx").Run(); err != nil {
		t.Skipf("skipping: %s cannot import torch and onnx (apt-get install python3-torch python3-onnx): %v", py, err)
	}
	mnist, err := data.DefaultDir("mnist")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	bin := filepath.Join(root, "frpt")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(root, "byom")
	train := exec.Command(py, filepath.Join("..", "..", "examples", "byom", "byom.py"), "train", mnist, dir, "--images", "4000", "--epochs", "2")
	if out, err := train.CombinedOutput(); err != nil {
		t.Fatalf("byom.py train: %v\n%s", err, out)
	}
	model := filepath.Join(dir, "model.onnx")
	var torchEval struct{ Correct, Total int }
	decodeJSONFile(t, filepath.Join(dir, "torch-eval.json"), &torchEval)
	if torchEval.Total != 10000 {
		t.Fatalf("torch-eval.json: %d test images, want 10000", torchEval.Total)
	}
	for name, args := range map[string][]string{
		"initializers": {"--model", model},
		"state_dict":   {"--model", model, "--weights", filepath.Join(dir, "model.safetensors")},
	} {
		js := filepath.Join(root, "eval-"+name+".json")
		mustRun(t, bin, append([]string{"eval", "--json", js}, args...)...)
		var res pipeline.EvalResult
		decodeJSONFile(t, js, &res)
		if res.Total != torchEval.Total || res.Correct != torchEval.Correct {
			t.Errorf("frpt eval (%s): %d/%d correct, PyTorch %d/%d", name, res.Correct, res.Total, torchEval.Correct, torchEval.Total)
		}
	}

	cache := filepath.Join(root, "cache")
	mustRun(t, bin, "reconstruct", "--model", model, "--limit", "128", "--out", cache)
	c, err := pipeline.OpenCache(cache)
	if err != nil {
		t.Fatal(err)
	}
	var taps []string
	for _, tp := range c.Manifest.Taps {
		taps = append(taps, tp.Name)
	}
	set, err := c.Load(taps...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Load[float32](model, "mnist", 0)
	if err != nil {
		t.Fatal(err)
	}
	if inner := len(m.TapList()) - 2; inner < 2 {
		t.Errorf("taps %v: %d inner taps, want at least 2", m.TapNames(), inner)
	}
	nn.SetTraining[float32](m, false)
	n := set.N
	logits := m.Forward(tensor.FromData(set.Inputs, append([]int{n}, set.Input...)...))
	fwd := m.Taps()
	k := logits.Dim(-1)
	pred, top := tensor.ArgmaxRows(logits.Data, k), tensor.ArgmaxRows(set.Targets["out"], k)
	correct := 0
	for s := 0; s < n; s++ {
		row := set.Targets["out"][s*k : (s+1)*k]
		if row[set.Labels[s]] != row[top[s]] {
			t.Errorf("sample %d: target logit of label %d is %g, below the top %g (class %d)", s, set.Labels[s], row[set.Labels[s]], row[top[s]], top[s])
		}
		if pred[s] != set.Labels[s] {
			continue
		}
		correct++
		for _, tap := range taps {
			per := len(fwd[tap].Data) / n
			f, r := fwd[tap].Data[s*per:(s+1)*per], set.Targets[tap][s*per:(s+1)*per]
			for j := range f {
				if f[j] != r[j] {
					t.Errorf("sample %d (classified correctly): tap %s target differs from the forward feature at %d: %g vs %g", s, tap, j, r[j], f[j])
					break
				}
			}
		}
	}
	for _, tap := range taps {
		gaps, err := c.Gaps(tap)
		if err != nil {
			t.Fatal(err)
		}
		for s, g := range gaps {
			if pred[s] == set.Labels[s] && g != 0 {
				t.Errorf("sample %d (classified correctly): recorded gap %g at tap %s, want 0", s, g, tap)
			}
		}
	}
	// Both kinds of sample are there: the chain kept some samples and reconstructed others.
	if correct == 0 || correct == n {
		t.Errorf("%d of %d cached samples classified correctly: the check needs both kinds", correct, n)
	}
	t.Logf("PyTorch and frpt: %d/%d test images correct; reconstruct: %d of %d samples correct (gap 0 at taps %s)",
		torchEval.Correct, torchEval.Total, correct, n, strings.Join(taps, ", "))
}

func decodeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
