// One training step of a ResNet-50 style bottleneck block (post-activation,
// identity shortcut) in the "joint graph" form (forward and backward in one
// function, as AOTAutograd produces it):
//
//   x_in --conv1x1 (256->64)--> x1 --BN1--> y1 --relu--> z1
//        --conv3x3 (64->64, pad 1)--> x2 --BN2--> y2 --relu--> z2
//        --conv1x1 (64->256)--> x3 --BN3--> y3 --identity--> z3
//   s   = z3 + x_in
//   out = relu(s)
//
// Shapes: N = 4, 14x14, NCHW, f32. 4x64x14x14 tensors are 200704 bytes,
// 4x256x14x14 tensors are 802816 bytes; per-channel tensors are 256 bytes
// (64 channels) or 1024 bytes (256 channels). Statistics are reduced over
// 4 * 14 * 14 = 784 values per channel.
//
// The 3x3 convolution pads its input with tensor.pad and runs a valid
// linalg.conv_2d_nchw_fchw; its gradients are external functions taking the
// unpadded input (as PyTorch, where padding belongs to the convolution).
// BN3 feeds the residual add directly, which the graph spells as an
// identity activation. The final relu after the add is a plain activation
// (no batch norm of its own).
//
// Chain 2's relu gradient is written in the input form (it reads y2, as a
// framework does that saves the activation input); the other activation
// gradients read the output z (PyTorch's self_is_result).
//
// What a framework saves between forward and backward for the three
// BN->activation chains:
//
//   chain 1: x1 (BN1 input, 200704 B), mean1, var1 (256 B each),
//            z1 (200704 B; also conv2's input)
//   chain 2: x2 (BN2 input, 200704 B), mean2, var2 (256 B each),
//            y2 (200704 B; read only by the relu gradient),
//            z2 (200704 B; conv3's input)
//   chain 3: x3 (BN3 input, 802816 B), mean3, var3 (1024 B each),
//            z3 (802816 B; read by the identity gradient)
//   final relu: out (802816 B; also returned)
//
// x_in (conv1's input, 802816 B) is a function argument and stays alive for
// the shortcut and conv1's weight gradient anyway.
//
// The rewrite: chains 1 and 2 (relu, not invertible) get store-y, which
// saves y1 and y2 only (written over x1 and x2); conv2's and conv3's weight
// gradients read z1 and z2 recomputed from them. Chain 3 (identity) is
// fused in place and saves z3 only.

func.func private @conv2d_nchw_backward_input_1x1_256to64(
    tensor<4x64x14x14xf32>, tensor<64x256x1x1xf32>) -> tensor<4x256x14x14xf32> attributes {iabn.fresh_results}
func.func private @conv2d_nchw_backward_weight_1x1_256to64(
    tensor<4x256x14x14xf32>, tensor<4x64x14x14xf32>) -> tensor<64x256x1x1xf32> attributes {iabn.fresh_results}
func.func private @conv2d_nchw_backward_input_3x3(
    tensor<4x64x14x14xf32>, tensor<64x64x3x3xf32>) -> tensor<4x64x14x14xf32> attributes {iabn.fresh_results}
func.func private @conv2d_nchw_backward_weight_3x3(
    tensor<4x64x14x14xf32>, tensor<4x64x14x14xf32>) -> tensor<64x64x3x3xf32> attributes {iabn.fresh_results}
func.func private @conv2d_nchw_backward_input_1x1_64to256(
    tensor<4x256x14x14xf32>, tensor<256x64x1x1xf32>) -> tensor<4x64x14x14xf32> attributes {iabn.fresh_results}
func.func private @conv2d_nchw_backward_weight_1x1_64to256(
    tensor<4x64x14x14xf32>, tensor<4x256x14x14xf32>) -> tensor<256x64x1x1xf32> attributes {iabn.fresh_results}

