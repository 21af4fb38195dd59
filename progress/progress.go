// Package progress shows the progress of long work: a live bar on a terminal and one plain
// line per step in logs and CI, where a redrawn bar would only add noise.
//
// It wraps github.com/schollz/progressbar for the terminal case; the plain mode prints at
// most one line per Interval so log files stay readable.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar tracks one unit of work (an epoch, a pass over a dataset).
type Bar struct {
	mu       sync.Mutex
	bar      *progressbar.ProgressBar // nil in plain mode
	w        io.Writer
	label    string
	total    int64
	done     int64
	start    time.Time
	lastLine time.Time
	status   string
	// Interval is the minimum time between plain lines (default 5 s).
	Interval time.Duration
}

// IsTerminal reports whether f is an interactive terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// New starts a bar of total units written to w. A live bar is drawn only when w is a
// terminal and CI is not set; otherwise plain lines are printed.
func New(w io.Writer, total int64, label string) *Bar {
	b := &Bar{w: w, label: label, total: total, start: time.Now(), Interval: 5 * time.Second}
	b.lastLine = b.start
	if f, ok := w.(*os.File); ok && IsTerminal(f) && os.Getenv("CI") == "" {
		b.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionClearOnFinish(),
		)
	}
	return b
}

// Add records n more units done, with a short status (e.g. "loss 0.31 acc 91.2%").
func (b *Bar) Add(n int64, status string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	b.status = status
	if b.bar != nil {
		b.bar.Describe(b.label + " " + status)
		_ = b.bar.Add64(n)
		return
	}
	if now := time.Now(); now.Sub(b.lastLine) >= b.Interval && b.done < b.total {
		b.lastLine = now
		fmt.Fprintf(b.w, "%s %d/%d %s\n", b.label, b.done, b.total, status)
	}
}

// Finish closes the bar and prints one summary line.
func (b *Bar) Finish(summary string) {
	b.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprintf(b.w, "%s done in %s: %s\n", b.label, time.Since(b.start).Round(10*time.Millisecond), summary)
}

// Close ends the bar without a line of its own (a terminal's bar is cleared), for work
// whose caller prints the summary itself, such as a training epoch followed by its test
// accuracy: the step then shows one line, not a bar's final state and a near-duplicate.
func (b *Bar) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		_ = b.bar.Finish()
		b.bar = nil
	}
}

// Elapsed is the time since the bar started.
func (b *Bar) Elapsed() time.Duration { return time.Since(b.start) }
