package pipeline

import (
	"fmt"
	"slices"

	"github.com/frpt/frpt/data"
	fc "github.com/frpt/frpt/flagcheck"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/reverse"
)

// Validation, one method per configuration: every option is checked (ranges, finite
// numbers, known names) before a command creates a folder or writes a file, and each
// error names the command-line flag of the option and what it allows. The pipeline's
// entry points (Pretrain, Reconstruct, RunGrid, RunAblation, StageStudy, Demo, Evaluate)
// call them too, after filling the defaults they document, so a library caller gets the
// same refusals.

// checkModel checks --model and --dataset together: known names, and a zoo model that
// exists for the dataset (models.CheckFor; an ONNX file is accepted by path).
func checkModel(model, dataset string) error {
	if err := fc.OneOf("--dataset", dataset, data.Names()...); err != nil {
		return err
	}
	if err := models.CheckFor(model, dataset); err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	return nil
}

// convMethods and embeddings are the values --conv-method and --embedding allow.
var (
	convMethods = []reverse.ConvMethod{reverse.ConvFFTPad, reverse.ConvFFTBoundary, reverse.ConvCG, reverse.ConvDense}
	embeddings  = []reverse.Embedding{reverse.Nearest, reverse.MaxAssign, reverse.OneHot}
)

// chainDefaults fills the chain options a caller left zero with the original code's
// (reverse.DefaultChainOptions), keeping the embedding, convolution method and pooling
// reverse it set.
func chainDefaults(o reverse.ChainOptions) reverse.ChainOptions {
	if o.Kappa == 0 {
		d := reverse.DefaultChainOptions()
		d.Embedding, d.ConvMethod, d.GlobalPoolProjection = o.Embedding, o.ConvMethod, o.GlobalPoolProjection
		d.GraphPoolBroadcast = o.GraphPoolBroadcast
		o = d
	}
	if o.Embedding == "" {
		o.Embedding = reverse.Nearest
	}
	if o.ConvMethod == "" {
		o.ConvMethod = reverse.ConvFFTPad
	}
	return o
}

// checkChain checks the user-set options of a reverse chain.
func checkChain(o reverse.ChainOptions) error {
	return fc.First(
		fc.OneOf("--conv-method", o.ConvMethod, convMethods...),
		fc.OneOf("--embedding", o.Embedding, embeddings...),
	)
}

// Validate checks a pretraining configuration before any work starts.
func (c TrainConfig) Validate() error {
	if err := checkModel(c.Model, c.Dataset); err != nil {
		return err
	}
	err := fc.First(
		fc.Required("--out", c.OutDir, "the run folder"),
		fc.OneOf("--optimizer", c.Optimizer, "adamw", "sgd"),
		fc.Above("--lr", c.LR, 0),
		fc.AtLeast("--wd", c.WeightDecay, 0),
		fc.Between("--momentum", c.Momentum, 0, 1, true),
		fc.IntAtLeast("--epochs", c.Epochs, 1),
		fc.IntAtLeast("--batch", c.BatchSize, 1),
		fc.Between("--label-smoothing", c.LabelSmoothing, 0, 1, true),
		fc.OneOf("--schedule", c.Schedule, "none", "cosine", "plateau"),
		fc.Between("--min-lr", c.MinLR, 0, c.LR, false),
		fc.IntAtLeast("--limit", c.Limit, 0),
		fc.IntAtLeast("--save-every", c.SaveEvery, 0),
		fc.Between("--drop-fraction", c.DropFraction, 0, 1, false),
	)
	if err != nil {
		return err
	}
	if c.Nesterov && (c.Optimizer != "sgd" || c.Momentum <= 0) {
		return fmt.Errorf("--nesterov needs --optimizer sgd and --momentum > 0 (got %s, momentum %g)", c.Optimizer, c.Momentum)
	}
	if c.DropFraction > 0 {
		k, _ := data.NumClasses(c.Dataset)
		if err := fc.IntBelow("--drop-class", c.DropClass, 0, k); err != nil {
			return fmt.Errorf("%w (the classes of %s)", err, c.Dataset)
		}
	}
	return nil
}

