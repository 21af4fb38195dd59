package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/frpt/frpt/flagcheck"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/pipeline"
	"github.com/spf13/cobra"
)

func newPostTrainCmd() *cobra.Command {
	base := pipeline.DefaultPostTrain()
	var cache, results, taps, crecs, seeds, save string
	var workers, testLimit int
	var saveLast bool
	var tf taskFlags
	cmd := &cobra.Command{
		Use:   "posttrain",
		Short: "Post-train at chosen taps over a grid of c_rec and seeds (FR-PT, spec §1.3/§6)",
		Long: `Post-train the sub-network in front of each tap with CE + w·MSE to the reconstructed
target from a feature cache (frpt reconstruct), the rest frozen; w is the EMA-balanced
weight (β 0.9, clamp [1e-5, 10]) scaled by c_rec. c_rec = 0 is the matched baseline (same
split, same seed, CE only). Runs every tap × c_rec × seed, several at once, appending each
finished run to --results (JSON lines); rerunning skips finished runs, so an interrupted
grid resumes where it stopped. --task I/N (or a Slurm array / Indexed Job index from the
environment) runs only the runs at positions i ≡ I mod N of the grid's run list (taps ×
c_rec × seeds, in that order), appended to results.task-IIII-of-NNNN.jsonl beside
--results; frpt report --results merges the task files. --mode decoupled trains the front with the MSE only (no
gradient through the frozen head). --mode hierarchical (tap "all", the default taps in
that mode) cuts the model at every tap and trains each segment in→z1, z1→z2, …, zK→out
on its own and concurrently: input = the pretrained front's feature at its start tap,
loss = MSE to the cached target at its end tap (CE + w·MSE for the last segment, w
scaled by c_rec); the stitched model is tested after each epoch (SimpleCNN family
only). Summarise with frpt report.

--save DIR keeps each run's post-trained weights: the best epoch's by test accuracy (or
the last epoch's with --save-last) as DIR/<model>-<mode>-<tap>-c<c_rec>-s<seed>.safetensors
under the names the model came with (a zoo model: its PyTorch state_dict names, as frpt
train writes them; an ONNX model: its initializer names, num_batches_tracked included),
so model.load_state_dict(strict=True) takes them, plus for an ONNX model a copy of the
.onnx file with the post-trained initializers beside it. Each file is written before
its run's results line, which records it (path relative to the results file's folder,
saved, saved_sha256, saved_onnx, saved_onnx_sha256, saved_epoch).`,
		Example: `  frpt posttrain --cache runs/mnist-cache --weights runs/mnist-simplecnn-v2/best.safetensors \
      --taps out,z2,z1 --crec 0,0.1,0.3 --seeds 0-9 --results runs/mnist-grid/results.jsonl
  frpt posttrain --cache runs/mnist-cache --weights runs/mnist-simplecnn-v2/best.safetensors \
      --mode hierarchical --crec 0,0.1 --seeds 0-9 --results runs/mnist-grid/results.jsonl
  frpt posttrain --cache runs/mnist-model-cache --model model.onnx --taps z2 --crec 0.1 --seeds 0 \
      --save runs/mnist-grid/weights --results runs/mnist-grid/results.jsonl`,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Every option is checked, and the cache read, before anything is written.
			if err := flagcheck.Required("--cache", cache, "a feature cache from frpt reconstruct"); err != nil {
				return err
			}
			if base.Weights == "" && !models.IsONNX(base.Model) && !cacheOfONNX(cache) {
				return flagcheck.Required("--weights", base.Weights, "the checkpoint the cache was made from")
			}
			c, err := pipeline.OpenCache(cache) // for the defaults of --model, --dataset and --results
			if err != nil {
				return err
			}
			if base.Model == "" {
				base.Model = c.Manifest.Model
			}
			importedDefaults(cmd, base.Model, &base.Weights, nil)
			if err := flagcheck.Required("--weights", base.Weights, "the checkpoint the cache was made from"); err != nil {
				return err
			}
			if base.Dataset == "" {
				base.Dataset = c.Manifest.Dataset
			}
			g := pipeline.GridConfig{Base: base, Cache: cache, Workers: workers, Results: results, TestLimit: testLimit,
				Save: save, SaveLast: saveLast}
			if g.Results == "" {
				g.Results = filepath.Join(filepath.Dir(filepath.Clean(cache)), base.Dataset+"-grid", "results.jsonl")
			}
			if base.Mode == "hierarchical" && !cmd.Flags().Changed("taps") {
				taps = pipeline.HierarchicalTap
			}
			g.Taps = splitList(taps)
			if g.CRecs, err = parseNonNegatives("--crec", crecs); err != nil {
				return err
			}
			if g.Seeds, err = parseSeeds(seeds); err != nil {
				return err
			}
			if g.Task, err = tf.resolve(); err != nil {
				return err
			}
			if err := g.Validate(); err != nil {
				return err
			}
			runs, err := pipeline.RunGrid(cmd.Context(), g, os.Stderr)
			if err != nil {
				return err
			}
			fmt.Printf("%d runs in %s; summarise with: frpt report --results %s\n", len(runs), g.Task.File(g.Results), g.Results)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cache, "cache", "", "feature cache folder (frpt reconstruct)")
	f.StringVar(&base.Weights, "weights", "", "pretrained checkpoint the cache was made from")
	f.StringVar(&base.Model, "model", "", "model (default: the cache's)")
	f.StringVar(&base.Dataset, "dataset", "", "dataset (default: the cache's)")
	f.StringVar(&base.DataDir, "data", "", "dataset folder for the test split")
	f.StringVar(&results, "results", "", "results file (JSON lines; default <cache>/../<dataset>-grid/results.jsonl)")
	f.StringVar(&taps, "taps", "out", "comma-separated taps (e.g. out,z2,z1); all (the default) in hierarchical mode")
	f.StringVar(&crecs, "crec", "0,0.02,0.1,0.3", "comma-separated c_rec values (0 = baseline)")
	f.StringVar(&seeds, "seeds", "0-9", "seeds: list and ranges, e.g. 0-9 or 0,3,5")
	f.IntVar(&base.Epochs, "epochs", base.Epochs, "epochs per run")
	f.IntVar(&base.Batch, "batch", base.Batch, "batch size")
	f.Float64Var(&base.LR, "lr", base.LR, "AdamW learning rate")
	f.Float64Var(&base.WD, "wd", base.WD, "AdamW weight decay")
	f.StringVar(&base.Mode, "mode", base.Mode, "coupled (the paper), decoupled (MSE only for the front) or hierarchical (every segment between two taps trained on its own, concurrently)")
	f.IntVar(&workers, "workers", 2, "concurrent runs")
	f.StringVar(&save, "save", "", "write each run's post-trained weights (safetensors, the model's own names; plus an .onnx copy for an ONNX model) into this folder")
	f.BoolVar(&saveLast, "save-last", false, "with --save: save the last epoch's weights instead of the best epoch's (by test accuracy)")
	tf.register(f)
	f.IntVar(&testLimit, "test-limit", 0, "evaluate on the first N test images only (0: all; for slow models; keep it fixed within a results file)")
	return cmd
}

