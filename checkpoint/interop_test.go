package checkpoint

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Interoperability with PyTorch. testdata/torch_seq.safetensors was written by
// testdata/torch_roundtrip.py (through bench/safetensors_io.py) and torch_seq.json holds
// its expected values, so the read check always runs. When /usr/bin/python3 can import
// torch, TestTorchInterop also regenerates the fixture and has PyTorch read files
// written here.

const python = "/usr/bin/python3"

// expected is the JSON written by torch_roundtrip.py (and by goExpected for the check).
type expected struct {
	Metadata  map[string]string `json:"metadata"`
	Tensors   orderedTensors    `json:"tensors"`
	StateDict bool              `json:"state_dict"`
}

type expTensor struct {
	Name  string `json:"-"`
	Dtype Dtype  `json:"dtype"`
	Shape []int  `json:"shape"`
	Data  []any  `json:"data"` // json.Number, or "inf" / "-inf" / "nan"
}

// orderedTensors keeps the JSON object's key order.
type orderedTensors []expTensor

func (o *orderedTensors) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var t expTensor
		if err := dec.Decode(&t); err != nil {
			return err
		}
		t.Name = k.(string)
		*o = append(*o, t)
	}
	return nil
}

func (o orderedTensors) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, t := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(t.Name)
		v, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

func readExpected(t *testing.T, path string) expected {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return e
}

// number decodes one expected value.
func number(t *testing.T, v any) float64 {
	t.Helper()
	switch v := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	case string:
		switch v {
		case "inf":
			return math.Inf(1)
		case "-inf":
			return math.Inf(-1)
		case "nan":
			return math.NaN()
		}
	}
	t.Fatalf("bad expected value %v", v)
	return 0
}

// checkAgainst compares a file with expected values: header order, dtypes, shapes,
// metadata and every value exactly.
func checkAgainst(t *testing.T, path string, e expected) {
	t.Helper()
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Meta) != len(e.Metadata) {
		t.Errorf("meta %v, want %v", f.Meta, e.Metadata)
	}
	for k, v := range e.Metadata {
		if f.Meta[k] != v {
			t.Errorf("meta[%q] = %q, want %q", k, f.Meta[k], v)
		}
	}
	var names, want []string
	for _, tt := range f.Tensors {
		names = append(names, tt.Name)
	}
	for _, x := range e.Tensors {
		want = append(want, x.Name)
	}
	if !slices.Equal(names, want) {
		t.Fatalf("tensors %v, want %v (header order)", names, want)
	}
	for _, x := range e.Tensors {
		tt, _ := f.Lookup(x.Name)
		if tt.Dtype != x.Dtype || !slices.Equal(tt.Shape, x.Shape) {
			t.Errorf("%s: %s %v, want %s %v", x.Name, tt.Dtype, tt.Shape, x.Dtype, x.Shape)
			continue
		}
		if !x.Dtype.IsFloat() {
			got, err := tt.Int64s()
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range x.Data {
				w, err := strconv.ParseInt(string(v.(json.Number)), 10, 64)
				if err != nil || got[i] != w {
					t.Errorf("%s[%d] = %d, want %v", x.Name, i, got[i], v)
				}
			}
			continue
		}
		got, err := tt.Float64s()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range x.Data {
			w := number(t, v)
			if got[i] != w && !(math.IsNaN(w) && math.IsNaN(got[i])) {
				t.Errorf("%s[%d] = %g, want %g", x.Name, i, got[i], w)
			}
		}
	}
}

var torchExtras = []string{"extra.f64", "extra.f16", "extra.bf16", "extra.i32", "extra.i64", "extra.i16",
	"extra.i8", "extra.u8", "extra.bool", "extra.empty", "extra.scalar"}

