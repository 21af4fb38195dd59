package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/pipeline"
	"github.com/frpt/frpt/report"
)

// Weights out (issue 15, item 3): frpt posttrain --save writes each run's post-trained
// weights, the results line names them, and they score exactly the accuracy the line
// reports for the saved epoch, in frpt (zoo model; ONNX copy) and in PyTorch (the ONNX
// model's state_dict, through examples/byom/run.sh). Every command runs as a process of
// the built binary on real MNIST; every accuracy is over the whole test split.

const pretrainedV2 = "../../results/mnist-simplecnn-v2/pretrained-best.safetensors"

// buildFrpt builds the frpt binary into dir.
func buildFrpt(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "frpt")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// onlyRun reads the one run of a results file.
func onlyRun(t *testing.T, results string) pipeline.RunResult {
	t.Helper()
	runs, err := pipeline.ReadResults(results)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("%s: %d runs, want 1", results, len(runs))
	}
	return runs[0]
}

// savedFile resolves a file recorded in results and checks that it exists with the
// recorded SHA-256.
func savedFile(t *testing.T, results, recorded, sha string) string {
	t.Helper()
	if recorded == "" || filepath.IsAbs(recorded) {
		t.Fatalf("%s: saved file recorded as %q, want a path relative to the results folder", results, recorded)
	}
	path := report.Resolve(results, recorded)
	got, err := pipeline.FileSHA256(path)
	if err != nil {
		t.Fatalf("recorded saved file: %v", err)
	}
	if got != sha {
		t.Fatalf("%s: SHA-256 %s, the results line records %s", path, got, sha)
	}
	return path
}

// reportedCorrect is the run's test accuracy at its saved epoch as a count of correct
// images of the 10,000.
func reportedCorrect(t *testing.T, r pipeline.RunResult) int {
	t.Helper()
	if r.SavedEpoch < 1 || r.SavedEpoch > len(r.TestAcc) {
		t.Fatalf("saved epoch %d of %d epochs", r.SavedEpoch, len(r.TestAcc))
	}
	return int(math.Round(r.TestAcc[r.SavedEpoch-1] * 10000))
}

// evalCorrect runs frpt eval with args and returns its count of correct test images.
func evalCorrect(t *testing.T, bin, dir string, args ...string) int {
	t.Helper()
	js := filepath.Join(dir, "eval.json")
	mustRun(t, bin, append([]string{"eval", "--json", js}, args...)...)
	var res pipeline.EvalResult
	b, err := os.ReadFile(js)
	if err == nil {
		err = json.Unmarshal(b, &res)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 10000 {
		t.Fatalf("frpt eval scored %d images, want the whole test split", res.Total)
	}
	return res.Correct
}

// tensorNames lists the tensor names of a safetensors file.
func tensorNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := checkpoint.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range f.Tensors {
		out = append(out, x.Name)
	}
	slices.Sort(out)
	return out
}

