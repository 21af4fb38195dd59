package nn

import (
	"github.com/frpt/frpt/tensor"
)

// Stateful is implemented by optimisers whose state (moments, momentum buffers, step
// counts) can be saved and restored, so that a resumed run continues exactly.
type Stateful[F tensor.Float] interface {
	// State returns the state as named tensors that share memory with the optimiser
	// (buffers not created yet are created, zero, so the list is the same before and
	// after the first step). After the tensors have been overwritten (e.g. by loading a
	// checkpoint), commit must be called to apply values kept outside them (step counts).
	State() (tensors []Named[F], commit func())
}

// State exposes AdamW's per-parameter exp_avg, exp_avg_sq and step (PyTorch's names).
func (o *AdamW[F]) State() ([]Named[F], func()) {
	var out []Named[F]
	var commits []func()
	for gi, g := range o.Groups {
		for pi, np := range g.Params {
			if !np.P.Trainable() {
				continue
			}
			st := &o.state[gi][pi]
			if st.m == nil {
				st.m = make([]F, np.P.Value.Numel())
				st.v = make([]F, np.P.Value.Numel())
			}
			step := &Param[F]{Value: tensor.New[F](1), Buffer: true, Int: true}
			step.Value.Data[0] = F(st.step)
			out = append(out,
				Named[F]{np.Name + ".exp_avg", &Param[F]{Value: tensor.FromData(st.m, np.P.Value.Shape...), Buffer: true}},
				Named[F]{np.Name + ".exp_avg_sq", &Param[F]{Value: tensor.FromData(st.v, np.P.Value.Shape...), Buffer: true}},
				Named[F]{np.Name + ".step", step})
			commits = append(commits, func() { st.step = int(step.Value.Data[0]) })
		}
	}
	return out, func() {
		for _, c := range commits {
			c()
		}
	}
}

// State exposes SGD's momentum buffers. A buffer that does not exist yet is created as
// zeros and marked by a "first" flag so that the first update still initialises it from
// the gradient, as PyTorch does.
func (o *SGD[F]) State() ([]Named[F], func()) {
	var out []Named[F]
	var commits []func()
	if o.Momentum == 0 {
		return nil, func() {}
	}
	for gi, g := range o.Groups {
		for pi, np := range g.Params {
			if !np.P.Trainable() {
				continue
			}
			started := &Param[F]{Value: tensor.New[F](1), Buffer: true, Int: true}
			buf := o.buf[gi][pi]
			if buf != nil {
				started.Value.Data[0] = 1
			} else {
				buf = make([]F, np.P.Value.Numel())
			}
			t := tensor.FromData(buf, np.P.Value.Shape...)
			out = append(out,
				Named[F]{np.Name + ".momentum_buffer", &Param[F]{Value: t, Buffer: true}},
				Named[F]{np.Name + ".momentum_started", started})
			gi, pi := gi, pi
			commits = append(commits, func() {
				if started.Value.Data[0] != 0 {
					o.buf[gi][pi] = t.Data
				} else {
					o.buf[gi][pi] = nil
				}
			})
		}
	}
	return out, func() {
		for _, c := range commits {
			c()
		}
	}
}