func.func @resnet_bottleneck_train(
    %x_in: tensor<4x256x14x14xf32>,
    %w1: tensor<64x256x1x1xf32>,
    %gamma1: tensor<64xf32>, %beta1: tensor<64xf32>,
    %running_mean1: tensor<64xf32>, %running_var1: tensor<64xf32>,
    %w2: tensor<64x64x3x3xf32>,
    %gamma2: tensor<64xf32>, %beta2: tensor<64xf32>,
    %running_mean2: tensor<64xf32>, %running_var2: tensor<64xf32>,
    %w3: tensor<256x64x1x1xf32>,
    %gamma3: tensor<256xf32>, %beta3: tensor<256xf32>,
    %running_mean3: tensor<256xf32>, %running_var3: tensor<256xf32>,
    %d_out: tensor<4x256x14x14xf32> {iabn.gradient})
    -> (tensor<4x256x14x14xf32>, tensor<4x256x14x14xf32>,
        tensor<64x256x1x1xf32>, tensor<64xf32>, tensor<64xf32>,
        tensor<64x64x3x3xf32>, tensor<64xf32>, tensor<64xf32>,
        tensor<256x64x1x1xf32>, tensor<256xf32>, tensor<256xf32>,
        tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>,
        tensor<256xf32>, tensor<256xf32>) {
  %zero = arith.constant 0.0 : f32

  // Forward.
  // conv1: 1x1, 256 -> 64.
  %e1 = tensor.empty() : tensor<4x64x14x14xf32>
  %acc1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4x64x14x14xf32>)
      -> tensor<4x64x14x14xf32>
  %x1 = linalg.conv_2d_nchw_fchw
      {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x_in, %w1 : tensor<4x256x14x14xf32>, tensor<64x256x1x1xf32>)
      outs(%acc1 : tensor<4x64x14x14xf32>) -> tensor<4x64x14x14xf32>

  // Chain 1: BN1 -> relu.
  %y1, %mean1, %var1 = iabn.batch_norm_train %x1 scale %gamma1
      offset %beta1 {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x64x14x14xf32>, tensor<64xf32>
  %z1 = iabn.activation <relu> %y1 : tensor<4x64x14x14xf32>
  %new_rm1, %new_rv1 = iabn.running_stats_update %running_mean1,
      %running_var1, %mean1, %var1
      {momentum = 0.1 : f64, sample_count = 784 : i64} : tensor<64xf32>

  // conv2: 3x3, 64 -> 64, padding 1.
  %z1_pad = tensor.pad %z1 low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<4x64x14x14xf32> to tensor<4x64x16x16xf32>
  %e2 = tensor.empty() : tensor<4x64x14x14xf32>
  %acc2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x64x14x14xf32>)
      -> tensor<4x64x14x14xf32>
  %x2 = linalg.conv_2d_nchw_fchw
      {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%z1_pad, %w2 : tensor<4x64x16x16xf32>, tensor<64x64x3x3xf32>)
      outs(%acc2 : tensor<4x64x14x14xf32>) -> tensor<4x64x14x14xf32>

  // Chain 2: BN2 -> relu.
  %y2, %mean2, %var2 = iabn.batch_norm_train %x2 scale %gamma2
      offset %beta2 {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x64x14x14xf32>, tensor<64xf32>
  %z2 = iabn.activation <relu> %y2 : tensor<4x64x14x14xf32>
  %new_rm2, %new_rv2 = iabn.running_stats_update %running_mean2,
      %running_var2, %mean2, %var2
      {momentum = 0.1 : f64, sample_count = 784 : i64} : tensor<64xf32>

  // conv3: 1x1, 64 -> 256.
  %e3 = tensor.empty() : tensor<4x256x14x14xf32>
  %acc3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<4x256x14x14xf32>)
      -> tensor<4x256x14x14xf32>
  %x3 = linalg.conv_2d_nchw_fchw
      {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%z2, %w3 : tensor<4x64x14x14xf32>, tensor<256x64x1x1xf32>)
      outs(%acc3 : tensor<4x256x14x14xf32>) -> tensor<4x256x14x14xf32>

  // Chain 3: BN3 -> identity (feeds the residual add).
  %y3, %mean3, %var3 = iabn.batch_norm_train %x3 scale %gamma3
      offset %beta3 {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x256x14x14xf32>, tensor<256xf32>
  %z3 = iabn.activation <identity> %y3 : tensor<4x256x14x14xf32>
  %new_rm3, %new_rv3 = iabn.running_stats_update %running_mean3,
      %running_var3, %mean3, %var3
      {momentum = 0.1 : f64, sample_count = 784 : i64} : tensor<256xf32>

  // Residual add and the final relu.
  %e4 = tensor.empty() : tensor<4x256x14x14xf32>
  %s = linalg.add
      ins(%z3, %x_in : tensor<4x256x14x14xf32>, tensor<4x256x14x14xf32>)
      outs(%e4 : tensor<4x256x14x14xf32>) -> tensor<4x256x14x14xf32>
  %out = iabn.activation <relu> %s : tensor<4x256x14x14xf32>

  // Backward.
  // Final relu; its gradient fans out to the residual branch (dz3) and the
  // shortcut.
  %ds = iabn.activation_grad <relu> %d_out, %out {self_is_result}
      : tensor<4x256x14x14xf32>

  // Chain 3.
  %dy3 = iabn.activation_grad <identity> %ds, %z3 {self_is_result}
      : tensor<4x256x14x14xf32>
  %dx3, %dgamma3, %dbeta3 = iabn.batch_norm_train_grad %dy3, %x3
      scale %gamma3 stats(%mean3, %var3)
      {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x256x14x14xf32>, tensor<256xf32>
  %dw3 = func.call @conv2d_nchw_backward_weight_1x1_64to256(%z2, %dx3)
      : (tensor<4x64x14x14xf32>, tensor<4x256x14x14xf32>)
      -> tensor<256x64x1x1xf32>
  %dz2 = func.call @conv2d_nchw_backward_input_1x1_64to256(%dx3, %w3)
      : (tensor<4x256x14x14xf32>, tensor<256x64x1x1xf32>)
      -> tensor<4x64x14x14xf32>

  // Chain 2: relu gradient from the activation input y2.
  %dy2 = iabn.activation_grad <relu> %dz2, %y2 : tensor<4x64x14x14xf32>
  %dx2, %dgamma2, %dbeta2 = iabn.batch_norm_train_grad %dy2, %x2
      scale %gamma2 stats(%mean2, %var2)
      {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x64x14x14xf32>, tensor<64xf32>
  %dw2 = func.call @conv2d_nchw_backward_weight_3x3(%z1, %dx2)
      : (tensor<4x64x14x14xf32>, tensor<4x64x14x14xf32>)
      -> tensor<64x64x3x3xf32>
  %dz1 = func.call @conv2d_nchw_backward_input_3x3(%dx2, %w2)
      : (tensor<4x64x14x14xf32>, tensor<64x64x3x3xf32>)
      -> tensor<4x64x14x14xf32>

  // Chain 1.
  %dy1 = iabn.activation_grad <relu> %dz1, %z1 {self_is_result}
      : tensor<4x64x14x14xf32>
  %dx1, %dgamma1, %dbeta1 = iabn.batch_norm_train_grad %dy1, %x1
      scale %gamma1 stats(%mean1, %var1)
      {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<4x64x14x14xf32>, tensor<64xf32>
  %dw1 = func.call @conv2d_nchw_backward_weight_1x1_256to64(%x_in, %dx1)
      : (tensor<4x256x14x14xf32>, tensor<4x64x14x14xf32>)
      -> tensor<64x256x1x1xf32>
  %dx_in_main = func.call @conv2d_nchw_backward_input_1x1_256to64(%dx1, %w1)
      : (tensor<4x64x14x14xf32>, tensor<64x256x1x1xf32>)
      -> tensor<4x256x14x14xf32>

  // Gradient of x_in: the residual branch plus the shortcut.
  %e5 = tensor.empty() : tensor<4x256x14x14xf32>
  %d_x_in = linalg.add
      ins(%dx_in_main, %ds : tensor<4x256x14x14xf32>, tensor<4x256x14x14xf32>)
      outs(%e5 : tensor<4x256x14x14xf32>) -> tensor<4x256x14x14xf32>

  return %out, %d_x_in, %dw1, %dgamma1, %dbeta1, %dw2, %dgamma2, %dbeta2,
         %dw3, %dgamma3, %dbeta3, %new_rm1, %new_rv1, %new_rm2, %new_rv2,
         %new_rm3, %new_rv3
      : tensor<4x256x14x14xf32>, tensor<4x256x14x14xf32>,
        tensor<64x256x1x1xf32>, tensor<64xf32>, tensor<64xf32>,
        tensor<64x64x3x3xf32>, tensor<64xf32>, tensor<64xf32>,
        tensor<256x64x1x1xf32>, tensor<256xf32>, tensor<256xf32>,
        tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>,
        tensor<256xf32>, tensor<256xf32>
}