func TestPostTrainSaveZoo(t *testing.T) {
	root := t.TempDir()
	bin := buildFrpt(t, root)
	cache := filepath.Join(root, "cache")
	mustRun(t, bin, "reconstruct", "--model", "simplecnn-v2", "--weights", pretrainedV2, "--limit", "512", "--out", cache)
	// lr 1e-3, batch 64: epoch 1 scores 9777, epoch 2 9776 (measured), so the best and
	// the last epoch are told apart.
	grid := func(name string, extra ...string) (pipeline.RunResult, string, []string) {
		dir := filepath.Join(root, name)
		results := filepath.Join(dir, "grid", "results.jsonl")
		args := append([]string{"posttrain", "--cache", cache, "--weights", pretrainedV2, "--crec", "0.1", "--seeds", "0",
			"--epochs", "2", "--lr", "1e-3", "--batch", "64", "--save", filepath.Join(dir, "weights"), "--results", results}, extra...)
		mustRun(t, bin, args...)
		return onlyRun(t, results), results, args
	}
	wantNames := tensorNames(t, pretrainedV2)
	check := func(name string, r pipeline.RunResult, results string, wantEpoch int) string {
		t.Helper()
		if r.SavedEpoch != wantEpoch {
			t.Fatalf("%s: saved epoch %d (test accuracies %v), want %d", name, r.SavedEpoch, r.TestAcc, wantEpoch)
		}
		path := savedFile(t, results, r.Saved, r.SavedSHA256)
		if r.SavedONNX != "" {
			t.Errorf("%s: a zoo model got an .onnx copy %s", name, r.SavedONNX)
		}
		if got := tensorNames(t, path); !slices.Equal(got, wantNames) {
			t.Errorf("%s: saved tensors %v, want the state_dict names of frpt train's checkpoint %v", name, got, wantNames)
		}
		if got, want := evalCorrect(t, bin, root, "--model", "simplecnn-v2", "--weights", path), reportedCorrect(t, r); got != want {
			t.Errorf("%s: frpt eval of %s: %d correct, the results line reports %d for epoch %d", name, path, got, want, r.SavedEpoch)
		}
		return path
	}

	best, bestResults, bestArgs := grid("best", "--taps", "z1")
	last, lastResults, _ := grid("last", "--taps", "z1", "--save-last")
	if best.TestAcc[0] == best.TestAcc[1] || !slices.Equal(best.TestAcc, last.TestAcc) {
		t.Fatalf("test accuracies %v and %v: want two equal runs whose epochs differ (pick another --lr)", best.TestAcc, last.TestAcc)
	}
	wantBest := 1
	if best.TestAcc[1] > best.TestAcc[0] {
		wantBest = 2
	}
	bestPath := check("best", best, bestResults, wantBest)
	check("last", last, lastResults, 2)

	// A rerun skips the finished run and keeps its line and file.
	stat0, _ := os.Stat(bestPath)
	mustRun(t, bin, bestArgs...)
	again := onlyRun(t, bestResults)
	stat1, _ := os.Stat(bestPath)
	if again.Saved != best.Saved || again.SavedSHA256 != best.SavedSHA256 || !stat1.ModTime().Equal(stat0.ModTime()) {
		t.Errorf("rerun changed the saved weights: %s %s -> %s %s", best.Saved, best.SavedSHA256, again.Saved, again.SavedSHA256)
	}

	// Hierarchical mode saves the stitched model, the one it scores.
	h, hResults, _ := grid("hier", "--mode", "hierarchical")
	wantH := 1
	if h.TestAcc[1] > h.TestAcc[0] {
		wantH = 2
	}
	check("hierarchical", h, hResults, wantH)

	t.Run("killed", func(t *testing.T) { killSaveGrid(t, bin, root, cache) })
}

// killSaveGrid kills a grid with --save (SIGKILL at four moments of an uninterrupted
// run's time): after every kill each results line names a saved file that exists with
// its recorded hash, and the rerun to completion leaves the files of the uninterrupted
// run (compareTree: same weights bytes, same results, no temporary files).
func killSaveGrid(t *testing.T, bin, root, cache string) {
	argsFor := func(dir string) []string {
		return []string{"posttrain", "--cache", cache, "--weights", pretrainedV2, "--taps", "out,z1", "--crec", "0,0.1",
			"--seeds", "0-1", "--epochs", "2", "--lr", "1e-3", "--batch", "64", "--workers", "2",
			"--save", filepath.Join(dir, "weights"), "--results", filepath.Join(dir, "grid", "results.jsonl")}
	}
	ref := filepath.Join(root, "kill-ref")
	d := mustRun(t, bin, argsFor(ref)...)
	got := filepath.Join(root, "kill-got")
	results := filepath.Join(got, "grid", "results.jsonl")
	landed := 0
	for i := 1; i <= 4; i++ {
		if killAt(t, bin, argsFor(got), d*time.Duration(i)/5) {
			landed++
		}
		runs, err := pipeline.ReadResults(results)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			savedFile(t, results, r.Saved, r.SavedSHA256)
		}
	}
	mustRun(t, bin, argsFor(got)...)
	t.Logf("%d of 4 kills landed mid-run (uninterrupted run %.2f s)", landed, d.Seconds())
	if landed == 0 {
		t.Fatalf("no kill landed while the grid ran")
	}
	compareTree(t, ref, got)
}

