package bench

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Measure runs one row and adds the process's peak resident set while it ran: the
// kernel's high-water mark is reset before the row (writing 5 to /proc/self/clear_refs,
// Linux) after the heap of earlier rows is returned to the system, and VmHWM is read
// after it. Where /proc is unavailable the figure is left out (0).
func (s Spec) Measure(budget time.Duration) (Row, error) {
	debug.FreeOSMemory()
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	r, err := s.Run(budget)
	if err != nil {
		return r, err
	}
	if kb, ok := vmHWM(); ok && reset {
		r.PeakRSSMiB = float64(kb) / 1024
	}
	return r, nil
}

// vmHWM reads the peak resident set (kB) from /proc/self/status.
func vmHWM() (int64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}
