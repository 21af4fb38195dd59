package pipeline

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/frpt/frpt/onnx/onnxtest"
)

// frpt info --model x.onnx on the byom fixture (a conv + BN + ReLU stem, a residual
// block, a stride-2 conv + BN, a mean over the spatial axes, Dropout, reshape, Linear):
// every tap is listed with its ONNX tensor and shape, and every reversed step with the
// operator the reverse chain builds for it — the residual block as a composite block,
// the strided convolution by CG (fft_pad needs stride 1), the mean by projection.
func TestDescribeImported(t *testing.T) {
	path := onnxtest.Path(t, "byom", ".onnx")
	var b bytes.Buffer
	if err := DescribeModel(&b, path, "mnist"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	units, taps, ok := strings.Cut(out, "\ntaps ")
	if !ok {
		t.Fatalf("no taps section:\n%s", out)
	}
	wantTaps := []struct{ name, tensor, shape, steps string }{
		{"z1", "/Relu_output_0", "[8 28 28]", "composite-auto (damping 0.9)"},
		{"z2", "/Relu_1_output_0", "[8 28 28]", "conv-cg+batchnorm"},
		{"z3", "/b3/BatchNormalization_output_0", "[16 14 14]", "relu+globalpool-projection+reshape+reshape"},
		{"z4", "/Reshape_output_0", "[16]", "linear"},
		{"out", "logits", "[10]", "embedding-nearest"},
	}
	rows := tableRows(taps, "tap", "ONNX tensor", "shape", "split", "reverse steps")
	if len(rows) != len(wantTaps) {
		t.Fatalf("%d tap rows, want %d:\n%s", len(rows), len(wantTaps), taps)
	}
	for i, w := range wantTaps {
		f := rows[i]
		if f[0] != w.name || f[1] != w.tensor || f[2] != w.shape || f[4] != w.steps {
			t.Errorf("tap row %q, want %s %s %s … %s", f, w.name, w.tensor, w.shape, w.steps)
		}
	}
	wantUnits := []struct{ unit, method, tap string }{
		{"Conv /c1/Conv", "-", ""},
		{"BatchNormalization /b1/BatchNormalization", "-", ""},
		{"Relu /Relu", "-", "z1"},
		{"Block /c2/Conv", "composite-auto (damping 0.9)", "z2"},
		{"Conv /c3/Conv", "conv-cg", ""},
		{"BatchNormalization /b3/BatchNormalization", "batchnorm", "z3"},
		{"Relu /Relu_2", "relu", ""},
		{"ReduceMean /ReduceMean", "globalpool-projection", ""},
		{"Dropout /drop/Dropout", "reshape", ""},
		{"Reshape /Reshape", "reshape", "z4"},
		{"Linear /fc/Gemm", "linear", "out"},
	}
	urows := tableRows(units[strings.Index(units, "\nunits"):], "#", "unit", "kind", "output tensor", "shape", "parameters", "reverse operator", "tap", "nodes")
	if len(urows) != len(wantUnits) {
		t.Fatalf("%d unit rows, want %d:\n%s", len(urows), len(wantUnits), units)
	}
	for i, w := range wantUnits {
		f := urows[i]
		if f[0] != fmt.Sprint(i) || f[1] != w.unit || f[6] != w.method || f[7] != w.tap {
			t.Errorf("unit row %q, want %d %s … %s %s", f, i, w.unit, w.method, w.tap)
		}
	}
	if !strings.Contains(out, "nodes") || !strings.Contains(urows[3][8], "Add /Add") {
		t.Errorf("the residual block's nodes are not listed: %q", urows[3])
	}
	if !strings.Contains(out, "parameters: 2058 ") {
		t.Errorf("parameter count missing or wrong:\n%s", out)
	}
}

// tableRows cuts the rows of the first table in s (a heading line, a line of column
// names, then rows indented by two spaces) into cells at the columns' start positions,
// which tabwriter aligns with the column names (names in cols; a name may hold one space).
func tableRows(s string, cols ...string) [][]string {
	lines := strings.Split(strings.TrimLeft(s, "\n"), "\n")
	head := lines[1]
	var at []int
	for _, c := range cols {
		at = append(at, strings.Index(head, c))
	}
	var rows [][]string
	for _, l := range lines[2:] {
		if !strings.HasPrefix(l, "  ") {
			break
		}
		var cells []string
		for k, a := range at {
			end := len(l)
			if k+1 < len(at) {
				end = min(at[k+1], len(l))
			}
			cells = append(cells, strings.TrimSpace(l[min(a, len(l)):end]))
		}
		rows = append(rows, cells)
	}
	return rows
}