// parseNonNegatives parses the comma-separated list of finite non-negative numbers given
// to flag.
func parseNonNegatives(flag, s string) ([]float64, error) {
	var out []float64
	for _, f := range splitList(s) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("%s %q: want finite non-negative numbers", flag, f)
		}
		if err := flagcheck.AtLeast(flag, v, 0); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// maxSeeds bounds the seeds of one list (a range such as 0-18446744073709551615 would
// otherwise never end).
const maxSeeds = 1 << 16

// parseSeeds reads "0-9", "1,2,5" or a mix.
func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, p := range splitList(s) {
		lo, hi, isRange := strings.Cut(p, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--seeds %q: want seeds (non-negative integers) and ranges lo-hi", p)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("--seeds %q: want lo-hi with lo ≤ hi", p)
			}
		}
		if b-a >= maxSeeds || len(out)+int(b-a) >= maxSeeds {
			return nil, fmt.Errorf("--seeds %q: more than %d seeds", p, maxSeeds)
		}
		for v := a; ; v++ {
			out = append(out, v)
			if v == b {
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--seeds: no seed given")
	}
	return out, nil
}

// cacheOfONNX reports whether cache is a readable feature cache of an ONNX model (whose
// initializers are then the default weights).
func cacheOfONNX(cache string) bool {
	c, err := pipeline.OpenCache(cache)
	return err == nil && models.IsONNX(c.Manifest.Model)
}
