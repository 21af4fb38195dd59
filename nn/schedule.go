package nn

import (
	"fmt"
	"math"
)

// Cosine is PyTorch's CosineAnnealingLR in closed form:
//
//	lr(step) = Min + (Base − Min)·(1 + cos(π·step/Total))/2
//
// so lr(0) = Base and lr(Total) = Min. Like PyTorch's closed form, steps beyond Total
// follow the cosine back up; callers stop at Total. Total ≤ 0 gives Base.
type Cosine struct {
	Base, Min float64
	Total     int
}

// LR returns the learning rate at the given step (epoch or iteration, as the caller counts).
func (c Cosine) LR(step int) float64 {
	if c.Total <= 0 {
		return c.Base
	}
	return c.Min + (c.Base-c.Min)*(1+math.Cos(math.Pi*float64(step)/float64(c.Total)))/2
}

// ReduceOnPlateau is PyTorch's ReduceLROnPlateau: when the metric has not improved for
// more than Patience consecutive steps, the learning rate is multiplied by Factor (never
// below MinLR; changes smaller than Eps are ignored), followed by Cooldown steps during
// which bad steps are not counted. Improvement in "max" mode with relative threshold means
// metric > best·(1 + Threshold); in "min" mode metric < best·(1 − Threshold); with
// ThresholdMode "abs" the threshold is added or subtracted instead. Create it with
// NewReduceOnPlateau (the zero value has no learning rate) and adjust fields before the
// first Step.
type ReduceOnPlateau struct {
	Mode          string // "max" (default) or "min"
	Factor        float64
	Patience      int
	MinLR         float64
	Threshold     float64
	ThresholdMode string // "rel" (default) or "abs"
	Cooldown      int
	Eps           float64

	lr, best     float64
	bad, cooling int
}

// NewReduceOnPlateau returns a scheduler starting at lr with the settings of the spec's
// pre-training recipes: mode max, factor 0.5, patience 3, min lr 1e-6, threshold 1e-4
// relative, cooldown 0, eps 1e-8.
func NewReduceOnPlateau(lr float64) *ReduceOnPlateau {
	return &ReduceOnPlateau{
		Mode: "max", Factor: 0.5, Patience: 3, MinLR: 1e-6, Threshold: 1e-4, ThresholdMode: "rel",
		Eps: 1e-8, lr: lr, best: math.Inf(-1),
	}
}

// LR returns the current learning rate.
func (r *ReduceOnPlateau) LR() float64 { return r.lr }

// Step records one metric value (e.g. validation accuracy after an epoch) and returns the
// learning rate to use from now on; pass it to Optimizer.SetLR.
func (r *ReduceOnPlateau) Step(metric float64) float64 {
	if r.best == math.Inf(-1) && r.Mode == "min" {
		r.best = math.Inf(1)
	}
	if r.better(metric) {
		r.best = metric
		r.bad = 0
	} else {
		r.bad++
	}
	if r.cooling > 0 {
		r.cooling--
		r.bad = 0
	}
	if r.bad > r.Patience {
		if nl := max(r.lr*r.Factor, r.MinLR); r.lr-nl > r.Eps {
			r.lr = nl
		}
		r.cooling = r.Cooldown
		r.bad = 0
	}
	return r.lr
}

func (r *ReduceOnPlateau) better(a float64) bool {
	rel := r.ThresholdMode != "abs"
	switch r.Mode {
	case "", "max":
		if rel {
			return a > r.best*(1+r.Threshold)
		}
		return a > r.best+r.Threshold
	case "min":
		if rel {
			return a < r.best*(1-r.Threshold)
		}
		return a < r.best-r.Threshold
	}
	panic(fmt.Sprintf("nn.ReduceOnPlateau: mode %q, want max or min", r.Mode))
}
