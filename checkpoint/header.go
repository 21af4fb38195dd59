package checkpoint

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header accepted, as in the reference implementation.
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header entry holding the string-to-string metadata.
const metadataKey = "__metadata__"

// ErrInvalid is wrapped by every error about a malformed file, so callers can tell bad
// files from I/O errors with errors.Is.
var ErrInvalid = errors.New("invalid safetensors file")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// header is a parsed and validated JSON header.
type header struct {
	meta    map[string]string
	tensors []Tensor // Data nil
	begin   []int64  // offsets in the buffer, parallel to tensors
}

// parseHeader decodes and validates the JSON header hdr for a buffer of bufLen bytes.
func parseHeader(hdr []byte, bufLen int64) (*header, error) {
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, invalidf("header: not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if _, err := dec.Token(); err != nil {
		return nil, invalidf("header: %v", err)
	}
	h := &header{meta: map[string]string{}}
	seen := map[string]bool{}
	var ends []int64
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalidf("header: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, invalidf("header: key %v is not a string", tok)
		}
		if seen[name] {
			return nil, invalidf("header: duplicate entry %q", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, invalidf("header: entry %q: %v", name, err)
		}
		if name == metadataKey {
			if string(raw) == "null" {
				continue
			}
			if err := json.Unmarshal(raw, &h.meta); err != nil {
				return nil, invalidf("header: %s: must map strings to strings: %v", metadataKey, err)
			}
			if h.meta == nil {
				h.meta = map[string]string{}
			}
			continue
		}
		t, begin, end, err := parseEntry(name, raw, bufLen)
		if err != nil {
			return nil, err
		}
		h.tensors = append(h.tensors, t)
		h.begin = append(h.begin, begin)
		ends = append(ends, end)
	}
	if _, err := dec.Token(); err != nil {
		return nil, invalidf("header: %v", err)
	}
	rest := hdr[dec.InputOffset():]
	if len(bytes.Trim(rest, " \t\r\n")) != 0 {
		return nil, invalidf("header: %d bytes of trailing data after the JSON object", len(rest))
	}
	if err := checkLayout(h.tensors, h.begin, ends, bufLen); err != nil {
		return nil, err
	}
	return h, nil
}

// parseEntry validates one tensor entry on its own: fields present, dtype known, shape
// non-negative, offsets within the buffer and of the right length.
func parseEntry(name string, raw json.RawMessage, bufLen int64) (t Tensor, begin, end int64, err error) {
	// Field names are matched exactly (encoding/json would ignore case); other fields are
	// ignored, as by the reference implementation.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return t, 0, 0, invalidf("tensor %q: not a JSON object", name)
	}
	var dtype string
	var dims, off []int64
	for _, f := range []struct {
		key string
		dst any
	}{{"dtype", &dtype}, {"shape", &dims}, {"data_offsets", &off}} {
		v, ok := fields[f.key]
		if !ok {
			return t, 0, 0, invalidf("tensor %q: missing field %s", name, f.key)
		}
		if err := json.Unmarshal(v, f.dst); err != nil || string(v) == "null" {
			return t, 0, 0, invalidf("tensor %q: %s: invalid value %s", name, f.key, truncate(v))
		}
	}
	d := Dtype(dtype)
	if !d.Valid() {
		return t, 0, 0, invalidf("tensor %q: dtype: unknown dtype %q", name, dtype)
	}
	shape := make([]int, len(dims))
	n := int64(1)
	for i, s := range dims {
		if s < 0 {
			return t, 0, 0, invalidf("tensor %q: shape %v: negative dimension", name, dims)
		}
		if s > 0 && n > math.MaxInt64/8/s {
			return t, 0, 0, invalidf("tensor %q: shape %v: too many elements", name, dims)
		}
		n *= s
		shape[i] = int(s)
	}
	if len(off) != 2 {
		return t, 0, 0, invalidf("tensor %q: data_offsets %v: want [begin, end]", name, off)
	}
	begin, end = off[0], off[1]
	switch {
	case begin < 0 || end < begin:
		return t, 0, 0, invalidf("tensor %q: data_offsets %v: want 0 <= begin <= end", name, off)
	case end > bufLen:
		return t, 0, 0, invalidf("tensor %q: data_offsets %v: end beyond the data buffer of %d bytes", name, off, bufLen)
	case end-begin != n*int64(d.Size()):
		return t, 0, 0, invalidf("tensor %q: data_offsets %v: length %d, want %d elements × %d bytes = %d",
			name, off, end-begin, n, d.Size(), n*int64(d.Size()))
	}
	return Tensor{Name: name, Dtype: d, Shape: shape}, begin, end, nil
}

