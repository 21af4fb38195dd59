package main

import (
	"fmt"
	"os"

	"github.com/frpt/frpt/pipeline"
	"github.com/spf13/cobra"
)

func newTrainCmd() *cobra.Command {
	var cfg pipeline.TrainConfig
	var recipe string
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Pretrain a zoo model on a dataset",
		Long: `Pretrain a model of the zoo (frpt info --models) on a dataset, with the paper's recipe
for that pair unless flags override it. Writes to --out: config.json, log.jsonl (one JSON
line per epoch), last.safetensors and best.safetensors (PyTorch state_dict names),
optimizer.safetensors (and optimizer.prev.safetensors, the state before it, so that a kill
between the two checkpoints resumes) and summary.json; with --save-every N also epoch-NNN.safetensors
every N epochs (the checkpoints frpt stage-study probes). Re-running with the same --out
resumes after the last finished epoch.`,
		Example: `  frpt train --dataset mnist --model simplecnn-v2
  frpt train --dataset fashion-mnist --model resnet18 --epochs 1 --out runs/fm-r18`,
		RunE: func(cmd *cobra.Command, args []string) error {
			base, err := pipeline.DefaultRecipe(cfg.Model, cfg.Dataset)
			if err != nil {
				return err
			}
			if recipe != "" && recipe != "paper" {
				return fmt.Errorf("--recipe %q: only \"paper\" is known", recipe)
			}
			ch := cmd.Flags().Changed
			if (ch("drop-fraction") || ch("drop-seed")) && !ch("drop-class") {
				return fmt.Errorf("--drop-fraction and --drop-seed need --drop-class")
			}
			cfg = mergeFlags(cmd, base, cfg)
			if cfg.OutDir == "" {
				cfg.OutDir = fmt.Sprintf("runs/%s-%s", cfg.Dataset, cfg.Model)
			}
			sum, err := pipeline.Pretrain(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			fmt.Printf("best test accuracy %.2f%% (epoch %d), last %.2f%%; %s\n",
				100*sum.BestAcc, sum.BestEpoch, 100*sum.LastAcc, cfg.OutDir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Model, "model", "simplecnn-v2", "model name (frpt info --models)")
	f.StringVar(&cfg.Dataset, "dataset", "mnist", "dataset: mnist, fashion-mnist, cifar10, cifar100, imagenette, imagewoof, tiny-imagenet")
	f.StringVar(&cfg.DataDir, "data", "", "dataset folder (default: found automatically for mnist and fashion-mnist)")
	f.StringVar(&cfg.OutDir, "out", "", "output folder (default runs/<dataset>-<model>)")
	f.StringVar(&recipe, "recipe", "paper", "base recipe the flags below override")
	f.StringVar(&cfg.Optimizer, "optimizer", "", "adamw or sgd")
	f.Float64Var(&cfg.LR, "lr", 0, "learning rate")
	f.Float64Var(&cfg.WeightDecay, "wd", 0, "weight decay")
	f.Float64Var(&cfg.Momentum, "momentum", 0, "SGD momentum")
	f.BoolVar(&cfg.Nesterov, "nesterov", false, "SGD Nesterov momentum")
	f.IntVar(&cfg.Epochs, "epochs", 0, "epochs")
	f.IntVar(&cfg.BatchSize, "batch", 0, "batch size")
	f.Float64Var(&cfg.LabelSmoothing, "label-smoothing", 0, "cross-entropy label smoothing")
	f.StringVar(&cfg.Schedule, "schedule", "", "learning-rate schedule: none, cosine, plateau")
	f.Float64Var(&cfg.MinLR, "min-lr", 0, "final / minimum learning rate of the schedule")
	f.Uint64Var(&cfg.Seed, "seed", 0, "random seed (initialisation, data order, augmentation)")
	f.BoolVar(&cfg.NoAugment, "no-augment", false, "train without the dataset's augmentation")
	f.BoolVar(&cfg.Fresh, "fresh", false, "start over instead of resuming from --out")
	f.IntVar(&cfg.Limit, "limit", 0, "use only the first N training images (quick runs)")
	f.IntVar(&cfg.DropClass, "drop-class", 0, "class-drop experiment: remove --drop-fraction of this class's training images")
	f.Float64Var(&cfg.DropFraction, "drop-fraction", 0.9, "with --drop-class: the fraction of that class removed")
	f.Uint64Var(&cfg.DropSeed, "drop-seed", 42, "with --drop-class: seed of the choice of removed images (42 as the authors)")
	f.IntVar(&cfg.SaveEvery, "save-every", 0, "also keep epoch-NNN.safetensors every N epochs (for frpt stage-study; 0: off)")
	return cmd
}

// mergeFlags overrides base with the flags the user set explicitly.
func mergeFlags(cmd *cobra.Command, base, set pipeline.TrainConfig) pipeline.TrainConfig {
	ch := cmd.Flags().Changed
	base.Model, base.Dataset = set.Model, set.Dataset
	base.DataDir, base.OutDir = set.DataDir, set.OutDir
	base.Fresh, base.NoAugment, base.Limit, base.SaveEvery = set.Fresh, set.NoAugment, set.Limit, set.SaveEvery
	if ch("drop-class") {
		base.DropClass, base.DropFraction, base.DropSeed = set.DropClass, set.DropFraction, set.DropSeed
	}
	if ch("optimizer") {
		base.Optimizer = set.Optimizer
	}
	if ch("lr") {
		base.LR = set.LR
	}
	if ch("wd") {
		base.WeightDecay = set.WeightDecay
	}
	if ch("momentum") {
		base.Momentum = set.Momentum
	}
	if ch("nesterov") {
		base.Nesterov = set.Nesterov
	}
	if ch("epochs") {
		base.Epochs = set.Epochs
	}
	if ch("batch") {
		base.BatchSize = set.BatchSize
	}
	if ch("label-smoothing") {
		base.LabelSmoothing = set.LabelSmoothing
	}
	if ch("schedule") {
		base.Schedule = set.Schedule
	}
	if ch("min-lr") {
		base.MinLR = set.MinLR
	}
	if ch("seed") {
		base.Seed = set.Seed
	}
	return base
}
