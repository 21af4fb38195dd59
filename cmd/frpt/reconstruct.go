package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/frpt/frpt/pipeline"
	"github.com/frpt/frpt/reverse"
	"github.com/spf13/cobra"
)

func newReconstructCmd() *cobra.Command {
	cfg := pipeline.ReconstructConfig{Chain: reverse.DefaultChainOptions()}
	var noAugment bool
	var conv, embed string
	var tf taskFlags
	cmd := &cobra.Command{
		Use:   "reconstruct",
		Short: "Reconstruct label-conditioned targets of every tap over the training set into a feature cache",
		Long: `Run the pretrained model over the training set (with its training augmentation, as the
paper does, unless --no-augment) and walk it backwards from the label's output target,
writing the inputs, labels and reconstructed target of every tap to a feature cache: a
folder of safetensors shards plus manifest.json (documented in pipeline/cache.go; any
safetensors reader opens the shards). Shards are written atomically, so a killed pass
resumes where it stopped when rerun with the same flags. Prints per-tap gap statistics
‖f − r‖/‖f‖ and images/s, and writes them to <out>/reconstruct.json.

--task I/N (or a Slurm array / Indexed Job index from the environment) reconstructs the
I-th of N contiguous blocks of whole shards into the same folder, with its own manifest
part (manifest.task-IIII-of-NNNN.json) and summary; the task that finishes last merges
manifest.json, after which the cache opens as one, equal to a one-process cache.`,
		Example: `  frpt reconstruct --model simplecnn-v2 --dataset mnist --weights runs/mnist-simplecnn-v2/best.safetensors --out runs/mnist-cache`,
		RunE: func(cmd *cobra.Command, args []string) error {
			importedDefaults(cmd, cfg.Model, &cfg.Weights, &cfg.Chain)
			if cfg.OutDir == "" {
				cfg.OutDir = fmt.Sprintf("runs/%s-%s-cache", cfg.Dataset, modelLabel(cfg.Model))
			}
			cfg.Augment = !noAugment
			cfg.Chain.ConvMethod = reverse.ConvMethod(conv)
			cfg.Chain.Embedding = reverse.Embedding(embed)
			var err error
			if cfg.Task, err = tf.resolve(); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil { // before the cache folder is made
				return err
			}
			sum, err := pipeline.Reconstruct(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "tap\tmethod\tmean gap\tmedian\tp90\tmax\tfallbacks")
			for _, t := range sum.Taps {
				fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.4g\t%.4g\t%.4g\t%d\n", t.Tap, t.Method, t.Mean, t.Median, t.P90, t.Max, t.Fallbacks)
			}
			tw.Flush()
			fmt.Printf("%d samples (%d new) in %.1f s: %.0f images/s with cache writing, %.0f images/s compute; cache %s (%.1f MiB)\n",
				sum.Samples, sum.NewSamples, sum.Seconds, sum.ImagesPerSec, sum.ComputePerS, cfg.OutDir, float64(sum.CacheBytes)/(1<<20))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Model, "model", "simplecnn-v2", "model name (frpt info --models)")
	f.StringVar(&cfg.Dataset, "dataset", "mnist", "dataset")
	f.StringVar(&cfg.DataDir, "data", "", "dataset folder (default: found automatically for mnist and fashion-mnist)")
	f.StringVar(&cfg.Weights, "weights", "", "pretrained checkpoint (safetensors)")
	f.StringVar(&cfg.OutDir, "out", "", "cache folder (default runs/<dataset>-<model>-cache)")
	f.Uint64Var(&cfg.Seed, "seed", 0, "augmentation seed")
	f.BoolVar(&noAugment, "no-augment", false, "reconstruct un-augmented training images")
	f.IntVar(&cfg.Batch, "batch", 256, "samples per reverse-chain call")
	f.IntVar(&cfg.ShardSize, "shard-size", 8192, "samples per cache shard")
	f.IntVar(&cfg.ShardSize, "shard", 8192, "samples per cache shard")
	f.MarkDeprecated("shard", "use --shard-size")
	tf.register(f)
	f.IntVar(&cfg.Limit, "limit", 0, "only the first N training samples")
	f.StringVar(&conv, "conv-method", string(reverse.ConvFFTPad), "convolution reverse: fft_pad, fft_oldbound, cg, exact_matrix")
	f.StringVar(&embed, "embedding", string(reverse.Nearest), "output target: nearest, max-assign, one-hot")
	f.BoolVar(&cfg.Chain.GlobalPoolProjection, "pool-projection", false, "reverse global average pooling by projection instead of broadcast (default true for an ONNX model)")
	return cmd
}
