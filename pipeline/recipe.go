package pipeline

import (
	"fmt"
	"strings"

	"github.com/frpt/frpt/models"
)

// TrainConfig is a pretraining run: model, data, recipe and where results go.
type TrainConfig struct {
	Model   string `json:"model"`
	Dataset string `json:"dataset"`
	DataDir string `json:"data_dir,omitempty"`
	OutDir  string `json:"out_dir"`

	Optimizer      string  `json:"optimizer"` // adamw or sgd
	LR             float64 `json:"lr"`
	WeightDecay    float64 `json:"weight_decay"`
	Momentum       float64 `json:"momentum,omitempty"`
	Nesterov       bool    `json:"nesterov,omitempty"`
	Epochs         int     `json:"epochs"`
	BatchSize      int     `json:"batch_size"`
	LabelSmoothing float64 `json:"label_smoothing"`
	Schedule       string  `json:"schedule"` // none, cosine, plateau
	MinLR          float64 `json:"min_lr,omitempty"`
	Seed           uint64  `json:"seed"`
	NoAugment      bool    `json:"no_augment,omitempty"`
	// DecayNorms applies weight decay to biases and 1-D parameters too (PyTorch's AdamW
	// default when no parameter groups are given).
	DecayNorms bool `json:"decay_norms"`
	// Limit uses only the first Limit training images (0 = all), for quick runs.
	Limit int `json:"limit,omitempty"`
	// SaveEvery also writes epoch-NNN.safetensors every SaveEvery epochs (0 = never), the
	// checkpoints a training-stage study (StageStudy) probes. It may change on resume.
	SaveEvery int `json:"save_every,omitempty"`
	// DropFraction > 0 removes that fraction of class DropClass from the training split
	// (the class-drop experiment, spec §6.1), chosen by a generator seeded with DropSeed
	// (the authors' helper uses 42).
	DropClass    int     `json:"drop_class,omitempty"`
	DropFraction float64 `json:"drop_fraction,omitempty"`
	DropSeed     uint64  `json:"drop_seed,omitempty"`
	// Fresh ignores an existing run in OutDir instead of resuming it.
	Fresh bool `json:"-"`
}

// DefaultRecipe returns the pretraining recipe the paper's code uses for a model family
// (spec §7). SimpleCNN: AdamW lr 1e-3, batch 256, 100 epochs, PyTorch's default weight
// decay 0.01 on every parameter. ResNet (from scratch here, since torchvision's ImageNet
// weights cannot be fetched): SGD lr 0.1, momentum 0.9, Nesterov, wd 5e-4, cosine.
// SimpleViT: AdamW lr 1e-4, wd 0.05 on weights only, cosine to 1e-6.
func DefaultRecipe(model, dataset string) (TrainConfig, error) {
	c := TrainConfig{Model: model, Dataset: dataset, Schedule: "none"}
	switch {
	case strings.HasPrefix(model, "simplecnn"):
		c.Optimizer, c.LR, c.WeightDecay, c.DecayNorms = "adamw", 1e-3, 0.01, true
		c.Epochs, c.BatchSize = 100, 256
	case strings.HasPrefix(model, "resnet"):
		c.Optimizer, c.LR, c.Momentum, c.Nesterov, c.WeightDecay = "sgd", 0.1, 0.9, true, 5e-4
		c.Epochs, c.BatchSize, c.Schedule, c.MinLR = 50, 128, "cosine", 0
	case strings.HasPrefix(model, "simplevit"):
		c.Optimizer, c.LR, c.WeightDecay = "adamw", 1e-4, 0.05
		c.Epochs, c.BatchSize, c.Schedule, c.MinLR = 30, 128, "cosine", 1e-6
	default:
		if err := models.CheckName(model); err != nil {
			return c, fmt.Errorf("--model: %w", err)
		}
		return c, fmt.Errorf("--model %q: no pretraining recipe for it (recipes exist for simplecnn-*, resnet*, simplevit*)", model)
	}
	return c, nil
}
