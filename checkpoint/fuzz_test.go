package checkpoint

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the reader: it must return an error or a valid file,
// never panic, and a file it accepts must survive being written back and read again.
func FuzzRead(f *testing.F) {
	dir := f.TempDir()
	seeds := map[string][]Tensor{
		"every":  everyDtypeSeed(),
		"empty":  nil,
		"scalar": {FromFloat64("s", nil, []float64{1}), FromInt64("n", []int{1}, []int64{2})},
	}
	for name, ts := range seeds {
		p := filepath.Join(dir, name+".safetensors")
		if err := WriteTensors(p, ts, map[string]string{"format": "frpt/v1", "arch": name}); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "torch_seq.safetensors")); err == nil {
		f.Add(b)
	}
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}`, make([]byte, 6)))
	f.Add(rawFile(`{"__metadata__":null,"b":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}`, []byte{1, 2}))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		r, err := NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("Parse accepted what NewReader refused: %v", err)
		}
		for i := range file.Tensors {
			tt := &file.Tensors[i]
			if _, err := tt.Float64s(); err != nil && tt.Dtype != BOOL {
				t.Fatalf("Float64s(%s): %v", tt.Name, err)
			}
			_, _ = tt.Int64s()
			sec, err := r.Section(tt.Name)
			if err != nil {
				t.Fatal(err)
			}
			if b, err := io.ReadAll(sec); err != nil || !bytes.Equal(b, tt.Data) {
				t.Fatalf("Section(%s) disagrees with Parse: %v", tt.Name, err)
			}
		}
		specs := make([]entrySpec, len(file.Tensors))
		for i, tt := range file.Tensors {
			specs[i] = entrySpec{tt.Name, tt.Dtype, tt.Shape}
		}
		if err := validateSpecs(specs, file.Meta); err != nil {
			return // e.g. an empty name: readable, but not written by this package
		}
		var buf bytes.Buffer
		if err := writeTo(&buf, specs, file.Meta, func(w io.Writer, i int) error {
			_, err := w.Write(file.Tensors[i].Data)
			return err
		}); err != nil {
			t.Fatalf("write back: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) || len(again.Meta) != len(file.Meta) {
			t.Fatalf("re-read: %d tensors %d meta, want %d %d", len(again.Tensors), len(again.Meta), len(file.Tensors), len(file.Meta))
		}
		for i, tt := range again.Tensors {
			w := file.Tensors[i]
			if tt.Name != w.Name || tt.Dtype != w.Dtype || !slices.Equal(tt.Shape, w.Shape) || !bytes.Equal(tt.Data, w.Data) {
				t.Fatalf("re-read tensor %d differs", i)
			}
		}
	})
}

// everyDtypeSeed is a small tensor of every dtype (bytes only, so any value is fine).
func everyDtypeSeed() []Tensor {
	var ts []Tensor
	for d, size := range dtypeSizes {
		data := make([]byte, 3*size)
		for i := range data {
			data[i] = byte(i) & 1
		}
		ts = append(ts, Tensor{Name: "t." + string(d), Dtype: d, Shape: []int{3}, Data: data})
	}
	slices.SortFunc(ts, func(a, b Tensor) int { return bytes.Compare([]byte(a.Name), []byte(b.Name)) })
	return ts
}
