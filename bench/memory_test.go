package bench

import (
	"testing"
	"time"
)

// TestMeasureReportsMemory runs a cheap row through Measure: the peak resident set is
// read back from the kernel (at least the 3 MiB of the row's matrices) and the
// allocations per call are counted.
func TestMeasureReportsMemory(t *testing.T) {
	specs, err := Select([]string{"sgemm/512"}, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	r, err := specs[0].Measure(time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := vmHWM(); !ok {
		t.Skip("no /proc/self/status VmHWM on this system: peak RSS is not reported")
	}
	if r.PeakRSSMiB < 3 {
		t.Errorf("peak RSS %.2f MiB, want ≥ 3 MiB (three 512×512 float32 matrices)", r.PeakRSSMiB)
	}
	if r.AllocsPerCall < 0 || r.AllocBytesPerCall < 0 {
		t.Errorf("allocations per call %+v", r)
	}
	t.Logf("%+v", r)
}
