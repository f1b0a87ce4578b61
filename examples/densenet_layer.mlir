// One training step of a DenseNet-BC layer (growth rate k = 32, bottleneck
// width 4k = 128) in the "joint graph" form (forward and backward in one
// function, as AOTAutograd produces it):
//
//   cat = concat(f0, f1)                      (the layer's input features)
//   cat --BN1--> y1 --relu--> z1 --conv1x1 (96->128)--> x2
//       --BN2--> y2 --relu--> z2 --conv3x3 (128->32, pad 1)--> new
//   out = concat(cat, new)                    (input of the next layer)
//
// Shapes: N = 4, 16x16, NCHW, f32. f0 is 4x64x16x16, f1 is 4x32x16x16,
// cat is 4x96x16x16 (393216 bytes), x2/y2/z2 are 4x128x16x16 (524288
// bytes), new is 4x32x16x16 and out is 4x128x16x16 (524288 bytes).
// Per-channel tensors are 384 bytes (96 channels) or 512 bytes (128
// channels). Statistics are reduced over 4 * 16 * 16 = 1024 values per
// channel.
//
// The 3x3 convolution pads its input with tensor.pad and runs a valid
// linalg.conv_2d_nchw_fchw; its gradients are external functions taking the
// unpadded input (as PyTorch, where padding belongs to the convolution).
// In the backward the gradient of out is sliced into the part of cat and
// the part of new; the gradient of cat sums the direct path and the path
// through BN1, and is sliced again into the gradients of f0 and f1.
//
// What a framework saves between forward and backward for the two
// BN->activation chains (activation gradients read z, self_is_result):
//
//   chain 1: cat (BN1 input, 393216 B), mean1, var1 (384 B each),
//            z1 (393216 B; also conv1's input)
//   chain 2: x2 (BN2 input, 524288 B), mean2, var2 (512 B each),
//            z2 (524288 B; also conv2's input)
//
// relu is not invertible, so the rewrite applies store-y: each chain saves
// y only (x and z die in the forward), and the convolutions' weight
// gradients read z recomputed from y in the backward. cat is read again by
// the output concatenation after BN1 (the well-known memory problem of
// DenseNets), so y1 cannot take cat's buffer; y2 is written over x2.

func.func private @conv2d_nchw_backward_input_1x1(tensor<4x128x16x16xf32>,
    tensor<128x96x1x1xf32>) -> tensor<4x96x16x16xf32> attributes {iabn.fresh_results}
func.func private @conv2d_nchw_backward_weight_1x1(tensor<4x96x16x16xf32>,
    tensor<4x128x16x16xf32>) -> tensor<128x96x1x1xf32> attributes {iabn.fresh_results}
func.func private @conv2d_nchw_backward_input_3x3(tensor<4x32x16x16xf32>,
    tensor<32x128x3x3xf32>) -> tensor<4x128x16x16xf32> attributes {iabn.fresh_results}
func.func private @conv2d_nchw_backward_weight_3x3(tensor<4x128x16x16xf32>,
    tensor<4x32x16x16xf32>) -> tensor<32x128x3x3xf32> attributes {iabn.fresh_results}

