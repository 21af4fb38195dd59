package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTableEscapesAndPads(t *testing.T) {
	got := Table([]string{"a", "b"}, [][]string{{"1|2"}, {"x", "y"}})
	want := "| a | b |\n|---|---|\n| 1\\|2 |  |\n| x | y |\n"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestLinePlotWritesPNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "acc.png")
	err := LinePlot(path, "acc", "epoch", "%", []Series{{Name: "test", X: []float64{1, 2, 3}, Y: []float64{90, 95, 97}}})
	if err != nil {
		t.Fatal(err)
	}
	decodePNG(t, path, 300, 200)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "tmp") {
			t.Fatalf("temp file left behind: %s", e.Name())
		}
	}
	if err := LinePlot(path, "bad", "x", "y", []Series{{X: []float64{1}, Y: nil}}); err == nil {
		t.Fatal("mismatched series accepted")
	}
}
