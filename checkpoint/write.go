package checkpoint

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/frpt/frpt/atomicfile"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// WriteTensors writes ts and meta to path as a safetensors file, atomically. The header
// lists the tensors in the order given.
func WriteTensors(path string, ts []Tensor, meta map[string]string) error {
	specs := make([]entrySpec, len(ts))
	for i, t := range ts {
		specs[i] = entrySpec{t.Name, t.Dtype, t.Shape}
	}
	if err := validateSpecs(specs, meta); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	for i := range ts {
		if err := ts[i].check(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return writeFile(path, specs, meta, func(w io.Writer, i int) error {
		_, err := w.Write(ts[i].Data)
		return err
	})
}

// SaveOptions controls how [SaveWith] stores parameters.
type SaveOptions struct {
	// Dtype is the on-disk type of float parameters: F32 or F64. The zero value means F's
	// own type (F32 for float32 models, F64 for float64).
	Dtype Dtype
}

// Save writes params (state_dict names, buffers included) and meta to path, atomically.
// Float parameters are stored in F's type, F32 for float32 models; parameters marked Int
// (e.g. num_batches_tracked) are stored as I64, as PyTorch does.
func Save[F tensor.Float](path string, params []nn.Named[F], meta map[string]string) error {
	return SaveWith(path, params, meta, SaveOptions{})
}

// SaveWith is [Save] with options.
func SaveWith[F tensor.Float](path string, params []nn.Named[F], meta map[string]string, opts SaveOptions) error {
	fd := opts.Dtype
	if fd == "" {
		fd = floatDtype[F]()
	}
	if fd != F32 && fd != F64 {
		return fmt.Errorf("write %s: SaveOptions.Dtype %q: want F32 or F64", path, fd)
	}
	specs := make([]entrySpec, len(params))
	for i, p := range params {
		if p.P == nil || p.P.Value == nil {
			return fmt.Errorf("write %s: tensor %q: no value", path, p.Name)
		}
		d := fd
		if p.P.Int {
			d = I64
		}
		specs[i] = entrySpec{p.Name, d, p.P.Value.Shape}
		if n, ok := numel(p.P.Value.Shape); !ok || n != len(p.P.Value.Data) {
			return fmt.Errorf("write %s: tensor %q: %d values for shape %v", path, p.Name, len(p.P.Value.Data), p.P.Value.Shape)
		}
	}
	if err := validateSpecs(specs, meta); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Int buffers are checked before anything is written.
	for _, p := range params {
		if !p.P.Int {
			continue
		}
		for j, v := range p.P.Value.Data {
			if x := float64(v); x != math.Trunc(x) || x < -1<<63 || x >= 1<<63 {
				return fmt.Errorf("write %s: tensor %q: element %d = %g is not an int64", path, p.Name, j, x)
			}
		}
	}
	scratch := make([]byte, 64<<10)
	return writeFile(path, specs, meta, func(w io.Writer, i int) error {
		data := params[i].P.Value.Data
		size := specs[i].dtype.Size()
		per := len(scratch) / size
		for lo := 0; lo < len(data); lo += per {
			hi := min(lo+per, len(data))
			b := scratch[:(hi-lo)*size]
			if specs[i].dtype == I64 {
				for j, v := range data[lo:hi] {
					binary.LittleEndian.PutUint64(b[8*j:], uint64(int64(v)))
				}
			} else {
				encodeFloats(specs[i].dtype, data[lo:hi], b)
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeFile writes specs atomically to path through writeTo.
func writeFile(path string, specs []entrySpec, meta map[string]string, data func(w io.Writer, i int) error) error {
	return writeAtomic(path, func(w io.Writer) error { return writeTo(w, specs, meta, data) }) // the error names path
}

// writeTo lays out specs and writes the header and, through data, the bytes of each
// tensor (data(w, i) must write exactly tensor i's bytes).
func writeTo(w io.Writer, specs []entrySpec, meta map[string]string, data func(w io.Writer, i int) error) error {
	order, begin, _ := layout(specs)
	if err := writeHeader(w, specs, begin, meta); err != nil {
		return err
	}
	for _, i := range order {
		cw := &countWriter{w: w}
		if err := data(cw, i); err != nil {
			return fmt.Errorf("tensor %q: %w", specs[i].name, err)
		}
		n, _ := numel(specs[i].shape)
		if want := int64(n) * int64(specs[i].dtype.Size()); cw.n != want {
			return fmt.Errorf("tensor %q: wrote %d bytes, want %d", specs[i].name, cw.n, want)
		}
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// wrapTemp, when set (by tests), wraps the temporary file's writer, e.g. to fail after
// some bytes as a full disk would.
var wrapTemp func(io.Writer) io.Writer

// writeAtomic writes a file through fill with package atomicfile: into a temporary file
// in path's folder (named so that a rerun after SIGKILL removes it), synced and renamed to
// path. On any error the temporary file is removed and an existing file at path is left
// as it was. path's folder must exist (a checkpoint is not where its run's folder is not).
func writeAtomic(path string, fill func(w io.Writer) error) error {
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		if wrapTemp != nil {
			w = wrapTemp(w)
		}
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := fill(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}
