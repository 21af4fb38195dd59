package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// everyDtype holds one tensor of each encodable dtype with values exactly representable
// in it (edge values included).
func everyDtype(t *testing.T) []Tensor {
	t.Helper()
	vals := map[Dtype][]float64{
		F64:  {1.0 / 3, -2.5e-300, math.Inf(1), math.MaxFloat64, math.Copysign(0, -1), 7},
		F32:  {float64(float32(1.0 / 3)), math.Inf(-1), float64(math.SmallestNonzeroFloat32), 0, 1, -2},
		F16:  {0.5, -65504, math.Ldexp(1, -24), 1, 0, -1.5},
		BF16: {0.5, -3.3895313892515355e+38, math.Ldexp(1, -133), 1, 0, 2},
		I64:  {math.MinInt64, 1 << 62, 0, -1, 1 << 53, 5},
		U64:  {0, 1 << 63, 1, 2, 3, 4},
		I32:  {math.MinInt32, math.MaxInt32, 0, -1, 1, 2},
		U32:  {0, math.MaxUint32, 1, 2, 3, 4},
		I16:  {math.MinInt16, math.MaxInt16, 0, -1, 1, 2},
		U16:  {0, math.MaxUint16, 1, 2, 3, 4},
		I8:   {-128, 127, 0, -1, 1, 2},
		U8:   {0, 255, 1, 2, 3, 4},
		BOOL: {1, 0, 0, 1, 1, 0},
	}
	var ts []Tensor
	for _, d := range []Dtype{BOOL, F64, U8, F32, I8, F16, I16, BF16, U16, I32, U32, I64, U64} {
		tt, err := FromValues("t."+strings.ToLower(string(d)), d, []int{2, 3}, vals[d])
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tt)
	}
	ts = append(ts,
		FromFloat32("empty", []int{0, 4}, nil),
		FromFloat64("scalar", []int{}, []float64{math.Pi}),
		FromInt64("count", []int{1}, []int64{42}))
	return ts
}

