package pipeline

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/frpt/frpt/report/browsercheck"
)

// mdLinkRE matches a Markdown image or link target.
var mdLinkRE = regexp.MustCompile(`(!?)\[[^\]]*\]\(([^)\s]+)\)`)

// TestDemoPages runs the demo end to end on real MNIST at a small size (1 pretraining
// epoch, 1,000 reconstructed images, a 2 × 2 grid of 1-epoch runs) and checks its page:
// every image and link of report.md is a file beside it, report.html shows the same
// images, and Chromium opens it (a sample row clicked open) with no console error, no
// undecoded image and no fetch outside the demo folder.
func TestDemoPages(t *testing.T) {
	cfg := DefaultDemo()
	cfg.OutDir, cfg.Epochs, cfg.Limit = t.TempDir(), 1, 1000
	cfg.Taps, cfg.CRecs, cfg.Seeds, cfg.PostEpochs = []string{"out", "z1"}, []float64{0, 0.3}, 1, 1
	path, err := Demo(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(cfg.OutDir, "report.html") {
		t.Fatalf("Demo returned %s, want report.html in the demo folder", path)
	}
	md, err := os.ReadFile(filepath.Join(cfg.OutDir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var imgs []string
	for _, m := range mdLinkRE.FindAllStringSubmatch(string(md), -1) {
		if _, err := os.Stat(filepath.Join(cfg.OutDir, filepath.FromSlash(m[2]))); err != nil {
			t.Errorf("report.md links %s, which is not there: %v", m[2], err)
		}
		if m[1] == "!" {
			imgs = append(imgs, m[2])
			if !strings.Contains(string(html), `src="`+m[2]+`"`) {
				t.Errorf("report.html lacks the image %s of report.md", m[2])
			}
		}
	}
	for _, want := range []string{"pretrain_accuracy.png", "grid/report/plots/", "explain/panels/", "explain/index.html",
		"Reconstruction (spec §1.2)", "What the label wants at z1", "Post-training grid", "authors&#39; code"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if len(imgs) < 3 {
		t.Fatalf("report.md shows %d images (%v), want the training curve and the grid's plots", len(imgs), imgs)
	}
	rep := browsercheck.Require(t, path, "tr[data-panel]:nth-child(2)")
	if rep.Images < len(imgs) {
		t.Errorf("%s shows %d images in Chromium, want at least the %d of report.md", path, rep.Images, len(imgs))
	}
}
