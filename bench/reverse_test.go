package bench

import (
	"testing"
	"time"
)

// BenchmarkReverseChain runs the reverse rows once (go test -bench ReverseChain
// -benchtime 1x -cpuprofile …) for profiling.
func BenchmarkReverseChain(b *testing.B) {
	for _, tc := range [][2]string{{"resnet18", "mnist"}, {"simplevit", "fashion-mnist"}} {
		b.Run(tc[0], func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r, err := ReverseChain(tc[0], tc[1], 64, time.Nanosecond)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.Value, "images/s")
			}
		})
	}
}
