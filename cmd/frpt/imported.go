package main

import (
	"path/filepath"

	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/reverse"
	"github.com/spf13/cobra"

	_ "github.com/frpt/frpt/onnx" // --model PATH.onnx: the ONNX importer registers itself with models.New
)

// importedDefaults fills what an imported model (--model PATH.onnx) takes by default:
// the file's own initializers as the weights when --weights is not given, and (where the
// command has the flag, poolProject non-nil) global average pooling reversed by
// projection unless --pool-projection was given, so that a sample whose target equals
// its forward output keeps its forward feature at every tap; --pool-projection=false
// gives the paper's broadcast.
func importedDefaults(cmd *cobra.Command, model string, weights *string, chain *reverse.ChainOptions) {
	if !models.IsONNX(model) {
		return
	}
	if *weights == "" {
		*weights = model
	}
	if chain == nil {
		return
	}
	if !cmd.Flags().Changed("pool-projection") {
		chain.GlobalPoolProjection = true
	}
	chain.GraphPoolBroadcast = !chain.GlobalPoolProjection
}

// modelLabel is a model name fit for a folder name: a zoo name, or an ONNX file's base
// name without ".onnx".
func modelLabel(model string) string {
	if !models.IsONNX(model) {
		return model
	}
	b := filepath.Base(model)
	return b[:len(b)-len(".onnx")]
}
