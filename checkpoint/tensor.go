package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/frpt/frpt/tensor"
)

// Tensor is one named tensor of a safetensors file: its dtype, shape and raw
// little-endian bytes (row-major). Data may be nil for a tensor whose bytes have not been
// read (see [Reader]).
type Tensor struct {
	Name  string
	Dtype Dtype
	Shape []int
	Data  []byte
}

// Numel is the number of elements of the tensor's shape.
func (t *Tensor) Numel() int {
	n, _ := numel(t.Shape)
	return n
}

// numel multiplies the dimensions, refusing negative ones and overflow.
func numel(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > math.MaxInt64/8/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// FromFloat32 encodes v as an F32 tensor. It panics if v does not fill shape.
func FromFloat32(name string, shape []int, v []float32) Tensor {
	checkFill("FromFloat32", name, shape, len(v))
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, Dtype: F32, Shape: append([]int(nil), shape...), Data: b}
}

// FromFloat64 encodes v as an F64 tensor. It panics if v does not fill shape.
func FromFloat64(name string, shape []int, v []float64) Tensor {
	checkFill("FromFloat64", name, shape, len(v))
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return Tensor{Name: name, Dtype: F64, Shape: append([]int(nil), shape...), Data: b}
}

// FromInt64 encodes v as an I64 tensor. It panics if v does not fill shape.
func FromInt64(name string, shape []int, v []int64) Tensor {
	checkFill("FromInt64", name, shape, len(v))
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return Tensor{Name: name, Dtype: I64, Shape: append([]int(nil), shape...), Data: b}
}

// FromTensor encodes t as an F32 or F64 tensor, following F.
func FromTensor[F tensor.Float](name string, t *tensor.T[F]) Tensor {
	switch v := any(t.Data).(type) {
	case []float32:
		return FromFloat32(name, t.Shape, v)
	case []float64:
		return FromFloat64(name, t.Shape, v)
	}
	// Named types with float underlying types.
	d := floatDtype[F]()
	b := make([]byte, d.Size()*len(t.Data))
	encodeFloats(d, t.Data, b)
	return Tensor{Name: name, Dtype: d, Shape: append([]int(nil), t.Shape...), Data: b}
}

// FromValues encodes v as a tensor of any dtype except the 8-bit floats. Floats are
// rounded to nearest (F16, BF16, F32); integer dtypes require integral values in range.
func FromValues(name string, dtype Dtype, shape []int, v []float64) (Tensor, error) {
	checkFill("FromValues", name, shape, len(v))
	size := dtype.Size()
	if size == 0 || dtype == F8E4M3 || dtype == F8E5M2 {
		return Tensor{}, fmt.Errorf("tensor %q: cannot encode dtype %q", name, dtype)
	}
	b := make([]byte, size*len(v))
	le := binary.LittleEndian
	for i, x := range v {
		if !dtype.IsFloat() {
			lo, hi := intRange(dtype)
			if x != math.Trunc(x) || x < lo || x >= hi {
				return Tensor{}, fmt.Errorf("tensor %q: element %d = %g is not a valid %s", name, i, x, dtype)
			}
		}
		switch dtype {
		case F32:
			le.PutUint32(b[4*i:], math.Float32bits(float32(x)))
		case F64:
			le.PutUint64(b[8*i:], math.Float64bits(x))
		case F16:
			le.PutUint16(b[2*i:], floatToHalf(x))
		case BF16:
			le.PutUint16(b[2*i:], floatToBF16(x))
		case I64:
			le.PutUint64(b[8*i:], uint64(int64(x)))
		case U64:
			le.PutUint64(b[8*i:], uint64(x))
		case I32, U32:
			le.PutUint32(b[4*i:], uint32(int64(x)))
		case I16, U16:
			le.PutUint16(b[2*i:], uint16(int64(x)))
		case I8, U8, BOOL:
			b[i] = byte(int64(x))
		}
	}
	return Tensor{Name: name, Dtype: dtype, Shape: append([]int(nil), shape...), Data: b}, nil
}

// intRange is the range [lo, hi) of integer dtype d.
func intRange(d Dtype) (lo, hi float64) {
	switch d {
	case BOOL:
		return 0, 2
	case U8:
		return 0, 1 << 8
	case I8:
		return -1 << 7, 1 << 7
	case I16:
		return -1 << 15, 1 << 15
	case U16:
		return 0, 1 << 16
	case I32:
		return -1 << 31, 1 << 31
	case U32:
		return 0, 1 << 32
	case I64:
		return -1 << 63, 1 << 63
	case U64:
		return 0, 1 << 64
	}
	return 0, 0
}

