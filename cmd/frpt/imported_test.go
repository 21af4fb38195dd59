package main

import (
	"testing"

	"github.com/frpt/frpt/reverse"
	"github.com/spf13/cobra"
)

// An imported model reverses global average pooling by projection unless
// --pool-projection=false asks for the paper's broadcast; zoo models are left alone.
func TestImportedPoolDefaults(t *testing.T) {
	for _, c := range []struct {
		model, args          string
		project, broadcast   bool
		weights, wantWeights string
	}{
		{"m.onnx", "", true, false, "", "m.onnx"},
		{"m.onnx", "--pool-projection=false", false, true, "", "m.onnx"},
		{"m.onnx", "--pool-projection", true, false, "w.safetensors", "w.safetensors"},
		{"simplecnn-v2", "", false, false, "", ""},
		{"simplecnn-v2", "--pool-projection", true, false, "", ""},
	} {
		var chain reverse.ChainOptions
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
		cmd.Flags().BoolVar(&chain.GlobalPoolProjection, "pool-projection", false, "")
		if c.args != "" {
			if err := cmd.ParseFlags([]string{c.args}); err != nil {
				t.Fatal(err)
			}
		}
		w := c.weights
		importedDefaults(cmd, c.model, &w, &chain)
		if chain.GlobalPoolProjection != c.project || chain.GraphPoolBroadcast != c.broadcast || w != c.wantWeights {
			t.Errorf("%s %q: projection %v broadcast %v weights %q, want %v %v %q", c.model, c.args,
				chain.GlobalPoolProjection, chain.GraphPoolBroadcast, w, c.project, c.broadcast, c.wantWeights)
		}
	}
}
