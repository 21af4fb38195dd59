package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/frpt/frpt/pipeline"
	"github.com/frpt/frpt/reverse"
	"github.com/spf13/cobra"
)

func newAblateEmbeddingsCmd() *cobra.Command {
	cfg := pipeline.DefaultAblation()
	var embeds, alphas, seeds string
	var tasks taskFlags
	cmd := &cobra.Command{
		Use:   "ablate-embeddings",
		Short: "Ablation of the output target: one-hot vs max-assign vs nearest (spec §3.4, results §7)",
		Long: `Starting from the pretrained weights, train the whole network (nothing frozen) with
CE + α·MSE(logits, target) for a fixed α (no adaptive weight), AdamW lr 1e-3 with weight
decay 0.01, for each target: one-hot (e_y), max-assign (the live model's logits of each
step with o_y set to the row's maximum, clamped to ±10) and nearest (the nearest embedding
of the pretrained logits, computed once). All runs use one frozen pass over the training
set (augmented once with --aug-seed, like the feature cache; or taken from --cache), shuffled
per seed; test accuracy after every epoch. α = 0 (CE only) runs once per seed as "none".

Each finished run is appended to --results (JSON lines); rerunning skips finished runs.
Writes to --out (default: the results folder) ablation-summary.csv/.json, ablation.md and
ablation.png: mean ± 95 % t-interval over seeds of epoch5/epoch10/mean/best test accuracy
per target and α, like the paper's ablation figures.

On a job array (--task I/N, or SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX, README "On a
cluster"), run i of the grid (targets × α × seeds, in that fixed order) is task i mod N's and
goes to its own file beside --results (results.task-IIII-of-NNNN.jsonl). Every task reads all
the task files; the task that finds the grid complete writes the summary, and so does any
later call without --task (it runs nothing new): the summary equals a one-process run's.`,
		Example: `  frpt ablate-embeddings --model simplecnn-v2 --dataset mnist --weights runs/mnist-simplecnn-v2/best.safetensors
  frpt ablate-embeddings --weights w.safetensors --alphas 0,0.1,0.3,0.9 --seeds 0-2 --epochs 5 --limit 10000`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.Embeddings = nil
			for _, e := range splitList(embeds) {
				cfg.Embeddings = append(cfg.Embeddings, reverse.Embedding(e))
			}
			var err error
			if cfg.Alphas, err = parseNonNegatives("--alphas", alphas); err != nil {
				return err
			}
			if cfg.Seeds, err = parseSeeds(seeds); err != nil {
				return err
			}
			importedDefaults(cmd, cfg.Model, &cfg.Weights, nil)
			if cfg.Results == "" {
				cfg.Results = filepath.Join("runs", fmt.Sprintf("%s-%s-ablation", cfg.Dataset, modelLabel(cfg.Model)), "results.jsonl")
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			if cfg.Task, err = tasks.resolve(); err != nil {
				return err
			}
			sum, err := pipeline.RunAblation(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			if sum.Missing > 0 {
				fmt.Printf("%s: %d runs done now; %d runs of other tasks still to finish (the last task writes the summary)\n", cfg.Task, sum.New, sum.Missing)
				return nil
			}
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "embedding\tα\tmetric\tn\tmean\t95% CI")
			for _, c := range sum.Cells {
				ci := "–"
				if !math.IsNaN(float64(c.CILow)) {
					ci = fmt.Sprintf("[%.2f, %.2f]", 100*float64(c.CILow), 100*float64(c.CIHigh))
				}
				fmt.Fprintf(tw, "%s\t%g\t%s\t%d\t%.2f%%\t%s\n", c.Embedding, c.Alpha, c.Metric, c.N, 100*float64(c.Mean), ci)
			}
			tw.Flush()
			fmt.Printf("pretrained %s; %d runs (%d new) in %s; report: %s\n", num(sum.Pretrained*100, "%.2f%%"), len(sum.Runs), sum.New, cfg.Results, sum.Files[2])
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Weights, "weights", "", "pretrained checkpoint (safetensors)")
	f.StringVar(&cfg.Model, "model", "simplecnn-v2", "model (frpt info --models)")
	f.StringVar(&cfg.Dataset, "dataset", "mnist", "dataset")
	f.StringVar(&cfg.DataDir, "data", "", "dataset folder (default: found automatically for mnist and fashion-mnist)")
	f.StringVar(&cfg.Cache, "cache", "", "optional feature cache (frpt reconstruct, nearest embedding) to take the training pass from")
	f.StringVar(&embeds, "embeddings", "one-hot,max-assign,nearest", "output targets to compare")
	f.StringVar(&alphas, "alphas", "0.1,0.3,0.9", "fixed MSE coefficients α (0 = CE only, run once per seed)")
	f.StringVar(&seeds, "seeds", "0-9", "seeds: list and ranges, e.g. 0-9 or 0,3,5")
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "epochs per run")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "batch size")
	f.Float64Var(&cfg.LR, "lr", cfg.LR, "AdamW learning rate")
	f.Float64Var(&cfg.WD, "wd", cfg.WD, "AdamW weight decay (on every parameter)")
	f.IntVar(&cfg.Limit, "limit", 0, "use only the first N training images (quick runs; ignored with --cache)")
	f.BoolVar(&cfg.NoAugment, "no-augment", false, "freeze the un-augmented training images instead of one augmented pass")
	f.Uint64Var(&cfg.AugmentSeed, "aug-seed", 0, "seed of the frozen augmented pass")
	f.IntVar(&cfg.Workers, "workers", cfg.Workers, "concurrent runs")
	f.StringVar(&cfg.Results, "results", "", "results file (JSON lines; default runs/<dataset>-<model>-ablation/results.jsonl)")
	f.StringVar(&cfg.OutDir, "out", "", "summary folder (default: the results file's folder)")
	tasks.register(f)
	return cmd
}