// --save and --save-last are checked before anything is written.
func TestPostTrainSaveFlags(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	if _, err := run(t, "reconstruct", "--model", "simplecnn-v2", "--weights", pretrainedV2, "--limit", "64", "--out", cache); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(dir, "grid", "results.jsonl")
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--save-last"}, "--save-last"},
		{[]string{"--save", file}, "--save " + file},
	} {
		args := append([]string{"posttrain", "--cache", cache, "--weights", pretrainedV2, "--taps", "out", "--crec", "0",
			"--seeds", "0", "--epochs", "1", "--results", results}, c.flags...)
		_, err := run(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one naming %q", c.flags, err, c.want)
		}
		if _, err := os.Stat(filepath.Dir(results)); err == nil {
			t.Fatalf("%v: the refused grid wrote %s", c.flags, filepath.Dir(results))
		}
	}
}

// examples/byom/run.sh: a PyTorch module trained and exported by byom.py, evaluated,
// reconstructed and post-trained by frpt with --save; the saved state_dict loaded into
// the PyTorch module and the saved .onnx copy in frpt eval score exactly the number of
// correct test images frpt reported for the saved epoch (the script checks that; the
// test checks the script's files once more and that the weights did change).
func TestBYOMWorkedExample(t *testing.T) {
	py := "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import torch, onnx").CombinedOutput(); err != nil {
		t.Skipf("%s has no torch/onnx (install python3-torch python3-onnx): %v %s", py, err, bytes.TrimSpace(out))
	}
	root := t.TempDir()
	bin := buildFrpt(t, root)
	out := filepath.Join(root, "byom")
	cmd := exec.Command("bash", "../../examples/byom/run.sh", out)
	cmd.Env = append(os.Environ(), "FRPT="+bin, "PYTHON="+py, "IMAGES=2000", "LIMIT=64", "POST_EPOCHS=1", "LR=1e-3")
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run.sh: %v\n%s", err, log)
	}
	results := filepath.Join(out, "grid", "results.jsonl")
	r := onlyRun(t, results)
	st := savedFile(t, results, r.Saved, r.SavedSHA256)
	on := savedFile(t, results, r.SavedONNX, r.SavedONNXSHA256)
	if filepath.Ext(on) != ".onnx" || strings.TrimSuffix(on, ".onnx") != strings.TrimSuffix(st, ".safetensors") {
		t.Errorf("saved %s and %s: want the .onnx copy beside the safetensors", st, on)
	}
	want := reportedCorrect(t, r)
	for _, f := range []string{"torch-posttrained.json", "frpt-posttrained-onnx.json"} {
		var res struct{ Correct, Total int }
		b, err := os.ReadFile(filepath.Join(out, f))
		if err == nil {
			err = json.Unmarshal(b, &res)
		}
		if err != nil {
			t.Fatal(err)
		}
		if res.Correct != want || res.Total != 10000 {
			t.Errorf("%s: %d/%d correct, frpt reported %d/10000", f, res.Correct, res.Total, want)
		}
	}
	// The saved state_dict is PyTorch's (num_batches_tracked included) with post-trained
	// values: the first convolution (in front of the tap) changed.
	orig := filepath.Join(out, "model.safetensors")
	if got, want := tensorNames(t, st), tensorNames(t, orig); !slices.Equal(got, want) {
		t.Errorf("saved tensors %v, PyTorch's state_dict %v", got, want)
	}
	a, errA := checkpoint.Read(orig)
	b, errB := checkpoint.Read(st)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	ta, _ := a.Lookup("stem.0.weight")
	tb, _ := b.Lookup("stem.0.weight")
	if ta == nil || tb == nil || bytes.Equal(ta.Data, tb.Data) {
		t.Errorf("stem.0.weight: the saved weights are not post-trained (or missing)")
	}
}