func TestRoundTripEveryDtype(t *testing.T) {
	path := filepath.Join(t.TempDir(), "all.safetensors")
	ts := everyDtype(t)
	meta := map[string]string{"format": "frpt/v1", "arch": "x", "config": `{"a":1,"b":"<&>"}`, "note": "é \"quoted\"\n", "": "empty key"}
	if err := WriteTensors(path, ts, meta); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Meta) != len(meta) {
		t.Errorf("meta %v, want %v", f.Meta, meta)
	}
	for k, v := range meta {
		if f.Meta[k] != v {
			t.Errorf("meta[%q] = %q, want %q", k, f.Meta[k], v)
		}
	}
	if len(f.Tensors) != len(ts) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), len(ts))
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, want := range ts {
		got := f.Tensors[i]
		if got.Name != want.Name || got.Dtype != want.Dtype || !slices.Equal(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("tensor %d: got %s %s %v, want %s %s %v", i, got.Name, got.Dtype, got.Shape, want.Name, want.Dtype, want.Shape)
		}
		// Every tensor is aligned to its element size, as the reference writer arranges.
		if off := r.begin[i]; off%int64(want.Dtype.Size()) != 0 {
			t.Errorf("%s: offset %d not aligned to %d", want.Name, off, want.Dtype.Size())
		}
		st, err := r.ReadTensor(want.Name)
		if err != nil || !bytes.Equal(st.Data, want.Data) {
			t.Errorf("ReadTensor(%s): %v", want.Name, err)
		}
		sec, _ := r.Section(want.Name)
		if b, _ := io.ReadAll(sec); !bytes.Equal(b, want.Data) {
			t.Errorf("Section(%s) bytes differ", want.Name)
		}
	}
	// The decoded values, not just the bytes.
	check := func(name string, want []float64) {
		t.Helper()
		tt, _ := f.Lookup(name)
		got, err := tt.Float64s()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
				t.Errorf("%s[%d] = %g, want %g", name, i, got[i], want[i])
			}
		}
	}
	check("t.f16", []float64{0.5, -65504, math.Ldexp(1, -24), 1, 0, -1.5})
	check("t.bf16", []float64{0.5, -3.3895313892515355e+38, math.Ldexp(1, -133), 1, 0, 2})
	check("t.i8", []float64{-128, 127, 0, -1, 1, 2})
	check("t.u32", []float64{0, math.MaxUint32, 1, 2, 3, 4})
	check("t.bool", []float64{1, 0, 0, 1, 1, 0})
	check("scalar", []float64{math.Pi})
	i64, _ := f.Lookup("t.i64")
	if v, err := i64.Int64s(); err != nil || v[0] != math.MinInt64 || v[4] != 1<<53 {
		t.Errorf("Int64s = %v, %v", v, err)
	}
	f32, _ := f.Lookup("t.f32")
	if _, err := f32.Int64s(); err == nil {
		t.Error("Int64s of F32 succeeded")
	}
	if v, err := f32.Float32s(); err != nil || v[0] != float32(1.0/3) || !math.IsInf(float64(v[1]), -1) {
		t.Errorf("Float32s = %v, %v", v, err)
	}
	if tt, err := AsTensor[float64](f32); err != nil || !slices.Equal(tt.Shape, []int{2, 3}) || tt.Data[4] != 1 {
		t.Errorf("AsTensor = %v, %v", tt, err)
	}
	// The header is padded with spaces to a multiple of 8.
	raw, _ := os.ReadFile(path)
	n := binary.LittleEndian.Uint64(raw)
	if n%8 != 0 || raw[8+n-1] != ' ' && raw[8+n-1] != '}' {
		t.Errorf("header length %d not padded", n)
	}
	// Parse agrees with Read.
	pf, err := Parse(raw)
	if err != nil || len(pf.Tensors) != len(ts) || !bytes.Equal(pf.Tensors[3].Data, ts[3].Data) {
		t.Errorf("Parse: %v", err)
	}
}

func TestFloatConversions(t *testing.T) {
	for _, c := range []struct {
		in   float64
		half uint16
		bf   uint16
	}{
		{1, 0x3c00, 0x3f80},
		{-2, 0xc000, 0xc000},
		{65504, 0x7bff, 0x4780},
		{65520, 0x7c00, 0x4780}, // rounds to +Inf in binary16
		{math.Ldexp(1, -24), 0x0001, 0x3380},
		{math.Ldexp(1, -25), 0x0000, 0x3300}, // tie to even: 0
		{1 + math.Ldexp(1, -11), 0x3c00, 0x3f80},
		{1 + 3*math.Ldexp(1, -11), 0x3c02, 0x3f80},
		{math.Inf(-1), 0xfc00, 0xff80},
	} {
		if h := floatToHalf(c.in); h != c.half {
			t.Errorf("floatToHalf(%g) = %#04x, want %#04x", c.in, h, c.half)
		}
		if b := floatToBF16(c.in); b != c.bf {
			t.Errorf("floatToBF16(%g) = %#04x, want %#04x", c.in, b, c.bf)
		}
	}
	if !math.IsNaN(halfToFloat(0x7e00)) || !math.IsNaN(e4m3ToFloat(0x7f)) {
		t.Error("NaN decoding")
	}
	for _, c := range []struct {
		b    byte
		want float64
	}{{0x38, 1}, {0x7e, 448}, {0x01, math.Ldexp(1, -9)}, {0xc0, -2}} {
		if got := e4m3ToFloat(c.b); got != c.want {
			t.Errorf("e4m3ToFloat(%#02x) = %g, want %g", c.b, got, c.want)
		}
	}
	if got := halfToFloat(uint16(0x3c) << 8); got != 1 { // F8_E5M2 0x3c
		t.Errorf("e5m2 1.0 = %g", got)
	}
	if _, err := FromValues("x", I8, []int{1}, []float64{128}); err == nil {
		t.Error("FromValues accepted 128 as I8")
	}
	if _, err := FromValues("x", I64, []int{1}, []float64{1.5}); err == nil {
		t.Error("FromValues accepted 1.5 as I64")
	}
	if _, err := FromValues("x", F8E4M3, []int{1}, []float64{1}); err == nil {
		t.Error("FromValues encoded F8_E4M3")
	}
}

