package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/frpt/frpt/onnx/onnxpb"
)

// constant is a tensor whose value is known when the graph is loaded: an initializer, a
// Constant node's value, or the result of folding the shape arithmetic that exporters
// write in front of Reshape (Shape → Gather → Unsqueeze → Concat). Integer vectors may
// hold the batch size, which is not known at load time: sym[i] marks such an element
// (its ints[i] is then 1, a placeholder).
type constant struct {
	dims  []int
	isInt bool
	f     []float32 // float data (float32, float64 and float16 tensors)
	ints  []int64   // integer and bool data
	sym   []bool    // per element of ints: the batch size (nil when no element is)
}

func (c *constant) numel() int { return numel(c.dims) }

func numel(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// symbolic reports whether any element stands for the batch size.
func (c *constant) symbolic() bool {
	for _, s := range c.sym {
		if s {
			return true
		}
	}
	return false
}

// ONNX TensorProto data types read by frpt.
const (
	dtFloat   = int32(onnxpb.TensorProto_FLOAT)
	dtInt32   = int32(onnxpb.TensorProto_INT32)
	dtInt64   = int32(onnxpb.TensorProto_INT64)
	dtBool    = int32(onnxpb.TensorProto_BOOL)
	dtDouble  = int32(onnxpb.TensorProto_DOUBLE)
	dtFloat16 = int32(onnxpb.TensorProto_FLOAT16)
	dtUint8   = int32(onnxpb.TensorProto_UINT8)
	dtInt8    = int32(onnxpb.TensorProto_INT8)
)

// maxConstElems bounds a decoded tensor (2³⁰ values, 4 GiB of float32): larger ones are
// refused before anything is allocated.
const maxConstElems = 1 << 30

// decodeTensor reads a TensorProto (raw_data or the typed repeated fields). It checks
// the declared shape against the data before allocating, so a truncated or forged file
// gives an error, not a huge allocation.
func decodeTensor(t *onnxpb.TensorProto) (*constant, error) {
	name := t.GetName()
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(t.GetExternalData()) > 0 {
		return nil, fmt.Errorf("tensor %q keeps its data in an external file, which frpt does not read (export the model in one file: torch.onnx.export without external data, under 2 GB)", name)
	}
	if t.GetSegment() != nil {
		return nil, fmt.Errorf("tensor %q is segmented, which frpt does not read", name)
	}
	c := &constant{}
	n := 1
	for _, d := range t.GetDims() {
		if d < 0 || d > maxConstElems {
			return nil, fmt.Errorf("tensor %q has dimension %d", name, d)
		}
		c.dims = append(c.dims, int(d))
		n *= int(d)
		if n > maxConstElems {
			return nil, fmt.Errorf("tensor %q has shape %v: more than %d values", name, t.GetDims(), maxConstElems)
		}
	}
	raw := t.GetRawData()
	dt := t.GetDataType()
	size := map[int32]int{dtFloat: 4, dtInt32: 4, dtInt64: 8, dtBool: 1, dtDouble: 8, dtFloat16: 2, dtUint8: 1, dtInt8: 1}[dt]
	if size == 0 {
		return nil, fmt.Errorf("tensor %q has data type %s, which frpt does not read (float, double, float16, int8/32/64, uint8, bool)",
			name, onnxpb.TensorProto_DataType(dt))
	}
	have := 0
	switch {
	case len(raw) > 0:
		have = len(raw) / size
		if len(raw)%size != 0 {
			have = -1
		}
	case dt == dtFloat:
		have = len(t.GetFloatData())
	case dt == dtDouble:
		have = len(t.GetDoubleData())
	case dt == dtInt64:
		have = len(t.GetInt64Data())
	default: // int32, bool, float16, int8, uint8 live in int32_data
		have = len(t.GetInt32Data())
	}
	if have != n {
		return nil, fmt.Errorf("tensor %q of shape %v (%s) holds %d values, want %d (truncated or corrupt file?)",
			name, c.dims, onnxpb.TensorProto_DataType(dt), max(have, 0), n)
	}
	le := binary.LittleEndian
	switch dt {
	case dtFloat, dtDouble, dtFloat16:
		c.f = make([]float32, n)
		for i := range c.f {
			switch {
			case dt == dtFloat && raw != nil:
				c.f[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
			case dt == dtFloat:
				c.f[i] = t.GetFloatData()[i]
			case dt == dtDouble && raw != nil:
				c.f[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
			case dt == dtDouble:
				c.f[i] = float32(t.GetDoubleData()[i])
			case raw != nil:
				c.f[i] = halfToFloat(le.Uint16(raw[2*i:]))
			default:
				c.f[i] = halfToFloat(uint16(t.GetInt32Data()[i]))
			}
		}
	default:
		c.isInt = true
		c.ints = make([]int64, n)
		for i := range c.ints {
			switch {
			case raw == nil && dt == dtInt64:
				c.ints[i] = t.GetInt64Data()[i]
			case raw == nil:
				c.ints[i] = int64(t.GetInt32Data()[i])
			case dt == dtInt64:
				c.ints[i] = int64(le.Uint64(raw[8*i:]))
			case dt == dtInt32:
				c.ints[i] = int64(int32(le.Uint32(raw[4*i:])))
			case dt == dtInt8:
				c.ints[i] = int64(int8(raw[i]))
			default: // bool, uint8
				c.ints[i] = int64(raw[i])
			}
		}
	}
	return c, nil
}

// halfToFloat converts an IEEE 754 binary16 value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		return float32(math.Copysign(float64(frac)*math.Pow(2, -24), float64(int32(sign)>>31|1)))
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// f32decimal returns the shortest decimal that rounds to the same float32 as x. ONNX
// stores float attributes as float32: BatchNorm's ε = 1e-5 arrives as 9.99999974e-6, and
// using the float32 value in float64 arithmetic would give other bits than the PyTorch
// module (and the zoo model) computes with.
func f32decimal(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(float32(x)), 'g', -1, 32), 64)
	return v
}

// attrs gives typed access to a node's attributes.
type attrs struct {
	node *onnxpb.NodeProto
	m    map[string]*onnxpb.AttributeProto
}

func attrsOf(n *onnxpb.NodeProto) attrs {
	a := attrs{node: n, m: map[string]*onnxpb.AttributeProto{}}
	for _, at := range n.GetAttribute() {
		a.m[at.GetName()] = at
	}
	return a
}

func (a attrs) has(name string) bool { _, ok := a.m[name]; return ok }

func (a attrs) int(name string, def int64) int64 {
	if at, ok := a.m[name]; ok {
		return at.GetI()
	}
	return def
}

func (a attrs) float(name string, def float64) float64 {
	if at, ok := a.m[name]; ok {
		return f32decimal(float64(at.GetF()))
	}
	return def
}

func (a attrs) ints(name string) []int64 {
	if at, ok := a.m[name]; ok {
		return at.GetInts()
	}
	return nil
}

func (a attrs) str(name, def string) string {
	if at, ok := a.m[name]; ok {
		return string(at.GetS())
	}
	return def
}

// constantValue decodes a Constant node's value attribute (value, value_float(s),
// value_int(s)).
func constantValue(n *onnxpb.NodeProto) (*constant, error) {
	a := attrsOf(n)
	switch {
	case a.has("value"):
		return decodeTensor(a.m["value"].GetT())
	case a.has("value_float"):
		return &constant{f: []float32{a.m["value_float"].GetF()}}, nil
	case a.has("value_floats"):
		v := a.m["value_floats"].GetFloats()
		return &constant{dims: []int{len(v)}, f: append([]float32(nil), v...)}, nil
	case a.has("value_int"):
		return &constant{isInt: true, ints: []int64{a.m["value_int"].GetI()}}, nil
	case a.has("value_ints"):
		v := a.m["value_ints"].GetInts()
		return &constant{dims: []int{len(v)}, isInt: true, ints: append([]int64(nil), v...)}, nil
	}
	return nil, fmt.Errorf("node of op type Constant has no value frpt reads (value, value_float(s), value_int(s))")
}
