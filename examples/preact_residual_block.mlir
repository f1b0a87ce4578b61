// One training step of a pre-activation residual block (WideResNet /
// ResNet-v2 style), the building block of the InPlace-ABN paper's figure,
// in the "joint graph" form (forward and backward in one function, as
// AOTAutograd produces it):
//
//   x_in --BN1--> y1 --leaky_relu(0.01)--> z1 --conv3x3 (pad 1)--> x2
//        --BN2--> y2 --leaky_relu(0.01)--> z2 --conv3x3 (pad 1)--> c2
//   out = c2 + x_in
//
// Shapes: N = 4, C = 64, 16x16, NCHW, f32. Every activation-sized tensor is
// tensor<4x64x16x16xf32> = 262144 bytes (256 KiB); per-channel tensors are
// tensor<64xf32> = 256 bytes. The statistics are reduced over
// 4 * 16 * 16 = 1024 values per channel (sample_count of the running
// statistics update).
//
// The 3x3 convolutions pad their input with tensor.pad and run a valid
// linalg.conv_2d_nchw_fchw on it. As in PyTorch (where the padding is part
// of the convolution), the convolution gradients are external functions
// that take the unpadded input, so the padded copy dies in the forward.
//
// What a framework saves between forward and backward for the two
// BN->activation chains (as PyTorch does by default: the leaky_relu gradient
// reads the activation input y, the batch-norm gradient reads x, and the
// next convolution's weight gradient reads z):
//
//   chain 1: x_in (BN1 input, a function argument), y1, z1, mean1, var1
//   chain 2: x2 (BN2 input, conv1's output), y2, z2, mean2, var2
//
// i.e. 6 big buffers plus 4 per-channel ones: the paper's figure.
// InPlace-ABN keeps only z1 and z2 (and the variances): the backward
// recomputes y and x_hat from z, so x and y die in the forward. z2 is
// written over x2; z1 cannot take x_in's buffer (the residual add reads x_in
// after BN1), but x_in is no longer needed by the backward either.

func.func private @conv2d_nchw_backward_input_3x3(tensor<4x64x16x16xf32>,
    tensor<64x64x3x3xf32>) -> tensor<4x64x16x16xf32> attributes {iabn.fresh_results}
func.func private @conv2d_nchw_backward_weight_3x3(tensor<4x64x16x16xf32>,
    tensor<4x64x16x16xf32>) -> tensor<64x64x3x3xf32> attributes {iabn.fresh_results}

