package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPlainModeThrottlesAndSummarises(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, 10, "epoch 1")
	b.Interval = time.Hour // no intermediate lines
	for i := 0; i < 10; i++ {
		b.Add(1, "loss 1.0")
	}
	b.Finish("acc 90%")
	out := buf.String()
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "epoch 1 done in") || !strings.Contains(out, "acc 90%") {
		t.Fatalf("plain output %q", out)
	}
	buf.Reset()
	b = New(&buf, 10, "pass")
	b.Interval = 0
	b.Add(3, "x")
	if !strings.Contains(buf.String(), "pass 3/10 x") {
		t.Fatalf("progress line missing: %q", buf.String())
	}
}

// Close ends a bar without a line: the caller prints the step's one summary line.
func TestCloseWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, 10, "epoch 1/2")
	b.Interval = time.Hour
	b.Add(10, "loss 0.1")
	b.Close()
	b.Close() // idempotent
	if buf.Len() != 0 {
		t.Fatalf("Close wrote %q", buf.String())
	}
}
