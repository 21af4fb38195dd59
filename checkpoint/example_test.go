package checkpoint_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/nn"
)

func Example() {
	dir, _ := os.MkdirTemp("", "ckpt")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	// A Linear(2, 1) layer's state_dict.
	w := nn.NewParam[float32](1, 2)
	copy(w.Value.Data, []float32{0.5, -1})
	b := nn.NewParam[float32](1)
	params := []nn.Named[float32]{{Name: "fc.weight", P: w}, {Name: "fc.bias", P: b}}
	meta := map[string]string{"format": "frpt/v1", "arch": "linear", "config": `{"in":2,"out":1}`}
	if err := checkpoint.Save(path, params, meta); err != nil {
		fmt.Println(err)
		return
	}

	f, _ := checkpoint.Read(path)
	for _, t := range f.Tensors {
		fmt.Println(t.Name, t.Dtype, t.Shape)
	}

	// Loading into a model whose head has another size names every difference.
	other := []nn.Named[float32]{{Name: "fc.weight", P: nn.NewParam[float32](3, 2)}}
	_, err := checkpoint.LoadInto(path, other)
	fmt.Println(err != nil)
	rep, _ := checkpoint.Load(path, other, checkpoint.Lenient)
	fmt.Println(rep.Mismatched[0].Name, rep.Unexpected)
	// Output:
	// fc.weight F32 [1 2]
	// fc.bias F32 [1]
	// true
	// fc.weight [fc.bias]
}

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "ckpt")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "features.safetensors")
	ts := []checkpoint.Tensor{
		checkpoint.FromFloat32("z1", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		checkpoint.FromInt64("labels", []int{2}, []int64{7, 1}),
	}
	if err := checkpoint.WriteTensors(path, ts, map[string]string{"kind": "features"}); err != nil {
		fmt.Println(err)
		return
	}

	// Only the header is read; tensors are fetched one at a time.
	r, err := checkpoint.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	t, _ := r.ReadTensor("labels")
	labels, _ := t.Int64s()
	fmt.Println(r.Meta["kind"], len(r.Tensors), labels)
	// Output: features 2 [7 1]
}