func checkFill(op, name string, shape []int, n int) {
	if m, ok := numel(shape); !ok || m != n {
		panic(fmt.Sprintf("checkpoint.%s: tensor %q: %d values do not fill shape %v", op, name, n, shape))
	}
}

// floatToBF16 rounds to the nearest bfloat16 (ties to even), keeping NaN a NaN.
func floatToBF16(f float64) uint16 {
	b := math.Float32bits(float32(f))
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// check verifies that Data holds exactly numel × element size bytes.
func (t *Tensor) check() error {
	size := t.Dtype.Size()
	if size == 0 {
		return fmt.Errorf("tensor %q: unknown dtype %q", t.Name, t.Dtype)
	}
	n, ok := numel(t.Shape)
	if !ok {
		return fmt.Errorf("tensor %q: invalid shape %v", t.Name, t.Shape)
	}
	if len(t.Data) != n*size {
		return fmt.Errorf("tensor %q: %d bytes of data, want %d elements × %d bytes = %d", t.Name, len(t.Data), n, size, n*size)
	}
	return nil
}

// Float64s decodes the tensor to float64 values (integers and booleans converted).
func (t *Tensor) Float64s() ([]float64, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	out := make([]float64, t.Numel())
	if err := decodeElems(t.Dtype, t.Data, func(i int, v float64) { out[i] = v }); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return out, nil
}

// Float32s decodes the tensor to float32 values (integers and booleans converted).
func (t *Tensor) Float32s() ([]float32, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	out := make([]float32, t.Numel())
	if err := decodeElems(t.Dtype, t.Data, func(i int, v float64) { out[i] = float32(v) }); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return out, nil
}

// Int64s decodes an integer or boolean tensor exactly. Float tensors are refused.
func (t *Tensor) Int64s() ([]int64, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	out := make([]int64, t.Numel())
	if t.Dtype == U64 {
		for i := range out {
			u := binary.LittleEndian.Uint64(t.Data[8*i:])
			if u > math.MaxInt64 {
				return nil, fmt.Errorf("tensor %q: element %d = %d overflows int64", t.Name, i, u)
			}
			out[i] = int64(u)
		}
		return out, nil
	}
	if !decodeInt64(t.Dtype, t.Data, out) {
		return nil, fmt.Errorf("tensor %q: dtype %s is not an integer type", t.Name, t.Dtype)
	}
	return out, nil
}

// AsTensor decodes t into a new tensor.T of element type F.
func AsTensor[F tensor.Float](t *Tensor) (*tensor.T[F], error) {
	out := &tensor.T[F]{Shape: append([]int(nil), t.Shape...)}
	if err := t.check(); err != nil {
		return nil, err
	}
	out.Data = make([]F, t.Numel())
	if err := decodeInto(t.Dtype, t.Data, out.Data); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return out, nil
}

// decodeInto converts the bytes b of dtype d into dst (len(dst) elements), taking the
// direct path for the common same-type cases.
func decodeInto[F tensor.Float](d Dtype, b []byte, dst []F) error {
	le := binary.LittleEndian
	switch d {
	case F32:
		for i := range dst {
			dst[i] = F(math.Float32frombits(le.Uint32(b[4*i:])))
		}
		return nil
	case F64:
		for i := range dst {
			dst[i] = F(math.Float64frombits(le.Uint64(b[8*i:])))
		}
		return nil
	}
	return decodeElems(d, b, func(i int, v float64) { dst[i] = F(v) })
}

// floatDtype is the on-disk dtype of F: F32 for float32, F64 for float64.
func floatDtype[F tensor.Float]() Dtype {
	var z F
	if unsafe.Sizeof(z) == 4 {
		return F32
	}
	return F64
}

// encodeFloats writes src as little-endian elements of dtype d (F32 or F64) into dst.
func encodeFloats[F tensor.Float](d Dtype, src []F, dst []byte) {
	le := binary.LittleEndian
	if d == F32 {
		for i, x := range src {
			le.PutUint32(dst[4*i:], math.Float32bits(float32(x)))
		}
		return
	}
	for i, x := range src {
		le.PutUint64(dst[8*i:], math.Float64bits(float64(x)))
	}
}