// truncate shortens a JSON value for an error message.
func truncate(v []byte) string {
	if len(v) > 40 {
		return string(v[:40]) + "..."
	}
	return string(v)
}

// checkLayout verifies that the tensors tile the buffer: contiguous from 0, no overlap,
// no gap, nothing left over.
func checkLayout(ts []Tensor, begin, end []int64, bufLen int64) error {
	idx := make([]int, len(ts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := cmp.Compare(begin[a], begin[b]); c != 0 {
			return c
		}
		return cmp.Compare(end[a], end[b])
	})
	var pos int64
	prev := -1
	for _, i := range idx {
		switch {
		case begin[i] < pos:
			return invalidf("tensor %q: data_offsets [%d %d]: overlaps tensor %q", ts[i].Name, begin[i], end[i], ts[prev].Name)
		case begin[i] > pos:
			return invalidf("tensor %q: data_offsets [%d %d]: gap of %d bytes before it", ts[i].Name, begin[i], end[i], begin[i]-pos)
		}
		pos = end[i]
		prev = i
	}
	if pos != bufLen {
		return invalidf("data buffer: %d bytes, but the tensors cover %d", bufLen, pos)
	}
	return nil
}

// jsonString quotes s as a JSON string without HTML escaping.
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// entrySpec describes one tensor to write.
type entrySpec struct {
	name  string
	dtype Dtype
	shape []int
}

// layout assigns buffer offsets: header order as given, bytes ordered by element size
// (largest first, stable) so that each tensor is aligned to its element size.
func layout(specs []entrySpec) (order []int, begin []int64, total int64) {
	order = make([]int, len(specs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return specs[b].dtype.Size() - specs[a].dtype.Size() })
	begin = make([]int64, len(specs))
	for _, i := range order {
		n, _ := numel(specs[i].shape)
		begin[i] = total
		total += int64(n) * int64(specs[i].dtype.Size())
	}
	return order, begin, total
}

// validateSpecs checks names, dtypes and shapes of tensors about to be written and the
// metadata, so that what is written can be read back.
func validateSpecs(specs []entrySpec, meta map[string]string) error {
	seen := make(map[string]bool, len(specs))
	for _, s := range specs {
		switch {
		case s.name == "":
			return errors.New("empty tensor name")
		case s.name == metadataKey:
			return fmt.Errorf("tensor name %q is reserved", s.name)
		case !utf8.ValidString(s.name):
			return fmt.Errorf("tensor name %q is not valid UTF-8", s.name)
		case seen[s.name]:
			return fmt.Errorf("duplicate tensor %q", s.name)
		case !s.dtype.Valid():
			return fmt.Errorf("tensor %q: unknown dtype %q", s.name, s.dtype)
		}
		if _, ok := numel(s.shape); !ok {
			return fmt.Errorf("tensor %q: invalid shape %v", s.name, s.shape)
		}
		seen[s.name] = true
	}
	for k, v := range meta {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("metadata %q: not valid UTF-8", k)
		}
	}
	return nil
}

// writeHeader writes the length prefix and the space-padded JSON header.
func writeHeader(w io.Writer, specs []entrySpec, begin []int64, meta map[string]string) error {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	comma := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	if len(meta) > 0 {
		comma()
		keys := make([]string, 0, len(meta))
		for k := range meta {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString(jsonString(metadataKey) + ":{")
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonString(k) + ":" + jsonString(meta[k]))
		}
		b.WriteByte('}')
	}
	for i, s := range specs {
		comma()
		n, _ := numel(s.shape)
		end := begin[i] + int64(n)*int64(s.dtype.Size())
		fmt.Fprintf(&b, `%s:{"dtype":%s,"shape":[`, jsonString(s.name), jsonString(string(s.dtype)))
		for j, d := range s.shape {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprint(&b, d)
		}
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, begin[i], end)
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > MaxHeaderSize {
		return fmt.Errorf("header of %d bytes exceeds the limit of %d", b.Len(), MaxHeaderSize)
	}
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(b.Len()))
	if _, err := w.Write(prefix[:]); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}
