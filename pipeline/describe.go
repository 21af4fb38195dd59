package pipeline

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/tensor"
)

// DescribeZoo lists the models frpt can build.
func DescribeZoo(w io.Writer) {
	fmt.Fprintln(w, "models (frpt info --model NAME --dataset D for details):")
	for _, n := range models.Names() {
		fmt.Fprintf(w, "  %s\n", n)
	}
}

// DescribeDatasets lists the datasets and where their files are found by default.
func DescribeDatasets(w io.Writer) {
	fmt.Fprintln(w, "datasets:")
	for _, n := range data.Names() {
		dir, err := data.DefaultDir(n)
		switch {
		case err != nil:
			fmt.Fprintf(w, "  %-14s pass --data DIR (%v)\n", n, err)
		default:
			fmt.Fprintf(w, "  %-14s %s\n", n, dir)
		}
	}
}

// DescribeModel prints a model's children with their split indices, parameter counts and
// the shape of every tap for one input; an ONNX model (a path ending in .onnx) is
// described by DescribeImported with the reverse chain it gets by default.
func DescribeModel(w io.Writer, name, dataset string) error {
	if models.IsONNX(name) {
		return DescribeImported(w, name, dataset, ImportedChainOptions())
	}
	m, err := models.New[float32](name, dataset, 0)
	if err != nil {
		return err
	}
	shape, err := data.InputShape(dataset)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s for %s (input %v)\n", m.Arch(), dataset, shape)
	fmt.Fprintln(w, "children (post-training at a tap freezes children from its split index on):")
	for i, c := range m.Children() {
		n := 0
		for _, p := range c.Params() {
			if !p.P.Buffer {
				n += p.P.Value.Numel()
			}
		}
		fmt.Fprintf(w, "  %2d %-12s %9d parameters\n", i, m.ChildNames()[i], n)
	}
	x := tensor.New[float32](append([]int{1}, shape...)...)
	m.Forward(x)
	taps := m.Taps()
	fmt.Fprintln(w, "taps:")
	for _, t := range m.TapNames() {
		idx, err := m.SplitIndex(t)
		split := "-"
		if err == nil {
			split = fmt.Sprint(idx)
		}
		fmt.Fprintf(w, "  %-4s %-16s split %s\n", t, fmt.Sprint(taps[t].Shape[1:]), split)
	}
	fmt.Fprintf(w, "parameters: %d\n", countParams(m.Params()))
	return nil
}

// DescribeCheckpoint prints a checkpoint's metadata and tensors.
func DescribeCheckpoint(w io.Writer, path string) error {
	f, err := checkpoint.Read(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s\n", path)
	keys := make([]string, 0, len(f.Meta))
	for k := range f.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s: %s\n", k, f.Meta[k])
	}
	fmt.Fprintf(w, "%d tensors:\n", len(f.Tensors))
	for _, t := range f.Tensors {
		fmt.Fprintf(w, "  %-40s %-4s %s\n", t.Name, t.Dtype, strings.Trim(fmt.Sprint(t.Shape), "[]"))
	}
	return nil
}
