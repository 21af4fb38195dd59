package main

import (
	"fmt"
	"os"

	"github.com/frpt/frpt/pipeline"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var cfg pipeline.DemoConfig
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The README's main job on real MNIST (pretrain SimpleCNN v2, report)",
		Long: `Pretrain the paper's SimpleCNN v2 on real MNIST with the paper's recipe (AdamW lr 1e-3,
batch 256), evaluating every epoch, and write a Markdown report with a PNG training curve
to --out. A rerun resumes (or reuses) the finished training.`,
		RunE: func(cmd *cobra.Command, args []string) error {
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
	f.IntVar(&cfg.Epochs, "epochs", 100, "pretraining epochs (the paper's recipe: 100)")
	f.Uint64Var(&cfg.Seed, "seed", 0, "random seed")
	f.StringVar(&cfg.DataDir, "data", "", "MNIST folder (default: the GoMNIST module's data)")
	return cmd
}