// Validate checks a reconstruction pass before any work starts (zero Batch and ShardSize
// are refused here; Reconstruct fills them with its defaults first).
func (c ReconstructConfig) Validate() error {
	if err := checkModel(c.Model, c.Dataset); err != nil {
		return err
	}
	return fc.First(
		fc.Required("--weights", c.Weights, "a checkpoint from frpt train"),
		fc.Required("--out", c.OutDir, "the cache folder"),
		fc.IntAtLeast("--batch", c.Batch, 1),
		fc.IntAtLeast("--shard", c.ShardSize, 1),
		fc.IntAtLeast("--limit", c.Limit, 0),
		checkChain(c.Chain),
	)
}

// Validate checks one post-training run (the grid's Validate checks the lists).
func (c PostTrainConfig) Validate() error {
	if err := checkModel(c.Model, c.Dataset); err != nil {
		return err
	}
	err := fc.First(
		fc.Required("--weights", c.Weights, "the checkpoint the cache was made from"),
		fc.OneOf("--mode", c.Mode, "coupled", "decoupled", "hierarchical"),
		fc.IntAtLeast("--epochs", c.Epochs, 1),
		fc.IntAtLeast("--batch", c.Batch, 1),
		fc.Above("--lr", c.LR, 0),
		fc.AtLeast("--wd", c.WD, 0),
		fc.AtLeast("--crec", c.CRec, 0),
	)
	if err != nil {
		return err
	}
	switch {
	case c.Tap == "":
		return fmt.Errorf("--taps: no tap given")
	case c.Mode == "hierarchical" && c.Tap != HierarchicalTap:
		return fmt.Errorf("--taps %q: --mode hierarchical trains between every pair of taps: want --taps %s", c.Tap, HierarchicalTap)
	case c.Mode != "hierarchical" && c.Tap == HierarchicalTap:
		return fmt.Errorf("--taps %s: only --mode hierarchical takes tap %q", HierarchicalTap, HierarchicalTap)
	case c.Mode == "decoupled" && c.Tap == "out":
		return fmt.Errorf("--taps out: --mode decoupled trains the front at a hidden tap (out has no front)")
	case c.Mode == "decoupled" && c.CRec == 0:
		return fmt.Errorf("--crec 0: --mode decoupled trains with the MSE alone, so every c_rec must be > 0")
	}
	return nil
}

