package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Dtype is a safetensors element type, spelled as in the header ("F32", "I64", ...).
type Dtype string

// The element types of the safetensors specification with a fixed byte size.
const (
	BOOL   Dtype = "BOOL"
	U8     Dtype = "U8"
	I8     Dtype = "I8"
	I16    Dtype = "I16"
	U16    Dtype = "U16"
	I32    Dtype = "I32"
	U32    Dtype = "U32"
	I64    Dtype = "I64"
	U64    Dtype = "U64"
	F16    Dtype = "F16"
	BF16   Dtype = "BF16"
	F32    Dtype = "F32"
	F64    Dtype = "F64"
	F8E4M3 Dtype = "F8_E4M3"
	F8E5M2 Dtype = "F8_E5M2"
)

var dtypeSizes = map[Dtype]int{
	BOOL: 1, U8: 1, I8: 1, F8E4M3: 1, F8E5M2: 1,
	I16: 2, U16: 2, F16: 2, BF16: 2,
	I32: 4, U32: 4, F32: 4,
	I64: 8, U64: 8, F64: 8,
}

// Size is the number of bytes of one element, or 0 for a dtype this package does not know.
func (d Dtype) Size() int { return dtypeSizes[d] }

// Valid reports whether d is a dtype this package can read.
func (d Dtype) Valid() bool { return d.Size() > 0 }

// IsFloat reports whether d is a floating-point dtype.
func (d Dtype) IsFloat() bool {
	switch d {
	case F16, BF16, F32, F64, F8E4M3, F8E5M2:
		return true
	}
	return false
}

// decodeElems converts the little-endian elements of dtype d in b to float64, calling
// put(i, v) for each. BOOL bytes other than 0 and 1 are an error.
func decodeElems(d Dtype, b []byte, put func(i int, v float64)) error {
	le := binary.LittleEndian
	switch d {
	case F32:
		for i := 0; i+4 <= len(b); i += 4 {
			put(i/4, float64(math.Float32frombits(le.Uint32(b[i:]))))
		}
	case F64:
		for i := 0; i+8 <= len(b); i += 8 {
			put(i/8, math.Float64frombits(le.Uint64(b[i:])))
		}
	case F16:
		for i := 0; i+2 <= len(b); i += 2 {
			put(i/2, halfToFloat(le.Uint16(b[i:])))
		}
	case BF16:
		for i := 0; i+2 <= len(b); i += 2 {
			put(i/2, float64(math.Float32frombits(uint32(le.Uint16(b[i:]))<<16)))
		}
	case F8E5M2:
		for i, v := range b {
			put(i, halfToFloat(uint16(v)<<8))
		}
	case F8E4M3:
		for i, v := range b {
			put(i, e4m3ToFloat(v))
		}
	case I64:
		for i := 0; i+8 <= len(b); i += 8 {
			put(i/8, float64(int64(le.Uint64(b[i:]))))
		}
	case U64:
		for i := 0; i+8 <= len(b); i += 8 {
			put(i/8, float64(le.Uint64(b[i:])))
		}
	case I32:
		for i := 0; i+4 <= len(b); i += 4 {
			put(i/4, float64(int32(le.Uint32(b[i:]))))
		}
	case U32:
		for i := 0; i+4 <= len(b); i += 4 {
			put(i/4, float64(le.Uint32(b[i:])))
		}
	case I16:
		for i := 0; i+2 <= len(b); i += 2 {
			put(i/2, float64(int16(le.Uint16(b[i:]))))
		}
	case U16:
		for i := 0; i+2 <= len(b); i += 2 {
			put(i/2, float64(le.Uint16(b[i:])))
		}
	case I8:
		for i, v := range b {
			put(i, float64(int8(v)))
		}
	case U8, BOOL:
		for i, v := range b {
			if d == BOOL && v > 1 {
				return fmt.Errorf("BOOL element %d has byte value %d", i, v)
			}
			put(i, float64(v))
		}
	default:
		return fmt.Errorf("unknown dtype %q", d)
	}
	return nil
}

// decodeInt64 converts integer elements exactly (float64 would round beyond 2^53).
func decodeInt64(d Dtype, b []byte, dst []int64) bool {
	le := binary.LittleEndian
	switch d {
	case I64:
		for i := range dst {
			dst[i] = int64(le.Uint64(b[8*i:]))
		}
	case I32:
		for i := range dst {
			dst[i] = int64(int32(le.Uint32(b[4*i:])))
		}
	case U32:
		for i := range dst {
			dst[i] = int64(le.Uint32(b[4*i:]))
		}
	case I16:
		for i := range dst {
			dst[i] = int64(int16(le.Uint16(b[2*i:])))
		}
	case U16:
		for i := range dst {
			dst[i] = int64(le.Uint16(b[2*i:]))
		}
	case I8:
		for i := range dst {
			dst[i] = int64(int8(b[i]))
		}
	case U8, BOOL:
		for i := range dst {
			dst[i] = int64(b[i])
		}
	default:
		return false
	}
	return true
}

// halfToFloat converts an IEEE 754 binary16 value.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1024+frac, exp-25)
}

// e4m3ToFloat converts an 8-bit float with 4 exponent bits (bias 7) and 3 mantissa bits,
// no infinities, NaN at S.1111.111 (the "FN" variant PyTorch calls float8_e4m3fn).
func e4m3ToFloat(v byte) float64 {
	sign := 1.0
	if v&0x80 != 0 {
		sign = -1
	}
	exp := int(v>>3) & 0xf
	frac := float64(v & 7)
	if exp == 0xf && v&7 == 7 {
		return math.NaN()
	}
	if exp == 0 {
		return sign * math.Ldexp(frac, -9)
	}
	return sign * math.Ldexp(8+frac, exp-10)
}

// floatToHalf converts to binary16 with round-to-nearest-even (used by tests and by
// Tensor encoding helpers).
func floatToHalf(f float64) uint16 {
	b := math.Float32bits(float32(f))
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff:
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15:
		return sign | 0x7c00
	case exp-127 >= -14:
		e := uint32(exp-127+15) << 10
		m := mant >> 13
		rem := mant & 0x1fff
		h := uint32(sign) | e | m
		if rem > 0x1000 || (rem == 0x1000 && m&1 == 1) {
			h++ // may carry into the exponent, which is the correct rounding
		}
		return uint16(h)
	case exp-127 >= -25:
		m := mant | 0x800000
		shift := uint(-(exp - 127) - 14 + 13)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	return sign
}
