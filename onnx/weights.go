package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/frpt/frpt/atomicfile"
	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/onnx/onnxpb"
	"github.com/frpt/frpt/tensor"
	"google.golang.org/protobuf/proto"
)

// Weights in and out. An imported model's parameters carry the graph's initializer
// names, which torch.onnx.export takes from the module's state_dict: a state_dict saved
// as safetensors loads by name (its BatchNorm num_batches_tracked included), and the
// weights frpt writes load back with model.load_state_dict(strict=True).

// LoadWeights overwrites the parameters from a weights file: a safetensors state_dict, or
// an ONNX file (its initializers; the model's own file leaves the weights as they are).
// Every parameter must be in the file with its shape, and the file must hold nothing
// else, except that the num_batches_tracked buffers may be absent (they then keep their
// value). Errors name the file and every tensor at fault; on error nothing is changed.
func (m *Model[F]) LoadWeights(path string) error {
	if path == "" || path == m.g.path {
		return nil
	}
	if strings.HasSuffix(strings.ToLower(path), ".onnx") {
		return m.loadONNXWeights(path)
	}
	r, err := checkpoint.Open(path)
	if err != nil {
		return err
	}
	var want []nn.Named[F]
	for _, p := range m.params {
		if _, ok := r.Lookup(p.Name); ok || !m.synth[p.Name] {
			want = append(want, p)
		}
	}
	r.Close()
	_, err = checkpoint.Load(path, want, checkpoint.LoadOptions{})
	return err
}

// loadONNXWeights copies the initializers of another ONNX file (e.g. one frpt wrote
// after post-training) by name.
func (m *Model[F]) loadONNXWeights(path string) error {
	mp, err := ReadModel(path)
	if err != nil {
		return err
	}
	vals := map[string]*constant{}
	for _, t := range mp.GetGraph().GetInitializer() {
		c, err := decodeTensor(t)
		if err != nil {
			return &Error{Path: path, Msg: err.Error()}
		}
		vals[t.GetName()] = c
	}
	for _, n := range mp.GetGraph().GetNode() { // aliases of deduplicated parameters
		if n.GetOpType() == "Identity" && len(n.GetInput()) == 1 && len(n.GetOutput()) == 1 && vals[n.GetInput()[0]] != nil {
			vals[n.GetOutput()[0]] = vals[n.GetInput()[0]]
		}
	}
	var problems []string
	for _, p := range m.params {
		c := vals[p.Name]
		switch {
		case c == nil && !m.synth[p.Name]:
			problems = append(problems, fmt.Sprintf("missing initializer %q", p.Name))
		case c != nil && !slices.Equal(c.dims, p.P.Value.Shape) && c.numel() != p.P.Value.Numel():
			problems = append(problems, fmt.Sprintf("initializer %q has shape %v, model expects %v", p.Name, c.dims, p.P.Value.Shape))
		}
	}
	if len(problems) > 0 {
		return &Error{Path: path, Msg: strings.Join(problems, "; ")}
	}
	for _, p := range m.params {
		if c := vals[p.Name]; c != nil {
			for i, v := range c.asFloats() {
				p.P.Value.Data[i] = F(v)
			}
		}
	}
	return nil
}

// SaveWeights writes the parameters as a safetensors state_dict (initializer names,
// num_batches_tracked as int64), atomically.
func (m *Model[F]) SaveWeights(path string, meta map[string]string) error {
	return checkpoint.Save(path, m.params, meta)
}

// SaveONNX writes a copy of the model's ONNX file with every initializer replaced by the
// current parameter values (float32), atomically. Parameters the exporter had stored
// once for several names (Identity aliases) get initializers of their own, since their
// values may now differ.
func (m *Model[F]) SaveONNX(path string) error {
	mp := proto.Clone(m.g.model).(*onnxpb.ModelProto)
	gp := mp.GetGraph()
	vals := map[string]*tensor.T[F]{}
	for _, p := range m.params {
		vals[p.Name] = p.P.Value
	}
	for _, t := range gp.GetInitializer() {
		if v := vals[t.GetName()]; v != nil {
			t.DataType = proto.Int32(dtFloat)
			setFloats(t, v.Data)
		}
	}
	// Identity aliases become initializers.
	var kept []*onnxpb.NodeProto
	for _, n := range gp.GetNode() {
		if n.GetOpType() == "Identity" && len(n.GetOutput()) == 1 {
			if p := m.g.byName[n.GetOutput()[0]]; p != nil && p.alias != "" {
				t := &onnxpb.TensorProto{Name: proto.String(p.name), DataType: proto.Int32(dtFloat)}
				for _, d := range p.value.dims {
					t.Dims = append(t.Dims, int64(d))
				}
				setFloats(t, vals[p.name].Data)
				gp.Initializer = append(gp.Initializer, t)
				continue
			}
		}
		kept = append(kept, n)
	}
	gp.Node = kept
	b, err := proto.Marshal(mp)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, b)
}

// setFloats stores v as the tensor's float32 raw data.
func setFloats[F tensor.Float](t *onnxpb.TensorProto, v []F) {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(x)))
	}
	t.RawData, t.FloatData = raw, nil
	t.DataLocation = nil
}
