package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/reverse"
	"github.com/frpt/frpt/tensor"
)

// ReverseChain measures images/s of the whole reverse chain (spec §5) of a zoo model on
// a batch of real images whose every output target is changed, the case that costs the
// composite solvers their full iteration budget. The construction is deterministic and
// seeded: the model is the seed-0 initialisation with its BatchNorm running statistics
// taken from trainStats training-mode passes over the first images of the training
// split (no gradient steps), and every sample's label is drawn uniformly among the
// classes other than the model's prediction, so the nearest embedding moves every
// sample's logits (checked: the row fails if one target equals its forward logits).
func ReverseChain(model, dataset string, batch int, budget time.Duration) (Row, error) {
	ds, m, err := openTrainAndModel(model, dataset)
	if err != nil {
		return Row{}, err
	}
	x, labels := reverseBatch(ds, batch, m)
	step, check, err := reverseStep(m, reverse.DefaultChainOptions(), x, labels)
	if err != nil {
		return Row{}, err
	}
	ms := measure(budget, step)
	note, err := check()
	if err != nil {
		return Row{}, fmt.Errorf("reverse %s-%s: %w", model, dataset, err)
	}
	return ms.row(fmt.Sprintf("reverse/%s/b%d", reverseRowModel(model, dataset), batch), float64(batch)/ms.sec, "images/s",
		fmt.Sprintf("%s, every target changed (%.2f s/batch%s)", dataset, ms.sec, note)), nil
}

// reverseBatch sets the BatchNorm running statistics of the models from trainStats
// training-mode passes over the first images of the training split and returns the
// batch of the first images with a label for each that differs from the first model's
// prediction (seeded). Several models with the same weights get the same statistics.
func reverseBatch(ds data.Dataset, batch int, ms ...models.Model[float32]) (*tensor.T[float32], []int) {
	c, h, w := ds.Shape()
	img := func(first int) *tensor.T[float32] {
		x := tensor.New[float32](batch, c, h, w)
		per := c * h * w
		for i := 0; i < batch; i++ {
			ds.Get((first+i)%ds.Len(), x.Data[i*per:(i+1)*per])
		}
		return x
	}
	const trainStats = 4
	for _, m := range ms {
		nn.SetTraining[float32](m, true)
		for s := 0; s < trainStats; s++ {
			m.Forward(img((s + 1) * batch))
		}
		nn.SetTraining[float32](m, false)
	}
	x := img(0)
	logits := ms[0].Forward(x)
	k := logits.Dim(-1)
	rng := rand.New(rand.NewPCG(5, 6))
	labels := tensor.ArgmaxRows(logits.Data, k)
	for i, p := range labels {
		labels[i] = (p + 1 + rng.IntN(k-1)) % k
	}
	return x, labels
}

// reverseStep returns one run of m's reverse chain on x and labels, and a check to call
// after the runs: it fails unless every output target of the last run changed, and
// returns a note on the composite solvers' work.
func reverseStep(m models.Model[float32], opt reverse.ChainOptions, x *tensor.T[float32], labels []int) (step func(), check func() (string, error), err error) {
	ch, err := reverse.NewChain(m, opt)
	if err != nil {
		return nil, nil, err
	}
	var rec *reverse.Reconstruction
	var runErr error
	step = func() {
		if runErr == nil {
			rec, runErr = ch.Run(x, labels)
		}
	}
	check = func() (string, error) {
		if runErr != nil {
			return "", runErr
		}
		changed := 0
		for _, g := range rec.Diags["out"].Gap {
			if g > 0 {
				changed++
			}
		}
		if changed != len(labels) {
			return "", fmt.Errorf("%d of %d output targets changed, want all", changed, len(labels))
		}
		first, iters := "", 0
		for _, t := range rec.Taps {
			if d := rec.Diags[t]; d != nil && len(d.History) > 0 {
				iters += len(d.History)
				if first == "" {
					first = fmt.Sprintf("; %s composite rel. error %.3g → %.3g", t, d.History[0], d.History[len(d.History)-1])
				}
			}
		}
		return first + fmt.Sprintf("; %d composite error evaluations", iters), nil
	}
	return step, check, nil
}

// reverseRowModel names a reverse row's model as issue 13 does (resnet18-mnist,
// simplevit).
func reverseRowModel(model, dataset string) string {
	if model == "simplevit" {
		return model
	}
	return model + "-" + dataset
}
