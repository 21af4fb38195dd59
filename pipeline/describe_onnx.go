package pipeline

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/frpt/frpt/onnx"
	"github.com/frpt/frpt/reverse"
)

// ImportedChainOptions are the reverse-chain options an imported model gets by default
// (frpt reconstruct, explain, stage): the original code's settings with global average
// pooling reversed by projection.
func ImportedChainOptions() reverse.ChainOptions {
	o := reverse.DefaultChainOptions()
	o.GlobalPoolProjection = true
	return o
}

// DescribeImported prints an ONNX model as frpt imported it: its units (one ONNX node, a
// fused pattern or a residual block, with the block's nodes), their output tensors,
// shapes and parameter counts, and the taps with their ONNX tensor names, shapes and
// split indices. The reverse operator of every unit and the operators each tap's
// reconstruction passes through are those the reverse chain builds for the model with
// opt (reverse.DescribeGraph), the method column frpt reconstruct prints.
func DescribeImported(w io.Writer, path, dataset string, opt reverse.ChainOptions) error {
	m, err := onnx.Load[float32](path, dataset, 0)
	if err != nil {
		return err
	}
	steps, err := reverse.DescribeGraph(m, opt)
	if err != nil {
		return err
	}
	cfg := m.Config()
	fmt.Fprintf(w, "%s for %s (%s, opset %s)\n", m.Arch(), dataset, path, cfg["opset"])
	for _, n := range m.Notes() {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	units := m.Units()
	fmt.Fprintln(w, "units (post-training at a tap trains the units before its split index, freezes the rest):")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tunit\tkind\toutput tensor\tshape\tparameters\treverse operator\ttap\tnodes")
	for i, u := range units {
		s := steps[i]
		n := 0
		for _, p := range u.Module.Params() {
			if !p.P.Buffer {
				n += p.P.Value.Numel()
			}
		}
		nodes := "" // the unit's own node is its name; a block lists its nodes
		if u.Kind == onnx.KindBlock {
			nodes = strings.Join(u.Nodes, ", ")
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%v\t%d\t%s\t%s\t%s\n", i, s.Unit, s.Kind, s.Out, s.Shape, n, s.Method, s.Tap, nodes)
	}
	tw.Flush()
	fmt.Fprintln(w, "taps (input side first; reverse steps: the operators from the tap above down to this one, in forward order):")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  tap\tONNX tensor\tshape\tsplit\treverse steps")
	taps := m.TapList()
	for k, t := range taps {
		var ops []string
		switch {
		case t.Name == "out":
			ops = []string{"embedding-" + string(opt.Embedding)}
		default:
			for i := t.Cut; i < taps[k+1].Cut; i++ {
				ops = append(ops, steps[i].Method)
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%v\t%d\t%s\n", t.Name, t.Tensor, t.Shape, t.Cut, strings.Join(ops, "+"))
	}
	tw.Flush()
	var params, buffers int
	for _, p := range m.Params() {
		if p.P.Buffer {
			buffers += p.P.Value.Numel()
		} else {
			params += p.P.Value.Numel()
		}
	}
	fmt.Fprintf(w, "parameters: %d (buffers: %d values), named as the graph's initializers (PyTorch state_dict names)\n", params, buffers)
	return nil
}
