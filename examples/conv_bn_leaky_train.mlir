// A small training step in the "joint graph" form (forward and backward in
// one function, as AOTAutograd or XLA produce it):
//
//   x0 --conv1--> x --BN--> y --leaky_relu(0.01)--> z --conv2--> out
//
// and its backward from d_out. Convolutions are upstream linalg ops; their
// gradients are calls to external functions (the rest of a real graph).
// This is the graph as a framework writes it: BN's backward reads x and the
// activation's backward reads z, so x, y-or-z and the statistics all stay
// alive from the forward to the backward.

func.func private @conv2d_nchw_backward_input(tensor<8x16x30x30xf32>,
    tensor<16x16x1x1xf32>) -> tensor<8x16x30x30xf32> attributes {iabn.fresh_results}
func.func private @conv2d_nchw_backward_weight(tensor<8x16x30x30xf32>,
    tensor<8x16x30x30xf32>) -> tensor<16x16x1x1xf32> attributes {iabn.fresh_results}
func.func private @conv2d_nchw_backward_weight_3x3(tensor<8x3x32x32xf32>,
    tensor<8x16x30x30xf32>) -> tensor<16x3x3x3xf32> attributes {iabn.fresh_results}

func.func @train_step(%x0: tensor<8x3x32x32xf32>,
                      %w1: tensor<16x3x3x3xf32>,
                      %gamma: tensor<16xf32>, %beta: tensor<16xf32>,
                      %running_mean: tensor<16xf32>,
                      %running_var: tensor<16xf32>,
                      %w2: tensor<16x16x1x1xf32>,
                      %d_out: tensor<8x16x30x30xf32> {iabn.gradient})
    -> (tensor<8x16x30x30xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>,
        tensor<16xf32>, tensor<16x16x1x1xf32>, tensor<16xf32>,
        tensor<16xf32>) {
  %zero = arith.constant 0.0 : f32

  // Forward.
  %e1 = tensor.empty() : tensor<8x16x30x30xf32>
  %acc1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x16x30x30xf32>)
      -> tensor<8x16x30x30xf32>
  %x = linalg.conv_2d_nchw_fchw
      {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x0, %w1 : tensor<8x3x32x32xf32>, tensor<16x3x3x3xf32>)
      outs(%acc1 : tensor<8x16x30x30xf32>) -> tensor<8x16x30x30xf32>
  %y, %mean, %var = iabn.batch_norm_train %x scale %gamma offset %beta
      {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<8x16x30x30xf32>, tensor<16xf32>
  %new_rm, %new_rv = iabn.running_stats_update %running_mean, %running_var,
      %mean, %var {momentum = 0.1 : f64, sample_count = 7200 : i64}
      : tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16x30x30xf32>
  %e2 = tensor.empty() : tensor<8x16x30x30xf32>
  %acc2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<8x16x30x30xf32>)
      -> tensor<8x16x30x30xf32>
  %out = linalg.conv_2d_nchw_fchw
      {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%z, %w2 : tensor<8x16x30x30xf32>, tensor<16x16x1x1xf32>)
      outs(%acc2 : tensor<8x16x30x30xf32>) -> tensor<8x16x30x30xf32>

  // Backward.
  %dw2 = func.call @conv2d_nchw_backward_weight(%z, %d_out)
      : (tensor<8x16x30x30xf32>, tensor<8x16x30x30xf32>)
      -> tensor<16x16x1x1xf32>
  %dz = func.call @conv2d_nchw_backward_input(%d_out, %w2)
      : (tensor<8x16x30x30xf32>, tensor<16x16x1x1xf32>)
      -> tensor<8x16x30x30xf32>
  %dy = iabn.activation_grad <leaky_relu, 0.01> %dz, %z {self_is_result}
      : tensor<8x16x30x30xf32>
  %dx, %dgamma, %dbeta = iabn.batch_norm_train_grad %dy, %x scale %gamma
      stats(%mean, %var) {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<8x16x30x30xf32>, tensor<16xf32>
  %dw1 = func.call @conv2d_nchw_backward_weight_3x3(%x0, %dx)
      : (tensor<8x3x32x32xf32>, tensor<8x16x30x30xf32>)
      -> tensor<16x3x3x3xf32>

  return %out, %dw1, %dgamma, %dbeta, %dw2, %new_rm, %new_rv
      : tensor<8x16x30x30xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>,
        tensor<16xf32>, tensor<16x16x1x1xf32>, tensor<16xf32>,
        tensor<16xf32>
}