// Validate checks a post-training grid before any work starts: the base run, every
// tap × c_rec × seed, the lists (none empty, no value twice) and the grid's own options.
// The taps are checked against the cache's when it is opened (RunGrid).
func (g GridConfig) Validate() error {
	err := fc.First(
		fc.Required("--cache", g.Cache, "a feature cache from frpt reconstruct"),
		fc.Required("--results", g.Results, "the results file"),
		fc.List("--taps", g.Taps),
		fc.List("--crec", g.CRecs),
		fc.List("--seeds", g.Seeds),
		fc.IntAtLeast("--workers", g.Workers, 1),
		fc.IntAtLeast("--test-limit", g.TestLimit, 0),
		g.checkSave(),
	)
	if err != nil {
		return err
	}
	for _, tap := range g.Taps {
		for _, c := range g.CRecs {
			run := g.Base
			run.Tap, run.CRec = tap, c
			if err := run.Validate(); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkTaps checks requested taps against the taps a cache holds.
func checkTaps(c *Cache, taps []string) error {
	have := make([]string, len(c.Manifest.Taps))
	for i, t := range c.Manifest.Taps {
		have[i] = t.Name
	}
	for _, t := range taps {
		if t == HierarchicalTap {
			continue
		}
		if !slices.Contains(have, t) {
			return fc.OneOf("--taps", t, have...)
		}
	}
	return nil
}

// Validate checks an embedding ablation before any work starts.
func (c AblationConfig) Validate() error {
	if err := checkModel(c.Model, c.Dataset); err != nil {
		return err
	}
	err := fc.First(
		fc.Required("--weights", c.Weights, "a pretrained checkpoint from frpt train"),
		fc.Required("--results", c.Results, "the results file"),
		fc.IntAtLeast("--epochs", c.Epochs, 1),
		fc.IntAtLeast("--batch", c.Batch, 1),
		fc.Above("--lr", c.LR, 0),
		fc.AtLeast("--wd", c.WD, 0),
		fc.IntAtLeast("--limit", c.Limit, 0),
		fc.IntAtLeast("--workers", c.Workers, 1),
		fc.List("--alphas", c.Alphas),
		fc.Each(c.Alphas, func(a float64) error { return fc.AtLeast("--alphas", a, 0) }),
		fc.List("--seeds", c.Seeds),
	)
	if err != nil {
		return err
	}
	if len(c.Embeddings) == 0 && !slices.Contains(c.Alphas, 0) {
		return fmt.Errorf("--embeddings: no embedding given")
	}
	if len(c.Embeddings) > 0 {
		if err := fc.List("--embeddings", c.Embeddings); err != nil {
			return err
		}
	}
	return fc.Each(c.Embeddings, func(e reverse.Embedding) error { return fc.OneOf("--embeddings", e, embeddings...) })
}

// Validate checks a training-stage study before any work starts (Model and Dataset may
// be empty: they default to the run's).
func (c StageConfig) Validate() error {
	err := fc.First(
		fc.Required("--run", c.RunDir, "a frpt train folder with epoch-*.safetensors"),
		fc.IntAtLeast("--limit", c.Limit, 0),
		fc.IntAtLeast("--batch", c.Batch, 1),
		fc.IntAtLeast("--drop-first", c.DropFirst, 0),
		checkChain(c.Chain),
	)
	if err != nil {
		return err
	}
	if c.Model != "" && c.Dataset != "" {
		return checkModel(c.Model, c.Dataset)
	}
	if c.Model != "" {
		if err := models.CheckName(c.Model); err != nil {
			return fmt.Errorf("--model: %w", err)
		}
	}
	if c.Dataset != "" {
		return fc.OneOf("--dataset", c.Dataset, data.Names()...)
	}
	return nil
}

// demoModel is the demo's model and dataset.
const demoModel, demoDataset = "simplecnn-v2", "mnist"

// Validate checks the demo's options before any work starts.
func (c DemoConfig) Validate() error {
	err := fc.First(
		fc.Required("--out", c.OutDir, "the demo folder"),
		fc.IntAtLeast("--epochs", c.Epochs, 1),
		fc.List("--taps", c.Taps),
		fc.List("--crec", c.CRecs),
		fc.Each(c.CRecs, func(v float64) error { return fc.AtLeast("--crec", v, 0) }),
		fc.IntAtLeast("--seeds", c.Seeds, 1),
		fc.IntAtLeast("--post-epochs", c.PostEpochs, 1),
		fc.IntAtLeast("--workers", c.Workers, 1),
		fc.IntAtLeast("--limit", c.Limit, 0),
	)
	if err != nil {
		return err
	}
	m, err := models.New[float32](demoModel, demoDataset, 0)
	if err != nil {
		return err
	}
	return fc.Each(c.Taps, func(t string) error { return fc.OneOf("--taps", t, m.TapNames()...) })
}

// Validate checks an evaluation before any work starts.
func (c EvalConfig) Validate() error {
	if err := checkModel(c.Model, c.Dataset); err != nil {
		return err
	}
	return fc.First(
		fc.Required("--weights", c.Weights, "a checkpoint"),
		fc.IntAtLeast("--batch", c.BatchSize, 1),
	)
}
