package checkpoint

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// LoadOptions relaxes [Load]'s default insistence that file and model match exactly.
// Skipped parameters keep their current values (e.g. a freshly initialised new head).
type LoadOptions struct {
	// AllowMissing accepts model parameters that the file does not have.
	AllowMissing bool
	// SkipUnexpected ignores file tensors that the model does not have.
	SkipUnexpected bool
	// SkipMismatched leaves parameters whose file tensor has another shape unchanged
	// instead of failing.
	SkipMismatched bool
}

// Lenient is the LoadOptions of torchvision-style fine-tuning from pretrained weights:
// load what matches by name and shape, skip the rest.
var Lenient = LoadOptions{AllowMissing: true, SkipUnexpected: true, SkipMismatched: true}

// Mismatch is a tensor whose shape in the file differs from the model's.
type Mismatch struct {
	Name  string
	File  []int // shape in the file
	Model []int // shape of the parameter
}

// LoadReport says what [Load] did.
type LoadReport struct {
	// Meta is the file's metadata.
	Meta map[string]string
	// Loaded are the parameters overwritten from the file, in model order.
	Loaded []string
	// Missing, Unexpected and Mismatched list what did not match (and was skipped, when
	// the options allowed it).
	Missing, Unexpected []string
	Mismatched          []Mismatch
}

// LoadError reports every disagreement between a file and a model.
type LoadError struct {
	Path       string
	Missing    []string   // in the model, not in the file
	Unexpected []string   // in the file, not in the model
	Mismatched []Mismatch // in both with different shapes
}

// Error lists every missing, unexpected and mis-shaped tensor.
func (e *LoadError) Error() string {
	var parts []string
	for _, n := range e.Missing {
		parts = append(parts, fmt.Sprintf("missing tensor %q", n))
	}
	for _, n := range e.Unexpected {
		parts = append(parts, fmt.Sprintf("unexpected tensor %q", n))
	}
	for _, m := range e.Mismatched {
		parts = append(parts, fmt.Sprintf("tensor %q has shape %v, model expects %v", m.Name, m.File, m.Model))
	}
	return fmt.Sprintf("load %s: %s", e.Path, strings.Join(parts, "; "))
}

// LoadInto overwrites params with the tensors of the same names in the file at path and
// returns the file's metadata. Every parameter must be in the file with exactly the same
// shape (a scalar may be [] on one side and [1] on the other) and the file must hold
// nothing else; otherwise a *LoadError names every difference and no parameter is
// changed. Tensors of any dtype are converted to F.
func LoadInto[F tensor.Float](path string, params []nn.Named[F]) (meta map[string]string, err error) {
	r, err := Load(path, params, LoadOptions{})
	if err != nil {
		return nil, err
	}
	return r.Meta, nil
}

// Load is [LoadInto] with options. The file is streamed tensor by tensor, never held
// whole in memory. Names and shapes are checked before any parameter is written; an I/O
// or decoding error after that may leave params partly overwritten.
func Load[F tensor.Float](path string, params []nn.Named[F], opts LoadOptions) (*LoadReport, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rep := &LoadReport{Meta: r.Meta}
	lerr := &LoadError{Path: path}
	inModel := make(map[string]bool, len(params))
	var todo []int
	for i, p := range params {
		if inModel[p.Name] {
			return nil, fmt.Errorf("load %s: model lists parameter %q twice", path, p.Name)
		}
		inModel[p.Name] = true
		t, ok := r.Lookup(p.Name)
		switch {
		case !ok:
			rep.Missing = append(rep.Missing, p.Name)
			if !opts.AllowMissing {
				lerr.Missing = append(lerr.Missing, p.Name)
			}
		case !shapeMatches(t.Shape, p.P.Value.Shape):
			m := Mismatch{p.Name, slices.Clone(t.Shape), slices.Clone(p.P.Value.Shape)}
			rep.Mismatched = append(rep.Mismatched, m)
			if !opts.SkipMismatched {
				lerr.Mismatched = append(lerr.Mismatched, m)
			}
		default:
			if len(p.P.Value.Data) != t.Numel() {
				return nil, fmt.Errorf("load %s: parameter %q: %d values for shape %v", path, p.Name, len(p.P.Value.Data), p.P.Value.Shape)
			}
			todo = append(todo, i)
		}
	}
	for _, t := range r.Tensors {
		if !inModel[t.Name] {
			rep.Unexpected = append(rep.Unexpected, t.Name)
			if !opts.SkipUnexpected {
				lerr.Unexpected = append(lerr.Unexpected, t.Name)
			}
		}
	}
	if len(lerr.Missing)+len(lerr.Unexpected)+len(lerr.Mismatched) > 0 {
		return nil, lerr
	}
	buf := make([]byte, 256<<10)
	for _, i := range todo {
		p := params[i]
		if err := readParam(r, p.Name, p.P.Value.Data, buf); err != nil {
			return nil, fmt.Errorf("load %s: tensor %q: %w", path, p.Name, err)
		}
		rep.Loaded = append(rep.Loaded, p.Name)
	}
	return rep, nil
}

// readParam streams the named tensor into dst in chunks of buf.
func readParam[F tensor.Float](r *Reader, name string, dst []F, buf []byte) error {
	sec, err := r.Section(name)
	if err != nil {
		return err
	}
	t, _ := r.Lookup(name)
	size := t.Dtype.Size()
	per := len(buf) / size
	for lo := 0; lo < len(dst); lo += per {
		hi := min(lo+per, len(dst))
		b := buf[:(hi-lo)*size]
		if _, err := io.ReadFull(sec, b); err != nil {
			return err
		}
		if err := decodeInto(t.Dtype, b, dst[lo:hi]); err != nil {
			return err
		}
	}
	return nil
}

// shapeMatches reports whether a file tensor of shape file can be loaded into a parameter
// of shape model: equal shapes, or a scalar stored as [] on one side and [1] on the other
// (PyTorch accepts the same for num_batches_tracked written by old versions).
func shapeMatches(file, model []int) bool {
	if slices.Equal(file, model) {
		return true
	}
	scalar := func(s []int) bool { return len(s) == 0 || (len(s) == 1 && s[0] == 1) }
	return scalar(file) && scalar(model)
}
