package pipeline

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/frpt/frpt/tensor"
)

// fingerprint renders the figures of a run that depend on every training step (mean CE
// and MSE per epoch, mean adaptive weight, test accuracies) as exact float bits.
func fingerprint(r *RunResult) string {
	var b strings.Builder
	for _, v := range [][]float64{r.TrainCE, r.TrainMSE, {r.MeanWeight}, r.TestAcc} {
		for _, x := range v {
			fmt.Fprintf(&b, "%x ", math.Float64bits(x))
		}
		b.WriteString("| ")
	}
	return b.String()
}

// postTrainGolden holds the fingerprints of the runs of TestPostTrainSameBits as the
// per-tap conv kernels, the separate ReLU and max-pool layers and the gathered-target MSE
// computed them (commit 334a4f1, two workers).
var postTrainGolden = map[string]string{
	"simplecnn-v2/coupled/z1/c0.3/s5": "400c5deaf705f102 40063d7eb3cda81a | 4004740275555555 4002162ee71c71c8 | 3fdb8cd7a2fbeca8 | 0 0 | ",
	"simplecnn-v2/coupled/z1/c0/s5":   "400c5922ca61c03e 40060079f4771152 | 0 0 | 0 | 0 3f95555555555555 | ",
	"simplecnn-v2/decoupled/z1/c1/s5": "0 0 | 4002fe93abda12f6 3ffb2743212f684b | 3ff0000000000000 | 0 0 | ",
	"simplecnn-v2/coupled/z2/c0.3/s5": "400867c884daf92e 4002a583c3b1efe2 | 4002acf4a0000001 3ff97cc0f5555555 | 3fdb06a5f9a7bb24 | 3fa5555555555555 0 | ",
}

// Post-training (coupled at z1 and z2, the c_rec = 0 baseline, decoupled at z1) on a
// synthetic set with a ragged last batch gives exactly the bits it gave before the fused
// and register-blocked kernels: those kernels keep every sum in its order.
func TestPostTrainSameBits(t *testing.T) {
	old := tensor.Workers
	tensor.Workers = 2 // the conv weight gradient adds per-worker partial sums
	defer func() { tensor.Workers = old }()
	set, base := synthSet(t, 100)
	pix, _, labels, _ := synthImages(t, 48, 8)
	test := &memDataset{pix: pix, labels: labels}
	for _, c := range []struct {
		tap, mode string
		crec      float64
	}{{"z1", "coupled", 0.3}, {"z1", "coupled", 0}, {"z1", "decoupled", 1}, {"z2", "coupled", 0.3}} {
		cfg := base
		cfg.Tap, cfg.Mode, cfg.CRec, cfg.Seed = c.tap, c.mode, c.crec, 5
		r, err := PostTrain(context.Background(), cfg, set, test, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fingerprint(r), postTrainGolden[cfg.Key()]; got != want {
			t.Errorf("%s: fingerprint\n%q\nwant\n%q", cfg.Key(), got, want)
		}
	}
}
