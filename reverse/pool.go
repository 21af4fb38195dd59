package reverse

import "fmt"

// PoolKind selects the pooling operator to reverse.
type PoolKind int

// Pooling kinds handled by ReversePool.
const (
	MaxPool PoolKind = iota
	AvgPool
)

// ReversePool reverses non-overlapping 2-D pooling (kernel = stride, no padding; spec
// §4.3) on NCHW data: anchor is the pre-pool map [n, c, h, w], target the pooled target
// [n, c, h/k, w/k] (floor). Each window is projected (exactly, in L2) onto the set of
// windows whose pool equals the target; rows/columns outside the covered region keep the
// anchor.
//   - average: w' = w + (D·τ − Σw)/k with divisor D = kh·kw (or divisor when > 0);
//   - max: if max w ≥ τ every value above τ is lowered to τ; otherwise the first arg-max
//     is raised to τ.
func ReversePool(kind PoolKind, anchor []float64, n, c, h, w, kh, kw int, target []float64, divisor float64) ([]float64, error) {
	ho, wo := h/kh, w/kw
	if len(anchor) != n*c*h*w || len(target) != n*c*ho*wo {
		return nil, fmt.Errorf("reverse.ReversePool: anchor %d values for [%d %d %d %d], target %d for pooled [%d %d %d %d]",
			len(anchor), n, c, h, w, len(target), n, c, ho, wo)
	}
	out := append([]float64(nil), anchor...)
	k := float64(kh * kw)
	if divisor <= 0 {
		divisor = k
	}
	for p := 0; p < n*c; p++ {
		plane := out[p*h*w : (p+1)*h*w]
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				tau := target[(p*ho+oy)*wo+ox]
				switch kind {
				case AvgPool:
					s := 0.0
					for dy := 0; dy < kh; dy++ {
						for dx := 0; dx < kw; dx++ {
							s += plane[(oy*kh+dy)*w+ox*kw+dx]
						}
					}
					delta := (divisor*tau - s) / k
					for dy := 0; dy < kh; dy++ {
						for dx := 0; dx < kw; dx++ {
							plane[(oy*kh+dy)*w+ox*kw+dx] += delta
						}
					}
				case MaxPool:
					bi, bv := -1, 0.0
					for dy := 0; dy < kh; dy++ {
						for dx := 0; dx < kw; dx++ {
							i := (oy*kh+dy)*w + ox*kw + dx
							if bi < 0 || plane[i] > bv {
								bi, bv = i, plane[i]
							}
						}
					}
					if bv >= tau {
						for dy := 0; dy < kh; dy++ {
							for dx := 0; dx < kw; dx++ {
								i := (oy*kh+dy)*w + ox*kw + dx
								plane[i] = min(plane[i], tau)
							}
						}
					} else {
						plane[bi] = tau
					}
				default:
					return nil, fmt.Errorf("reverse.ReversePool: unsupported pooling kind %d", kind)
				}
			}
		}
	}
	return out, nil
}

// ReverseGlobalAvgPool reverses global average pooling [n, c, h, w] → [n, c]. The paper's
// ResNet broadcasts the target vector over the grid (project = false); project = true
// returns the closest point x₀ + (τ − mean x₀) instead (spec §4.3, §10.9).
func ReverseGlobalAvgPool(anchor []float64, n, c, h, w int, target []float64, project bool) ([]float64, error) {
	if len(anchor) != n*c*h*w || len(target) != n*c {
		return nil, fmt.Errorf("reverse.ReverseGlobalAvgPool: anchor %d values for [%d %d %d %d], target %d for [%d %d]", len(anchor), n, c, h, w, len(target), n, c)
	}
	out := make([]float64, len(anchor))
	hw := h * w
	for p := 0; p < n*c; p++ {
		src, dst := anchor[p*hw:(p+1)*hw], out[p*hw:(p+1)*hw]
		if !project {
			for i := range dst {
				dst[i] = target[p]
			}
			continue
		}
		m := 0.0
		for _, v := range src {
			m += v
		}
		m /= float64(hw)
		for i, v := range src {
			dst[i] = v + target[p] - m
		}
	}
	return out, nil
}
