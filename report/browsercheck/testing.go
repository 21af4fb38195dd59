package browsercheck

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Require is Check for tests: it skips tb with the reason when Chromium is not installed,
// fails it when the page cannot be checked or shows a problem (console error, undecoded
// image, fetch outside its folder), and otherwise returns the report.
func Require(tb testing.TB, path, click string) *Report {
	tb.Helper()
	if _, err := Chromium(); err != nil {
		tb.Skipf("browser check skipped: %v (the Debian package chromium cannot be installed here)", err)
	}
	rep, err := Check(context.Background(), path, click, 60*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	if p := rep.Problems(); len(p) > 0 {
		tb.Fatalf("%s in Chromium:\n%s", path, strings.Join(p, "\n"))
	}
	return rep
}
