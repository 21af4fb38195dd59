package models

import (
	"fmt"

	"github.com/frpt/frpt/tensor"
)

// SetInputGrad switches the input gradient of a zoo model's first layer on or off and
// returns the previous setting. The zoo skips it by default (conv1 and the patch
// embedding have NoGrad: training never needs the image gradient); saliency maps do.
func SetInputGrad[F tensor.Float](m Model[F], on bool) (was bool, err error) {
	switch mm := m.(type) {
	case *SimpleCNN[F]:
		was, mm.Convs[0].NoGrad = !mm.Convs[0].NoGrad, !on
	case *ResNet[F]:
		was, mm.Conv1.NoGrad = !mm.Conv1.NoGrad, !on
	case *SimpleViT[F]:
		was, mm.Embed.Proj.NoGrad = !mm.Embed.Proj.NoGrad, !on
	default:
		return false, fmt.Errorf("models.SetInputGrad: %s has no known first layer", m.Arch())
	}
	return was, nil
}
