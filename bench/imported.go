package bench

import (
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/reverse"

	_ "github.com/frpt/frpt/onnx" // models.New reads the exported .onnx files
)

// Rows of imported models (issue 15: an imported model runs at the speed of the
// equivalent zoo model). The zoo model's PyTorch twin (torch_models.py) is exported to
// ONNX by onnx_export.py under /usr/bin/python3; the zoo model is given the export's
// state_dict, so both start from the same weights, and the two are measured
// interleaved, call for call, so that the machine's load falls on both alike. The row's
// figure is the imported model's; its note gives the zoo model's and the ratio.

//go:embed onnx_export.py torch_models.py safetensors_io.py
var exportScripts embed.FS

// Python is Debian's interpreter with python3-torch and python3-onnx (the PyTorch side of
// the benchmarks and the ONNX exports).
const Python = "/usr/bin/python3"

// twin is a zoo model and its ONNX export with the same weights.
type twin struct {
	zoo, imported models.Model[float32]
	dir           string // temporary folder of the export
}

// exportTwin exports model for dataset to ONNX and builds both models. skip is set (and
// err nil) when /usr/bin/python3 cannot import torch and onnx.
func exportTwin(model, dataset string) (tw *twin, skip string, err error) {
	if err := exec.Command(Python, "-c", "import torch, onnx").Run(); err != nil {
		return nil, fmt.Sprintf("skipped: %s cannot import torch and onnx (apt-get install python3-torch python3-onnx)", Python), nil
	}
	dir, err := os.MkdirTemp("", "frpt-bench-onnx-")
	if err != nil {
		return nil, "", err
	}
	tw = &twin{dir: dir}
	defer func() {
		if err != nil {
			tw.remove()
		}
	}()
	files, err := exportScripts.ReadDir(".")
	if err != nil {
		return nil, "", err
	}
	for _, f := range files {
		b, err := exportScripts.ReadFile(f.Name())
		if err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name()), b, 0o644); err != nil {
			return nil, "", err
		}
	}
	if out, err := exec.Command(Python, filepath.Join(dir, "onnx_export.py"), model, dataset, dir).CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("export %s-%s to ONNX: %w\n%s", model, dataset, err, out)
	}
	base := filepath.Join(dir, model+"-"+dataset)
	if tw.imported, err = models.New[float32](base+".onnx", dataset, 0); err != nil {
		return nil, "", err
	}
	if tw.zoo, err = models.New[float32](model, dataset, 0); err != nil {
		return nil, "", err
	}
	if _, err := checkpoint.LoadInto(base+".state.safetensors", tw.zoo.Params()); err != nil {
		return nil, "", err
	}
	return tw, "", nil
}

func (t *twin) remove() { os.RemoveAll(t.dir) }

// measurePair is measure for two calls taking turns (a, b, a, b, …) until budget is
// spent, at least 3 times each after one warm-up call each; it returns both medians with
// their allocations per call.
func measurePair(budget time.Duration, a, b func()) (measured, measured) {
	a()
	b()
	var ts [2][]float64
	var allocs, bytes [2]uint64
	start := time.Now()
	for len(ts[1]) < 3 || (time.Since(start) < budget && len(ts[1]) < 1000) {
		for i, f := range [2]func(){a, b} {
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			t0 := time.Now()
			f()
			ts[i] = append(ts[i], time.Since(t0).Seconds())
			runtime.ReadMemStats(&m1)
			allocs[i] += m1.Mallocs - m0.Mallocs
			bytes[i] += m1.TotalAlloc - m0.TotalAlloc
		}
	}
	var out [2]measured
	for i := range out {
		n := float64(len(ts[i]))
		out[i] = measured{sec: median(ts[i]), allocs: float64(allocs[i]) / n, bytes: float64(bytes[i]) / n}
	}
	return out[0], out[1]
}

// twinNote is the note of an imported model's row: the zoo model's figure and the ratio.
func twinNote(batch int, zoo, imported measured) string {
	return fmt.Sprintf("zoo model %.1f images/s measured interleaved with it (same weights): imported/zoo speed %.3f",
		float64(batch)/zoo.sec, zoo.sec/imported.sec)
}

// TrainStepImported is TrainStep of the ONNX export of a zoo model, measured interleaved
// with the zoo model itself; the row is named like the zoo model's with ".onnx" after
// the model (train/simplecnn-v2-mnist.onnx/b256).
func TrainStepImported(model, dataset string, batch int, budget time.Duration) (Row, error) {
	name := fmt.Sprintf("train/%s-%s.onnx/b%d", model, dataset, batch)
	tw, skip, err := exportTwin(model, dataset)
	if err != nil || skip != "" {
		return Row{Name: name, Unit: "images/s", Note: skip}, err
	}
	defer tw.remove()
	zs, err := trainStep(tw.zoo, dataset, batch)
	if err != nil {
		return Row{}, err
	}
	is, err := trainStep(tw.imported, dataset, batch)
	if err != nil {
		return Row{}, err
	}
	mz, mi := measurePair(budget, zs, is)
	return mi.row(name, float64(batch)/mi.sec, "images/s", twinNote(batch, mz, mi)), nil
}

// ReverseChainImported is ReverseChain of the ONNX export of a zoo model (reverse chain
// derived from the graph, with the options an imported model gets by default: global
// average pooling by projection), measured interleaved with the zoo model's chain
// (reverse/resnet18-mnist.onnx/b64).
func ReverseChainImported(model, dataset string, batch int, budget time.Duration) (Row, error) {
	name := fmt.Sprintf("reverse/%s.onnx/b%d", reverseRowModel(model, dataset), batch)
	tw, skip, err := exportTwin(model, dataset)
	if err != nil || skip != "" {
		return Row{Name: name, Unit: "images/s", Note: skip}, err
	}
	defer tw.remove()
	ds, err := openTrain(dataset)
	if err != nil {
		return Row{}, err
	}
	x, labels := reverseBatch(ds, batch, tw.zoo, tw.imported)
	zs, zcheck, err := reverseStep(tw.zoo, reverse.DefaultChainOptions(), x, labels)
	if err != nil {
		return Row{}, err
	}
	iopt := reverse.DefaultChainOptions()
	iopt.GlobalPoolProjection = true
	is, icheck, err := reverseStep(tw.imported, iopt, x, labels)
	if err != nil {
		return Row{}, err
	}
	mz, mi := measurePair(budget, zs, is)
	if _, err := zcheck(); err != nil {
		return Row{}, fmt.Errorf("reverse %s-%s (zoo): %w", model, dataset, err)
	}
	note, err := icheck()
	if err != nil {
		return Row{}, fmt.Errorf("reverse %s-%s (imported): %w", model, dataset, err)
	}
	return mi.row(name, float64(batch)/mi.sec, "images/s",
		fmt.Sprintf("%s, every target changed (%.2f s/batch%s); ", dataset, mi.sec, note)+twinNote(batch, mz, mi)), nil
}
