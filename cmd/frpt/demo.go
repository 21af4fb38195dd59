package main

import (
	"fmt"
	"os"

	"github.com/frpt/frpt/pipeline"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	cfg := pipeline.DefaultDemo()
	var crecs string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The README's main job on real MNIST (pretrain SimpleCNN v2, report)",
		Long: `The whole FR-PT pipeline on real MNIST: pretrain the paper's SimpleCNN v2 with the paper's
recipe (AdamW lr 1e-3, batch 256, 100 epochs), reconstruct every tap over the training set
into a feature cache, post-train a small grid (taps × c_rec × seeds) and write
<out>/report.html (and report.md): the training curve, the reconstruction gaps, what the
label wants at tap z1 for the first misclassified test samples (<out>/explain/) and the
grid's paired statistics (<out>/grid/report/). Every stage resumes after an interruption.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if cfg.CRecs, err = parseNonNegatives("--crec", crecs); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			path, err := pipeline.Demo(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			fmt.Println(path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.OutDir, "out", "runs/demo", "output folder")
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "pretraining epochs (the paper's recipe: 100)")
	f.StringSliceVar(&cfg.Taps, "taps", cfg.Taps, "post-training taps")
	f.StringVar(&crecs, "crec", "0,0.1,0.3", "c_rec values (0 = baseline)")
	f.IntVar(&cfg.Seeds, "seeds", cfg.Seeds, "post-training seeds 0…N−1")
	f.IntVar(&cfg.PostEpochs, "post-epochs", cfg.PostEpochs, "post-training epochs per run (paper: 10)")
	f.IntVar(&cfg.Workers, "workers", cfg.Workers, "concurrent post-training runs")
	f.IntVar(&cfg.Limit, "limit", 0, "reconstruct and post-train on the first N training images only (0: all)")
	f.Uint64Var(&cfg.Seed, "seed", 0, "random seed")
	f.StringVar(&cfg.DataDir, "data", "", "MNIST folder (default: the GoMNIST module's data)")
	return cmd
}