// seqParams mirrors the state_dict of PyTorch's nn.Sequential(Conv2d(1, 2, 3),
// BatchNorm2d(2), ReLU(), Flatten(), Linear(8, 3)).
func seqParams[F tensor.Float]() []nn.Named[F] {
	buf := func(shape ...int) *nn.Param[F] { return nn.NewBuffer[F](shape...) }
	nbt := nn.NewBuffer[F]()
	nbt.Int = true
	return []nn.Named[F]{
		{Name: "0.weight", P: nn.NewParam[F](2, 1, 3, 3)},
		{Name: "0.bias", P: nn.NewParam[F](2)},
		{Name: "1.weight", P: nn.NewParam[F](2)},
		{Name: "1.bias", P: nn.NewParam[F](2)},
		{Name: "1.running_mean", P: buf(2)},
		{Name: "1.running_var", P: buf(2)},
		{Name: "1.num_batches_tracked", P: nbt},
		{Name: "4.weight", P: nn.NewParam[F](3, 8)},
		{Name: "4.bias", P: nn.NewParam[F](3)},
	}
}

func fillParams[F tensor.Float](ps []nn.Named[F], seed float64) {
	for i, p := range ps {
		for j := range p.P.Value.Data {
			p.P.Value.Data[j] = F(seed + float64(i) + float64(j)/7)
		}
		if p.P.Int {
			p.P.Value.Data[0] = F(1000 + seed)
		}
	}
}

func TestSaveLoadInto(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	src := seqParams[float32]()
	fillParams(src, 3)
	meta := map[string]string{"format": "frpt/v1", "arch": "seq", "epoch": "7"}
	if err := Save(path, src, meta); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range f.Tensors {
		want := F32
		if src[i].P.Int {
			want = I64
		}
		if tt.Name != src[i].Name || tt.Dtype != want {
			t.Errorf("tensor %d: %s %s, want %s %s (state_dict order, I64 for Int buffers)", i, tt.Name, tt.Dtype, src[i].Name, want)
		}
	}
	dst := seqParams[float32]()
	got, err := LoadInto(path, dst)
	if err != nil {
		t.Fatal(err)
	}
	if got["epoch"] != "7" || got["arch"] != "seq" {
		t.Errorf("meta %v", got)
	}
	for i := range src {
		if !slices.Equal(src[i].P.Value.Data, dst[i].P.Value.Data) {
			t.Errorf("%s: loaded %v, want %v", src[i].Name, dst[i].P.Value.Data, src[i].P.Value.Data)
		}
	}
	// A float64 model reads the same file (converted), and saves F64 by default, or F32
	// when asked.
	d64 := seqParams[float64]()
	if _, err := LoadInto(path, d64); err != nil {
		t.Fatal(err)
	}
	if d64[0].P.Value.Data[1] != float64(src[0].P.Value.Data[1]) || d64[6].P.Value.Data[0] != 1003 {
		t.Errorf("float64 load: %v %v", d64[0].P.Value.Data[:2], d64[6].P.Value.Data)
	}
	p64 := filepath.Join(dir, "m64.safetensors")
	if err := Save(p64, d64, nil); err != nil {
		t.Fatal(err)
	}
	if f, _ := Read(p64); f.Tensors[0].Dtype != F64 || len(f.Meta) != 0 {
		t.Errorf("float64 save: dtype %s, meta %v", f.Tensors[0].Dtype, f.Meta)
	}
	if err := SaveWith(p64, d64, nil, SaveOptions{Dtype: F32}); err != nil {
		t.Fatal(err)
	}
	if f, _ := Read(p64); f.Tensors[0].Dtype != F32 || f.Tensors[6].Dtype != I64 {
		t.Errorf("SaveWith F32: dtypes %s %s", f.Tensors[0].Dtype, f.Tensors[6].Dtype)
	}
	if err := SaveWith(p64, d64, nil, SaveOptions{Dtype: I32}); err == nil {
		t.Error("SaveWith accepted Dtype I32")
	}
	// An Int buffer that is not an integer is refused before anything is written.
	bad := seqParams[float32]()
	bad[6].P.Value.Data[0] = float32(math.NaN())
	if err := Save(filepath.Join(dir, "bad.safetensors"), bad, nil); err == nil || !strings.Contains(err.Error(), "1.num_batches_tracked") {
		t.Errorf("NaN Int buffer: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed Save left a file: %v", err)
	}
}

func TestLoadIntoErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	src := seqParams[float32]()
	fillParams(src, 1)
	if err := Save(path, src, map[string]string{"format": "frpt/v1"}); err != nil {
		t.Fatal(err)
	}
	// The model: 0.bias renamed to 0.bias2 (so "0.bias" is unexpected and "0.bias2"
	// missing), 4.weight of another shape, 4.bias missing from the model's list.
	dst := seqParams[float32]()
	dst[1].Name = "0.bias2"
	dst[7].P = nn.NewParam[float32](5, 8)
	dst = dst[:8]
	fillParams(dst, 99)
	before := dst[0].P.Value.Clone()
	_, err := LoadInto(path, dst)
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want *LoadError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"load " + path + ": ",
		`missing tensor "0.bias2"`,
		`unexpected tensor "0.bias"`,
		`unexpected tensor "4.bias"`,
		`tensor "4.weight" has shape [3 8], model expects [5 8]`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if !slices.Equal(dst[0].P.Value.Data, before.Data) {
		t.Error("a failed LoadInto changed parameters")
	}

	// Lenient loading skips what does not match and loads the rest.
	rep, err := Load(path, dst, Lenient)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Missing, []string{"0.bias2"}) || !slices.Equal(rep.Unexpected, []string{"0.bias", "4.bias"}) ||
		len(rep.Mismatched) != 1 || rep.Mismatched[0].Name != "4.weight" || len(rep.Loaded) != 6 {
		t.Errorf("report %+v", rep)
	}
	if !slices.Equal(dst[0].P.Value.Data, src[0].P.Value.Data) || dst[7].P.Value.Data[0] != 99+7 {
		t.Error("lenient load: wrong parameters overwritten")
	}
	// Each option relaxes only its own check.
	if _, err := Load(path, dst, LoadOptions{SkipUnexpected: true, SkipMismatched: true}); err == nil ||
		!strings.Contains(err.Error(), `missing tensor "0.bias2"`) || strings.Contains(err.Error(), "unexpected") {
		t.Errorf("AllowMissing=false: err = %v", err)
	}
	// A missing file names the file.
	if _, err := LoadInto(filepath.Join(dir, "nope.safetensors"), dst); err == nil || !strings.Contains(err.Error(), "nope.safetensors") {
		t.Errorf("missing file: %v", err)
	}
	// A scalar stored as [] loads into a [1] parameter and back.
	one := []nn.Named[float32]{{Name: "n", P: nn.NewBuffer[float32](1)}}
	one[0].P.Int = true
	sp := filepath.Join(dir, "scalar.safetensors")
	if err := WriteTensors(sp, []Tensor{FromInt64("n", nil, []int64{5})}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadInto(sp, one); err != nil || one[0].P.Value.Data[0] != 5 {
		t.Errorf("scalar into [1]: %v %v", err, one[0].P.Value.Data)
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.safetensors")
	good := FromFloat32("a", []int{2}, []float32{1, 2})
	for name, ts := range map[string][]Tensor{
		"duplicate":  {good, good},
		"empty name": {{Name: "", Dtype: F32, Shape: []int{0}}},
		"reserved":   {{Name: "__metadata__", Dtype: F32, Shape: []int{0}}},
		"dtype":      {{Name: "a", Dtype: "F7", Shape: []int{0}}},
		"short data": {{Name: "a", Dtype: F32, Shape: []int{2}, Data: make([]byte, 7)}},
		"negative":   {{Name: "a", Dtype: F32, Shape: []int{-1}}},
		"utf8":       {{Name: "a\xff", Dtype: F32, Shape: []int{0}}},
	} {
		if err := WriteTensors(p, ts, nil); err == nil || !strings.Contains(err.Error(), "write "+p) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if err := WriteTensors(filepath.Join(dir, "no", "such", "dir.safetensors"), []Tensor{good}, nil); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed writes left %v", ents)
	}
}

// failAfter fails every write once n bytes have passed, like a full disk.
type failAfter struct {
	w io.Writer
	n int
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k, _ := f.w.Write(p[:f.n])
		f.n = 0
		return k, errors.New("disk full")
	}
	f.n -= len(p)
	return f.w.Write(p)
}

func TestAtomicWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	ps := seqParams[float32]()
	fillParams(ps, 1)
	if err := Save(path, ps, map[string]string{"epoch": "1"}); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	big := []nn.Named[float32]{{Name: "w", P: nn.NewParam[float32](1000, 300)}} // 1.2 MB: several flushes
	for _, limit := range []int{0, 5, 100, 1 << 20} {
		wrapTemp = func(w io.Writer) io.Writer { return &failAfter{w: w, n: limit} }
		err := Save(path, big, map[string]string{"epoch": "2"})
		wrapTemp = nil
		if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), path) {
			t.Errorf("limit %d: err = %v", limit, err)
		}
		now, _ := os.ReadFile(path)
		if !bytes.Equal(now, old) {
			t.Fatalf("limit %d: failed write changed the existing file", limit)
		}
	}
	if err := Save(path, ps, map[string]string{"epoch": "3"}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "m.safetensors" {
		t.Errorf("directory holds %v, want only m.safetensors (no temp files)", ents)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
	if f, err := Read(path); err != nil || f.Meta["epoch"] != "3" {
		t.Errorf("after rewrite: %v %v", f, err)
	}
}

// rawFile assembles a file from a header string and a buffer.
func rawFile(header string, buf []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), buf...)
}

func TestReadInvalid(t *testing.T) {
	dir := t.TempDir()
	valid := filepath.Join(dir, "valid.safetensors")
	if err := WriteTensors(valid, []Tensor{FromFloat32("a", []int{2}, []float32{1, 2}), FromInt64("b", []int{1}, []int64{3})}, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(valid)
	huge := binary.LittleEndian.AppendUint64(nil, 1<<40)
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "shorter than the 8-byte header length", nil},
		{"short prefix", "shorter than the 8-byte", []byte{1, 2, 3}},
		{"header beyond file", "header length 100 exceeds the 16 bytes", append(binary.LittleEndian.AppendUint64(nil, 100), make([]byte, 16)...)},
		{"header length huge", "exceeds the limit", append(huge, "{}"...)},
		{"truncated buffer", `tensor "a": data_offsets [8 16]: end beyond the data buffer of 12 bytes`, good[:len(good)-4]},
		{"trailing bytes", "data buffer: 20 bytes, but the tensors cover 16", append(slices.Clone(good), 0, 0, 0, 0)},
		{"not json", "header: not a JSON object", rawFile("xx      ", nil)},
		{"bad json", "header", rawFile(`{"a":{"dtype":"F32",`, nil)},
		{"trailing json", "trailing data", rawFile(`{} {}    `, nil)},
		{"duplicate", `duplicate entry "a"`, rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{1, 2})},
		{"unknown dtype", `tensor "a": dtype: unknown dtype "F12"`, rawFile(`{"a":{"dtype":"F12","shape":[1],"data_offsets":[0,1]}}`, []byte{1})},
		{"missing dtype", `tensor "a": missing field dtype`, rawFile(`{"a":{"shape":[1],"data_offsets":[0,1]}}`, []byte{1})},
		{"missing shape", `missing field shape`, rawFile(`{"a":{"dtype":"U8","data_offsets":[0,1]}}`, []byte{1})},
		{"missing offsets", `missing field data_offsets`, rawFile(`{"a":{"dtype":"U8","shape":[1]}}`, []byte{1})},
		{"negative dim", `tensor "a": shape [-1]: negative dimension`, rawFile(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}`, []byte{1})},
		{"fractional dim", `tensor "a"`, rawFile(`{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, []byte{1})},
		{"overflow dims", `too many elements`, rawFile(`{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}}`, []byte{1})},
		{"three offsets", `data_offsets [0 1 2]: want [begin, end]`, rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, []byte{1})},
		{"reversed offsets", `want 0 <= begin <= end`, rawFile(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}`, []byte{1})},
		{"wrong length", `tensor "a": data_offsets [0 2]: length 2, want 1 elements × 4 bytes = 4`, rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,2]}}`, []byte{1, 2})},
		{"overlap", `tensor "b": data_offsets [2 6]: overlaps tensor "a"`, rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}`, make([]byte, 6))},
		{"gap", `tensor "b": data_offsets [6 10]: gap of 2 bytes`, rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[6,10]}}`, make([]byte, 10))},
		{"not from zero", `gap of 1 bytes`, rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{1, 2})},
		{"metadata not strings", `__metadata__: must map strings to strings`, rawFile(`{"__metadata__":{"epoch":3}}`, nil)},
		{"entry not object", `tensor "a"`, rawFile(`{"a":[1,2]}`, nil)},
	}
	for _, c := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".safetensors")
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Read(p)
		if err == nil {
			t.Errorf("%s: Read succeeded", c.name)
			continue
		}
		if !strings.Contains(err.Error(), "read "+p+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to name the file and contain %q", c.name, err, c.want)
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v does not wrap ErrInvalid", c.name, err)
		}
		if _, err := LoadInto(p, []nn.Named[float32]{}); err == nil {
			t.Errorf("%s: LoadInto succeeded", c.name)
		}
	}
	// Valid oddities: null metadata, unknown fields, padding, zero-size tensors sharing
	// an offset, no tensors at all.
	for name, data := range map[string][]byte{
		"null metadata":  rawFile(`{"__metadata__":null,"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":true}}  `, []byte{7}),
		"zero-size":      rawFile(`{"z":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"y":{"dtype":"F64","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{7}),
		"empty":          rawFile(`{}`, nil),
		"newline padded": rawFile("{}\n\t ", nil),
	} {
		f, err := Parse(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if a, ok := f.Lookup("a"); ok && a.Data[0] != 7 {
			t.Errorf("%s: a = %v", name, a.Data)
		}
	}
	// A BOOL byte other than 0 or 1 is refused on conversion.
	f, err := Parse(rawFile(`{"b":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}`, []byte{1, 2}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Tensors[0].Float64s(); err == nil || !strings.Contains(err.Error(), `tensor "b"`) {
		t.Errorf("BOOL 2: %v", err)
	}
}

func TestHeaderFieldsExact(t *testing.T) {
	for name, hdr := range map[string]string{
		"case":      `{"a":{"DType":"U8","shape":[1],"data_offsets":[0,1]}}`,
		"null":      `{"a":{"dtype":null,"shape":[1],"data_offsets":[0,1]}}`,
		"wrong":     `{"a":{"dtype":"U8","shape":"1","data_offsets":[0,1]}}`,
		"not obj":   `{"a":null}`,
		"dims null": `{"a":{"dtype":"U8","shape":null,"data_offsets":[0,1]}}`,
	} {
		if _, err := Parse(rawFile(hdr, []byte{1})); err == nil || !strings.Contains(err.Error(), `tensor "a"`) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