func.func @densenet_layer_train(
    %f0: tensor<4x64x16x16xf32>, %f1: tensor<4x32x16x16xf32>,
    %gamma1: tensor<96xf32>, %beta1: tensor<96xf32>,
    %running_mean1: tensor<96xf32>, %running_var1: tensor<96xf32>,
    %w1: tensor<128x96x1x1xf32>,
    %gamma2: tensor<128xf32>, %beta2: tensor<128xf32>,
    %running_mean2: tensor<128xf32>, %running_var2: tensor<128xf32>,
    %w2: tensor<32x128x3x3xf32>,
    %d_out: tensor<4x128x16x16xf32> {iabn.gradient})
    -> (tensor<4x128x16x16xf32>, tensor<4x64x16x16xf32>,
        tensor<4x32x16x16xf32>, tensor<128x96x1x1xf32>, tensor<96xf32>,
        tensor<96xf32>, tensor<32x128x3x3xf32>, tensor<128xf32>,
        tensor<128xf32>, tensor<96xf32>, tensor<96xf32>, tensor<128xf32>,
        tensor<128xf32>) {
  %zero = arith.constant 0.0 : f32

  // Forward.
  %cat = tensor.concat dim(1) %f0, %f1
      : (tensor<4x64x16x16xf32>, tensor<4x32x16x16xf32>)
      -> tensor<4x96x16x16xf32>

  // Chain 1: BN1 -> relu.
  %y1, %mean1, %var1 = iabn.batch_norm_train %cat scale %gamma1
      offset %beta1 {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x96x16x16xf32>, tensor<96xf32>
  %z1 = iabn.activation <relu> %y1 : tensor<4x96x16x16xf32>
  %new_rm1, %new_rv1 = iabn.running_stats_update %running_mean1,
      %running_var1, %mean1, %var1
      {momentum = 0.1 : f64, sample_count = 1024 : i64} : tensor<96xf32>

  // conv1: 1x1, 96 -> 128.
  %e1 = tensor.empty() : tensor<4x128x16x16xf32>
  %acc1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4x128x16x16xf32>)
      -> tensor<4x128x16x16xf32>
  %x2 = linalg.conv_2d_nchw_fchw
      {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%z1, %w1 : tensor<4x96x16x16xf32>, tensor<128x96x1x1xf32>)
      outs(%acc1 : tensor<4x128x16x16xf32>) -> tensor<4x128x16x16xf32>

  // Chain 2: BN2 -> relu.
  %y2, %mean2, %var2 = iabn.batch_norm_train %x2 scale %gamma2
      offset %beta2 {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x128x16x16xf32>, tensor<128xf32>
  %z2 = iabn.activation <relu> %y2 : tensor<4x128x16x16xf32>
  %new_rm2, %new_rv2 = iabn.running_stats_update %running_mean2,
      %running_var2, %mean2, %var2
      {momentum = 0.1 : f64, sample_count = 1024 : i64} : tensor<128xf32>

  // conv2: 3x3, 128 -> 32, padding 1.
  %z2_pad = tensor.pad %z2 low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<4x128x16x16xf32> to tensor<4x128x18x18xf32>
  %e2 = tensor.empty() : tensor<4x32x16x16xf32>
  %acc2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x32x16x16xf32>)
      -> tensor<4x32x16x16xf32>
  %new = linalg.conv_2d_nchw_fchw
      {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%z2_pad, %w2 : tensor<4x128x18x18xf32>, tensor<32x128x3x3xf32>)
      outs(%acc2 : tensor<4x32x16x16xf32>) -> tensor<4x32x16x16xf32>

  // The layer's output: its input features followed by the new ones.
  %out = tensor.concat dim(1) %cat, %new
      : (tensor<4x96x16x16xf32>, tensor<4x32x16x16xf32>)
      -> tensor<4x128x16x16xf32>

  // Backward.
  // Split the gradient of the output concatenation.
  %d_cat_direct = tensor.extract_slice %d_out[0, 0, 0, 0] [4, 96, 16, 16]
      [1, 1, 1, 1] : tensor<4x128x16x16xf32> to tensor<4x96x16x16xf32>
  %d_new = tensor.extract_slice %d_out[0, 96, 0, 0] [4, 32, 16, 16]
      [1, 1, 1, 1] : tensor<4x128x16x16xf32> to tensor<4x32x16x16xf32>

  // conv2 and chain 2.
  %dw2 = func.call @conv2d_nchw_backward_weight_3x3(%z2, %d_new)
      : (tensor<4x128x16x16xf32>, tensor<4x32x16x16xf32>)
      -> tensor<32x128x3x3xf32>
  %dz2 = func.call @conv2d_nchw_backward_input_3x3(%d_new, %w2)
      : (tensor<4x32x16x16xf32>, tensor<32x128x3x3xf32>)
      -> tensor<4x128x16x16xf32>
  %dy2 = iabn.activation_grad <relu> %dz2, %z2 {self_is_result}
      : tensor<4x128x16x16xf32>
  %dx2, %dgamma2, %dbeta2 = iabn.batch_norm_train_grad %dy2, %x2
      scale %gamma2 stats(%mean2, %var2)
      {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x128x16x16xf32>, tensor<128xf32>

  // conv1 and chain 1.
  %dw1 = func.call @conv2d_nchw_backward_weight_1x1(%z1, %dx2)
      : (tensor<4x96x16x16xf32>, tensor<4x128x16x16xf32>)
      -> tensor<128x96x1x1xf32>
  %dz1 = func.call @conv2d_nchw_backward_input_1x1(%dx2, %w1)
      : (tensor<4x128x16x16xf32>, tensor<128x96x1x1xf32>)
      -> tensor<4x96x16x16xf32>
  %dy1 = iabn.activation_grad <relu> %dz1, %z1 {self_is_result}
      : tensor<4x96x16x16xf32>
  %dcat_bn, %dgamma1, %dbeta1 = iabn.batch_norm_train_grad %dy1, %cat
      scale %gamma1 stats(%mean1, %var1)
      {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x96x16x16xf32>, tensor<96xf32>

  // Gradient of cat: through BN1 plus the direct path to the output.
  %e3 = tensor.empty() : tensor<4x96x16x16xf32>
  %d_cat = linalg.add
      ins(%dcat_bn, %d_cat_direct
          : tensor<4x96x16x16xf32>, tensor<4x96x16x16xf32>)
      outs(%e3 : tensor<4x96x16x16xf32>) -> tensor<4x96x16x16xf32>

  // Split the gradient of the input concatenation.
  %d_f0 = tensor.extract_slice %d_cat[0, 0, 0, 0] [4, 64, 16, 16]
      [1, 1, 1, 1] : tensor<4x96x16x16xf32> to tensor<4x64x16x16xf32>
  %d_f1 = tensor.extract_slice %d_cat[0, 64, 0, 0] [4, 32, 16, 16]
      [1, 1, 1, 1] : tensor<4x96x16x16xf32> to tensor<4x32x16x16xf32>

  return %out, %d_f0, %d_f1, %dw1, %dgamma1, %dbeta1, %dw2, %dgamma2,
         %dbeta2, %new_rm1, %new_rv1, %new_rm2, %new_rv2
      : tensor<4x128x16x16xf32>, tensor<4x64x16x16xf32>,
        tensor<4x32x16x16xf32>, tensor<128x96x1x1xf32>, tensor<96xf32>,
        tensor<96xf32>, tensor<32x128x3x3xf32>, tensor<128xf32>,
        tensor<128xf32>, tensor<96xf32>, tensor<96xf32>, tensor<128xf32>,
        tensor<128xf32>
}