func.func @preact_residual_block_train(
    %x_in: tensor<4x64x16x16xf32>,
    %gamma1: tensor<64xf32>, %beta1: tensor<64xf32>,
    %running_mean1: tensor<64xf32>, %running_var1: tensor<64xf32>,
    %w1: tensor<64x64x3x3xf32>,
    %gamma2: tensor<64xf32>, %beta2: tensor<64xf32>,
    %running_mean2: tensor<64xf32>, %running_var2: tensor<64xf32>,
    %w2: tensor<64x64x3x3xf32>,
    %d_out: tensor<4x64x16x16xf32> {iabn.gradient})
    -> (tensor<4x64x16x16xf32>, tensor<4x64x16x16xf32>,
        tensor<64x64x3x3xf32>, tensor<64xf32>, tensor<64xf32>,
        tensor<64x64x3x3xf32>, tensor<64xf32>, tensor<64xf32>,
        tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) {
  %zero = arith.constant 0.0 : f32

  // Forward.
  // Chain 1: BN1 -> leaky_relu.
  %y1, %mean1, %var1 = iabn.batch_norm_train %x_in scale %gamma1
      offset %beta1 {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x64x16x16xf32>, tensor<64xf32>
  %z1 = iabn.activation <leaky_relu, 0.01> %y1 : tensor<4x64x16x16xf32>
  %new_rm1, %new_rv1 = iabn.running_stats_update %running_mean1,
      %running_var1, %mean1, %var1
      {momentum = 0.1 : f64, sample_count = 1024 : i64} : tensor<64xf32>

  // conv1: 3x3, padding 1.
  %z1_pad = tensor.pad %z1 low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<4x64x16x16xf32> to tensor<4x64x18x18xf32>
  %e1 = tensor.empty() : tensor<4x64x16x16xf32>
  %acc1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4x64x16x16xf32>)
      -> tensor<4x64x16x16xf32>
  %x2 = linalg.conv_2d_nchw_fchw
      {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%z1_pad, %w1 : tensor<4x64x18x18xf32>, tensor<64x64x3x3xf32>)
      outs(%acc1 : tensor<4x64x16x16xf32>) -> tensor<4x64x16x16xf32>

  // Chain 2: BN2 -> leaky_relu.
  %y2, %mean2, %var2 = iabn.batch_norm_train %x2 scale %gamma2
      offset %beta2 {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x64x16x16xf32>, tensor<64xf32>
  %z2 = iabn.activation <leaky_relu, 0.01> %y2 : tensor<4x64x16x16xf32>
  %new_rm2, %new_rv2 = iabn.running_stats_update %running_mean2,
      %running_var2, %mean2, %var2
      {momentum = 0.1 : f64, sample_count = 1024 : i64} : tensor<64xf32>

  // conv2: 3x3, padding 1.
  %z2_pad = tensor.pad %z2 low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%j0: index, %j1: index, %j2: index, %j3: index):
    tensor.yield %zero : f32
  } : tensor<4x64x16x16xf32> to tensor<4x64x18x18xf32>
  %e2 = tensor.empty() : tensor<4x64x16x16xf32>
  %acc2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x64x16x16xf32>)
      -> tensor<4x64x16x16xf32>
  %c2 = linalg.conv_2d_nchw_fchw
      {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%z2_pad, %w2 : tensor<4x64x18x18xf32>, tensor<64x64x3x3xf32>)
      outs(%acc2 : tensor<4x64x16x16xf32>) -> tensor<4x64x16x16xf32>

  // Residual add.
  %e3 = tensor.empty() : tensor<4x64x16x16xf32>
  %out = linalg.add
      ins(%c2, %x_in : tensor<4x64x16x16xf32>, tensor<4x64x16x16xf32>)
      outs(%e3 : tensor<4x64x16x16xf32>) -> tensor<4x64x16x16xf32>

  // Backward. d_out flows both into conv2 (d_c2 = d_out) and straight back
  // to x_in through the shortcut.
  %dw2 = func.call @conv2d_nchw_backward_weight_3x3(%z2, %d_out)
      : (tensor<4x64x16x16xf32>, tensor<4x64x16x16xf32>)
      -> tensor<64x64x3x3xf32>
  %dz2 = func.call @conv2d_nchw_backward_input_3x3(%d_out, %w2)
      : (tensor<4x64x16x16xf32>, tensor<64x64x3x3xf32>)
      -> tensor<4x64x16x16xf32>
  %dy2 = iabn.activation_grad <leaky_relu, 0.01> %dz2, %y2
      : tensor<4x64x16x16xf32>
  %dx2, %dgamma2, %dbeta2 = iabn.batch_norm_train_grad %dy2, %x2
      scale %gamma2 stats(%mean2, %var2)
      {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x64x16x16xf32>, tensor<64xf32>

  %dw1 = func.call @conv2d_nchw_backward_weight_3x3(%z1, %dx2)
      : (tensor<4x64x16x16xf32>, tensor<4x64x16x16xf32>)
      -> tensor<64x64x3x3xf32>
  %dz1 = func.call @conv2d_nchw_backward_input_3x3(%dx2, %w1)
      : (tensor<4x64x16x16xf32>, tensor<64x64x3x3xf32>)
      -> tensor<4x64x16x16xf32>
  %dy1 = iabn.activation_grad <leaky_relu, 0.01> %dz1, %y1
      : tensor<4x64x16x16xf32>
  %dx1, %dgamma1, %dbeta1 = iabn.batch_norm_train_grad %dy1, %x_in
      scale %gamma1 stats(%mean1, %var1)
      {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x64x16x16xf32>, tensor<64xf32>

  // Gradient of x_in: the residual branch plus the shortcut.
  %e4 = tensor.empty() : tensor<4x64x16x16xf32>
  %d_x_in = linalg.add
      ins(%dx1, %d_out : tensor<4x64x16x16xf32>, tensor<4x64x16x16xf32>)
      outs(%e4 : tensor<4x64x16x16xf32>) -> tensor<4x64x16x16xf32>

  return %out, %d_x_in, %dw1, %dgamma1, %dbeta1, %dw2, %dgamma2, %dbeta2,
         %new_rm1, %new_rv1, %new_rm2, %new_rv2
      : tensor<4x64x16x16xf32>, tensor<4x64x16x16xf32>,
        tensor<64x64x3x3xf32>, tensor<64xf32>, tensor<64xf32>,
        tensor<64x64x3x3xf32>, tensor<64xf32>, tensor<64xf32>,
        tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
}
