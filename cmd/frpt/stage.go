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

func newStageStudyCmd() *cobra.Command {
	cfg := pipeline.DefaultStageConfig()
	var conv, embed string
	var tasks taskFlags
	cmd := &cobra.Command{
		Use:   "stage-study",
		Short: "Relative feature gap per tap against test accuracy over a run's epoch checkpoints (spec §8, results §6)",
		Long: `For every epoch-NNN.safetensors of a training run (frpt train --save-every N), run the
reverse chain of that checkpoint on the first --limit training images (un-augmented) and
record per tap relative_diff = mean ‖f − r‖/‖f‖, absolute_diff = mean ‖f − r‖ and
forward_norm = mean ‖f‖ (f forward, r label-reconstructed). Test and training accuracy per
epoch come from the run's log.jsonl. Then correlate test accuracy (and the probe-set
accuracy) with each metric over the stages, dropping the first --drop-first, with Pearson r
and Spearman ρ and two-sided p-values.

Writes to --out (default <run>/stage-study): stages.jsonl (the resume state: finished
stages are not recomputed), stages.csv, correlations.csv, correlations.json,
stage-study.png and report.md. Rerun it while training continues to add new stages.

On a job array (--task I/N, or SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX, README "On a
cluster"), checkpoint i (in epoch order) is task i mod N's and its stage goes to the task's
own stages.task-IIII-of-NNNN.jsonl in --out. Every task reads all the task files; the task
that finds every stage done writes the merged stages.jsonl and the summary files, and so
does any later call without --task (it probes nothing new): the summary equals a
one-process run's.`,
		Example: `  frpt train --dataset mnist --model simplecnn-v2 --epochs 100 --save-every 5 --out runs/mnist-stages
  frpt stage-study --run runs/mnist-stages --limit 5000`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.Chain.ConvMethod = reverse.ConvMethod(conv)
			cfg.Chain.Embedding = reverse.Embedding(embed)
			if err := cfg.Validate(); err != nil {
				return err
			}
			var err error
			if cfg.Task, err = tasks.resolve(); err != nil {
				return err
			}
			sum, err := pipeline.StageStudy(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			if sum.Missing > 0 {
				fmt.Printf("%s: %d stages computed now; %d stages of other tasks still to finish (the last task writes the summary)\n", cfg.Task, sum.New, sum.Missing)
				return nil
			}
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "tap\tmetric\tn\tPearson r\tp\tSpearman ρ\tp")
			for _, c := range sum.Correlations {
				if c.Accuracy != "test_acc" || c.Metric == "forward_norm" {
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", c.Tap, c.Metric, c.N, num(c.PearsonR, "%+.4f"), num(c.PearsonP, "%.2g"), num(c.SpearmanRho, "%+.4f"), num(c.SpearmanP, "%.2g"))
			}
			tw.Flush()
			fmt.Printf("%d stages (%d computed now), %d probe images; report: %s\n", len(sum.Stages), sum.New, sum.Samples, filepath.Join(filepath.Dir(sum.Files[0]), "report.md"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.RunDir, "run", "", "training run folder (frpt train --out) with epoch-NNN.safetensors and log.jsonl")
	f.StringVar(&cfg.OutDir, "out", "", "output folder (default <run>/stage-study)")
	f.StringVar(&cfg.Model, "model", "", "model (default: the run's config.json)")
	f.StringVar(&cfg.Dataset, "dataset", "", "dataset (default: the run's config.json)")
	f.StringVar(&cfg.DataDir, "data", "", "dataset folder (default: the run's, or found automatically for mnist and fashion-mnist)")
	f.IntVar(&cfg.Limit, "limit", cfg.Limit, "probe the first N training images (0: all)")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "samples per reverse-chain call")
	f.IntVar(&cfg.DropFirst, "drop-first", cfg.DropFirst, "stages left out of the correlations (the paper drops the first)")
	f.StringVar(&conv, "conv-method", string(reverse.ConvFFTPad), "convolution reverse: fft_pad, fft_oldbound, cg, exact_matrix")
	f.StringVar(&embed, "embedding", string(reverse.Nearest), "output target: nearest, max-assign, one-hot")
	f.BoolVar(&cfg.Chain.GlobalPoolProjection, "pool-projection", false, "reverse global average pooling by projection instead of broadcast (default true for an ONNX model)")
	tasks.register(f)
	return cmd
}

// num formats a possibly undefined statistic.
func num(v pipeline.Num, format string) string {
	if math.IsNaN(float64(v)) {
		return "–"
	}
	return fmt.Sprintf(format, float64(v))
}
