package main

import (
	"fmt"
	"os"

	"github.com/frpt/frpt/pipeline"
	"github.com/spf13/cobra"
)

func newInfoCmd() *cobra.Command {
	var listModels, listData bool
	var model, dataset, weights string
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Describe models, datasets and checkpoints",
		Long: `Without flags: list the model zoo and where the datasets are found.
--model M --dataset D: the model's children (split indices), parameters and tap shapes;
for an ONNX file (--model PATH.onnx) its units, the taps with their ONNX tensor names and
shapes, and the reverse operator of every step of its reverse chain.
--weights FILE: the tensors and metadata of a checkpoint.`,
		Example: `  frpt info
  frpt info --model resnet18 --dataset cifar10
  frpt info --model model.onnx --dataset mnist
  frpt info --weights runs/mnist-simplecnn-v2/best.safetensors`,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := os.Stdout
			switch {
			case weights != "":
				return pipeline.DescribeCheckpoint(w, weights)
			case cmd.Flags().Changed("model") || cmd.Flags().Changed("dataset"):
				return pipeline.DescribeModel(w, model, dataset)
			default:
				if !listModels && !listData {
					listModels, listData = true, true
				}
				if listModels {
					pipeline.DescribeZoo(w)
				}
				if listData {
					if listModels {
						fmt.Fprintln(w)
					}
					pipeline.DescribeDatasets(w)
				}
				return nil
			}
		},
	}
	f := cmd.Flags()
	f.BoolVar(&listModels, "models", false, "list the model zoo")
	f.BoolVar(&listData, "datasets", false, "list the datasets and where they are found")
	f.StringVar(&model, "model", "simplecnn-v2", "model to describe")
	f.StringVar(&dataset, "dataset", "mnist", "dataset the model is built for")
	f.StringVar(&weights, "weights", "", "checkpoint to describe")
	return cmd
}
