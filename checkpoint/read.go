package checkpoint

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// File is a safetensors file loaded into memory.
type File struct {
	// Meta is the "__metadata__" map (empty, never nil, when the file has none).
	Meta map[string]string
	// Tensors are in header order, which for files written by this package is the order
	// they were given in (state_dict order).
	Tensors []Tensor
}

// Lookup returns the tensor with the given name.
func (f *File) Lookup(name string) (*Tensor, bool) {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i], true
		}
	}
	return nil, false
}

// Read loads and validates the whole file at path.
func Read(path string) (*File, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := r.readAll()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return f, nil
}

// Parse decodes and validates a safetensors file held in b. The tensors' Data share b.
func Parse(b []byte) (*File, error) {
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	f := &File{Meta: r.Meta, Tensors: make([]Tensor, len(r.Tensors))}
	for i, t := range r.Tensors {
		lo, hi := r.dataStart+r.begin[i], r.dataStart+r.begin[i]+r.length(i)
		t.Data = b[lo:hi:hi]
		f.Tensors[i] = t
	}
	return f, nil
}

// Reader gives access to a safetensors file's header and to each tensor's bytes without
// loading the whole file. It is safe for concurrent use by several goroutines.
type Reader struct {
	// Meta is the "__metadata__" map (empty, never nil, when the file has none).
	Meta map[string]string
	// Tensors are the header entries in header order, with Data nil.
	Tensors []Tensor

	ra        io.ReaderAt
	closer    io.Closer
	path      string
	dataStart int64
	begin     []int64
	index     map[string]int
}

// Open reads and validates the header of the file at path. The caller must Close the
// Reader.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("read %s: not a regular file", path)
	}
	r, err := NewReader(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	r.closer, r.path = f, path
	return r, nil
}

// NewReader reads and validates the header of a safetensors file of size bytes held by
// ra.
func NewReader(ra io.ReaderAt, size int64) (*Reader, error) {
	if size < 8 {
		return nil, invalidf("file of %d bytes is shorter than the 8-byte header length", size)
	}
	var prefix [8]byte
	if _, err := ra.ReadAt(prefix[:], 0); err != nil {
		return nil, fmt.Errorf("header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	switch {
	case n > MaxHeaderSize:
		return nil, invalidf("header length %d exceeds the limit of %d", n, MaxHeaderSize)
	case int64(n) > size-8:
		return nil, invalidf("header length %d exceeds the %d bytes after the length prefix", n, size-8)
	}
	hdr := make([]byte, n)
	if _, err := ra.ReadAt(hdr, 8); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	dataStart := 8 + int64(n)
	h, err := parseHeader(hdr, size-dataStart)
	if err != nil {
		return nil, err
	}
	r := &Reader{Meta: h.meta, Tensors: h.tensors, ra: ra, dataStart: dataStart, begin: h.begin,
		index: make(map[string]int, len(h.tensors))}
	for i, t := range h.tensors {
		r.index[t.Name] = i
	}
	return r, nil
}

// Close closes the underlying file (a no-op for a Reader made by NewReader).
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Lookup returns the header entry (Data nil) of the named tensor.
func (r *Reader) Lookup(name string) (*Tensor, bool) {
	i, ok := r.index[name]
	if !ok {
		return nil, false
	}
	return &r.Tensors[i], true
}

func (r *Reader) length(i int) int64 {
	t := &r.Tensors[i]
	return int64(t.Numel()) * int64(t.Dtype.Size())
}

// Section returns a reader of the named tensor's raw bytes.
func (r *Reader) Section(name string) (*io.SectionReader, error) {
	i, ok := r.index[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", r.where(), name)
	}
	return io.NewSectionReader(r.ra, r.dataStart+r.begin[i], r.length(i)), nil
}

// ReadTensor reads the named tensor, bytes included.
func (r *Reader) ReadTensor(name string) (Tensor, error) {
	i, ok := r.index[name]
	if !ok {
		return Tensor{}, fmt.Errorf("%s: no tensor %q", r.where(), name)
	}
	t := r.Tensors[i]
	t.Shape = append([]int(nil), t.Shape...)
	t.Data = make([]byte, r.length(i))
	if len(t.Data) == 0 {
		return t, nil
	}
	if _, err := r.ra.ReadAt(t.Data, r.dataStart+r.begin[i]); err != nil {
		return Tensor{}, fmt.Errorf("%s: tensor %q: %w", r.where(), name, err)
	}
	return t, nil
}

func (r *Reader) where() string {
	if r.path == "" {
		return "safetensors"
	}
	return "read " + r.path
}

// readAll reads the whole data buffer at once and slices it among the tensors.
func (r *Reader) readAll() (*File, error) {
	var total int64
	for i := range r.Tensors {
		total += r.length(i)
	}
	buf := make([]byte, total)
	if _, err := r.ra.ReadAt(buf, r.dataStart); err != nil && !(err == io.EOF && total == 0) {
		return nil, fmt.Errorf("data: %w", err)
	}
	f := &File{Meta: r.Meta, Tensors: make([]Tensor, len(r.Tensors))}
	for i, t := range r.Tensors {
		t.Data = buf[r.begin[i] : r.begin[i]+r.length(i) : r.begin[i]+r.length(i)]
		f.Tensors[i] = t
	}
	return f, nil
}
