package stats

import (
	"encoding/json"
	"math"
)

// Num is a float64 that JSON encodes NaN and ±Inf as null (and decodes null as NaN), for
// statistics that may be undefined: a correlation of a constant, the std of one seed, a
// ratio over no sample. encoding/json refuses non-finite floats; results files use Num.
type Num float64

// MarshalJSON writes null for a non-finite value.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads null as NaN.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Num(f)
	return nil
}
