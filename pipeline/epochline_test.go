package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Each training epoch prints one line (its losses, accuracies and speed), not the
// progress bar's final state and a near-duplicate summary.
func TestOneLinePerEpoch(t *testing.T) {
	needMNIST(t)
	cfg, err := DefaultRecipe("simplecnn-v2", "mnist")
	if err != nil {
		t.Fatal(err)
	}
	cfg.OutDir, cfg.Epochs, cfg.Limit = t.TempDir(), 2, 256
	var out bytes.Buffer
	if _, err := Pretrain(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"epoch 1/2", "epoch 2/2"} {
		n := 0
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(l, e) {
				n++
				if !strings.Contains(l, "test loss") || !strings.Contains(l, "images/s") {
					t.Errorf("epoch line %q lacks the test loss or the speed", l)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d lines start with %q, want 1:\n%s", n, e, out.String())
		}
	}
}
