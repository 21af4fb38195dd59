package browsercheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckFindsFaults: a page with a console error, a missing image and a network fetch
// is reported with all three; a page of one decodable inline image is clean.
func TestCheckFindsFaults(t *testing.T) {
	if _, err := Chromium(); err != nil {
		t.Skipf("skipped: %v (the Debian package chromium cannot be installed here)", err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.html")
	good := filepath.Join(dir, "good.html")
	os.WriteFile(bad, []byte(`<html><body><img src="missing.png"><img src="https://example.invalid/x.png"><script>console.error("boom")</script></body></html>`), 0o644)
	// A 1×1 PNG, inline.
	png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
	os.WriteFile(good, []byte(`<html><body><img src="data:image/png;base64,`+png+`"></body></html>`), 0o644)
	rep, err := Check(context.Background(), bad, "", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Join(rep.Problems(), "\n")
	for _, want := range []string{"console: boom", "image did not decode: missing.png", "fetch outside the page's folder: https://example.invalid/x.png"} {
		if !strings.Contains(p, want) {
			t.Errorf("bad page: problems\n%s\nmiss %q", p, want)
		}
	}
	rep, err = Check(context.Background(), good, "", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Problems(); len(p) > 0 || rep.Images != 1 {
		t.Errorf("good page: %d images, problems %v", rep.Images, p)
	}
}
