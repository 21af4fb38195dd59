package pipeline

import (
	"fmt"

	"github.com/frpt/frpt/nn"
)

// newOptimizer builds the optimiser of the recipe over the trainable parameters.
func newOptimizer(cfg TrainConfig, params []nn.Named[float32]) (nn.Optimizer, error) {
	var groups []nn.Group[float32]
	if cfg.DecayNorms {
		groups = []nn.Group[float32]{{Params: params, LR: cfg.LR, WeightDecay: cfg.WeightDecay}}
	} else {
		decay, noDecay := nn.SplitDecay(params)
		groups = []nn.Group[float32]{
			{Params: decay, LR: cfg.LR, WeightDecay: cfg.WeightDecay},
			{Params: noDecay, LR: cfg.LR, WeightDecay: 0},
		}
	}
	switch cfg.Optimizer {
	case "adamw":
		return nn.NewAdamW(groups...), nil
	case "sgd":
		return nn.NewSGD(cfg.Momentum, cfg.Nesterov, groups...), nil
	}
	return nil, fmt.Errorf("optimizer %q: want adamw or sgd", cfg.Optimizer)
}

type schedule struct {
	cosine  nn.Cosine
	plateau *nn.ReduceOnPlateau
}

// newSchedule returns the per-epoch learning-rate schedule of cfg.
func newSchedule(cfg TrainConfig) schedule {
	p := nn.NewReduceOnPlateau(cfg.LR)
	if cfg.MinLR > 0 {
		p.MinLR = cfg.MinLR
	}
	return schedule{cosine: nn.Cosine{Base: cfg.LR, Min: cfg.MinLR, Total: cfg.Epochs}, plateau: p}
}