// checkTorchSeq checks a file from torch_roundtrip.py write: values, then loading the
// state_dict part into the Go parameter list.
func checkTorchSeq(t *testing.T, path, jsonPath string) {
	e := readExpected(t, jsonPath)
	checkAgainst(t, path, e)
	ps := seqParams[float32]()
	rep, err := Load(path, ps, LoadOptions{SkipUnexpected: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Unexpected, torchExtras) {
		t.Errorf("unexpected %v, want %v", rep.Unexpected, torchExtras)
	}
	if got := ps[6].P.Value.Data[0]; got != 2 {
		t.Errorf("num_batches_tracked = %g, want 2", got)
	}
	if _, err := LoadInto(path, ps); err == nil || !strings.Contains(err.Error(), `unexpected tensor "extra.f64"`) {
		t.Errorf("strict load: %v", err)
	}
}

func TestTorchFixture(t *testing.T) {
	checkTorchSeq(t, filepath.Join("testdata", "torch_seq.safetensors"), filepath.Join("testdata", "torch_seq.json"))
}

// goExpected describes ts as torch_roundtrip.py check expects.
func goExpected(t *testing.T, ts []Tensor, meta map[string]string, stateDict bool) expected {
	e := expected{Metadata: meta, StateDict: stateDict}
	for _, tt := range ts {
		x := expTensor{Name: tt.Name, Dtype: tt.Dtype, Shape: append([]int{}, tt.Shape...), Data: []any{}}
		if tt.Dtype.IsFloat() {
			v, err := tt.Float64s()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range v {
				switch {
				case math.IsNaN(f):
					x.Data = append(x.Data, "nan")
				case math.IsInf(f, 0):
					x.Data = append(x.Data, map[bool]string{true: "inf", false: "-inf"}[f > 0])
				default:
					x.Data = append(x.Data, f)
				}
			}
		} else {
			v, err := tt.Int64s()
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range v {
				x.Data = append(x.Data, n)
			}
		}
		e.Tensors = append(e.Tensors, x)
	}
	return e
}

func writeJSON(t *testing.T, path string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTorchInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: not starting Python")
	}
	if _, err := os.Stat(python); err != nil {
		t.Skipf("no %s (%v); the committed fixture is still checked by TestTorchFixture", python, err)
	}
	dir := t.TempDir()
	script := filepath.Join("testdata", "torch_roundtrip.py")

	// (a) Go writes, PyTorch reads (checked by the Python process below): a state_dict
	// that must load with strict=True, starting from the fixture's values, and a file of
	// every dtype PyTorch 1.13 has.
	ps := seqParams[float32]()
	if _, err := Load(filepath.Join("testdata", "torch_seq.safetensors"), ps, LoadOptions{SkipUnexpected: true}); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		for i := range p.P.Value.Data {
			p.P.Value.Data[i] = p.P.Value.Data[i]*1.5 + 0.25
		}
	}
	ps[6].P.Value.Data[0] = 7
	sdFile := filepath.Join(dir, "go_sd.safetensors")
	sdMeta := map[string]string{"format": "frpt/v1", "arch": "torch-seq", "config": `{"in":1}`, "epoch": "3"}
	if err := Save(sdFile, ps, sdMeta); err != nil {
		t.Fatal(err)
	}
	var sdTensors []Tensor
	for _, p := range ps {
		if p.P.Int {
			sdTensors = append(sdTensors, FromInt64(p.Name, p.P.Value.Shape, []int64{7}))
		} else {
			sdTensors = append(sdTensors, FromTensor(p.Name, p.P.Value))
		}
	}
	writeJSON(t, filepath.Join(dir, "go_sd.json"), goExpected(t, sdTensors, sdMeta, true))

	var all []Tensor
	for _, tt := range everyDtype(t) {
		switch tt.Dtype {
		case U16, U32, U64: // not in PyTorch 1.13
			continue
		}
		all = append(all, tt)
	}
	allMeta := map[string]string{"format": "frpt/v1", "note": "é \"q\" <&>"}
	allFile := filepath.Join(dir, "go_all.safetensors")
	if err := WriteTensors(allFile, all, allMeta); err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(dir, "go_all.json"), goExpected(t, all, allMeta, false))

	// (b) PyTorch writes (in the same process), Go reads.
	pyFile, pyJSON := filepath.Join(dir, "py.safetensors"), filepath.Join(dir, "py.json")
	out, err := exec.Command(python, script, "write", pyFile, pyJSON,
		"check", sdFile, filepath.Join(dir, "go_sd.json"), allFile, filepath.Join(dir, "go_all.json")).CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("No module named 'torch'")) {
		t.Skipf("%s cannot import torch; the committed fixture is still checked by TestTorchFixture", python)
	}
	if err != nil {
		t.Fatalf("torch_roundtrip.py: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	checkTorchSeq(t, pyFile, pyJSON)
}
