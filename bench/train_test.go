package bench

import (
	"testing"
	"time"
)

// BenchmarkTrainStepResNet18 runs the train/resnet18-cifar10/b64 row for profiling
// (go test ./bench -run XXX -bench TrainStepResNet18 -benchtime 1x -cpuprofile …).
func BenchmarkTrainStepResNet18(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r, err := TrainStep("resnet18", "cifar10", 64, 15*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.Value, "images/s")
		b.ReportMetric(r.AllocsPerCall, "allocs/step")
	}
}
