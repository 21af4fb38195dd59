// Package explain computes FR-PT's interpretability outputs (spec §8) from a pretrained
// model and its label-conditioned reconstruction (reverse.Chain):
//
//   - the difference D = r − f between the reconstructed and the forward feature of a tap,
//     with the per-sample statistics the authors record (mean, mean |D|, min, max);
//   - the three class-activation maps of the authors' "input CAM comparison":
//     difference-driven (w_c = mean_hw D_c, ReLU(Σ_c w_c f_c), |Σ_c w_c f_c| if the ReLU
//     leaves nothing above 1e-12), reconstruction (w_c = mean_hw r_c, Σ_c w_c r_c) and
//     forward (the same on f), at the feature's own resolution and upsampled to the input
//     (bilinear, PyTorch's align_corners=False) with per-sample min–max normalisation;
//   - the input-gradient saliency maps max_channel |∂s/∂x| for s = D_label, ô_label and
//     o_pred, and Grad-CAM on a tap;
//   - faithfulness: deletion and insertion curves of any map, their areas, and the map's
//     mass on the object against the background.
//
// A tap's feature is read as channels over a spatial grid (Grid): conv maps [C, h, w] as
// they are, SimpleViT token maps [1+g², D] as D channels over the g×g patch grid (the
// class token dropped), vectors [K] as K channels over one cell.
//
// The package does no file or dataset handling: pipeline runs it over a dataset split and
// writes maps.safetensors, report draws the panels and pages.
package explain
