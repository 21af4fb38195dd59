package checkpoint

import (
	"path/filepath"
	"testing"

	"github.com/frpt/frpt/nn"
)

// BenchmarkSaveLoad round-trips a ResNet-18-sized float32 model (11.7 M parameters).
func BenchmarkSaveLoad(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.safetensors")
	ps := []nn.Named[float32]{
		{Name: "layer.weight", P: nn.NewParam[float32](512, 512, 3, 3)},
		{Name: "layer2.weight", P: nn.NewParam[float32](512, 256, 3, 3)},
		{Name: "fc.weight", P: nn.NewParam[float32](1000, 512)},
	}
	b.SetBytes(4 * int64(512*512*9+512*256*9+1000*512))
	for b.Loop() {
		if err := Save(path, ps, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := LoadInto(path, ps); err != nil {
			b.Fatal(err)
		}
	}
}
