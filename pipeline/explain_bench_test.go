package pipeline

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frpt/frpt/explain"
)

// The explain targets of issue 11, on the committed MNIST SimpleCNN v2 checkpoint:
//
//	go test ./pipeline -run XXX -bench Explain -benchtime 1x
//
// BenchmarkExplain1000: frpt explain --samples all --limit 1000 --tap z2 (every map, a panel
// per sample, the pages); target ≤ 5 s. BenchmarkFaithfulness1000: the faithfulness run
// over 1,000 test samples (6 maps, deletion and insertion, 21 points); target ≤ 60 s.
// Both print the machine's load average (uptime), since the machine is shared.

const benchWeights = "../results/mnist-simplecnn-v2/pretrained-best.safetensors"

func benchExplain(b *testing.B, cfg ExplainConfig) *ExplainSummary {
	if _, err := os.Stat(benchWeights); err != nil {
		b.Skipf("no checkpoint: %v", err)
	}
	if out, err := exec.Command("uptime").Output(); err == nil {
		b.Logf("load: %s", strings.TrimSpace(string(out)))
	}
	var sum *ExplainSummary
	for b.Loop() {
		cfg.OutDir = filepath.Join(b.TempDir(), "explain")
		var err error
		if sum, err = Explain(context.Background(), cfg, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	return sum
}

func BenchmarkExplain1000(b *testing.B) {
	cfg := DefaultExplain()
	cfg.Weights, cfg.Tap, cfg.Samples, cfg.Limit = benchWeights, "z2", explain.Selection{Kind: explain.SelectAll}, 1000
	sum := benchExplain(b, cfg)
	b.ReportMetric(sum.Seconds, "total-s")
	b.ReportMetric(sum.MapsSeconds, "maps-s")
	b.ReportMetric(sum.WriteSeconds, "files-s")
}

func BenchmarkFaithfulness1000(b *testing.B) {
	cfg := DefaultExplain()
	cfg.Weights, cfg.Tap, cfg.Samples = benchWeights, "z2", explain.Selection{Kind: explain.SelectIndices, Indices: []int{0}}
	cfg.Faithfulness, cfg.FaithSamples = true, 1000
	sum := benchExplain(b, cfg)
	b.ReportMetric(sum.FaithSeconds, "faithfulness-s")
	b.ReportMetric(sum.Seconds, "total-s")
}
