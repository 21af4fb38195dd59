package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// The imported-model rows compare like with like: the zoo model given the export's
// state_dict computes the imported model's logits, and the row reports both figures.
func TestImportedTwin(t *testing.T) {
	tw, skip, err := exportTwin("simplecnn-v2", "mnist")
	if err != nil {
		t.Fatal(err)
	}
	if skip != "" {
		t.Skip(skip)
	}
	defer tw.remove()
	x := tensor.New[float32](8, 1, 28, 28)
	nn.Normal(x, 1, nn.NewRand(3))
	nn.SetTraining[float32](tw.zoo, false)
	nn.SetTraining[float32](tw.imported, false)
	a, b := tw.zoo.Forward(x).Clone(), tw.imported.Forward(x)
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("logit %d: zoo %g, imported %g: the twins do not have the same weights", i, a.Data[i], b.Data[i])
		}
	}
	r, err := TrainStepImported("simplecnn-v2", "mnist", 32, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "train/simplecnn-v2-mnist.onnx/b32" || r.Value <= 0 || !strings.Contains(r.Note, "imported/zoo speed") {
		t.Errorf("row %+v", r)
	}
}
