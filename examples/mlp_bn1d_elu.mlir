// One training step of a 3-layer MLP with BatchNorm1d and ELU in the
// "joint graph" form (forward and backward in one function, as AOTAutograd
// produces it):
//
//   x --matmul (512->256)--> h1 --BN1d--> y1 --elu(1.0)--> z1
//     --matmul (256->256)--> h2 --BN1d--> y2 --elu(1.0)--> z2
//     --matmul (256->10)--> out
//
// Shapes: batch N = 64, f32. The BatchNorm1d layers normalize (N, C) =
// tensor<64x256xf32> (65536 bytes) over the batch: feature_dim = 1, 64
// values per channel (sample_count of the running statistics update).
// Per-channel tensors are tensor<256xf32> = 1024 bytes; out is
// tensor<64x10xf32> = 2560 bytes. The linear layers have no bias (a bias
// before batch norm is redundant; the classifier's is left out for
// brevity). Gradients of the matmuls are external functions
// (lhs: d(A) of A x B, rhs: d(B)); x is input data, so no gradient is
// computed for it.
//
// What a framework saves between forward and backward for the two
// BN->activation chains (the ELU gradients read the output z,
// self_is_result):
//
//   chain 1: h1 (BN1 input, 65536 B), mean1, var1 (1024 B each),
//            z1 (65536 B; also the second matmul's input)
//   chain 2: h2 (BN2 input, 65536 B), mean2, var2 (1024 B each),
//            z2 (65536 B; also the third matmul's input)
//
// x (tensor<64x512xf32>, 131072 B) is a function argument, kept for the
// first matmul's weight gradient.

func.func private @matmul_backward_rhs_512x256(tensor<64x512xf32>,
    tensor<64x256xf32>) -> tensor<512x256xf32> attributes {iabn.fresh_results}
func.func private @matmul_backward_lhs_256x256(tensor<64x256xf32>,
    tensor<256x256xf32>) -> tensor<64x256xf32> attributes {iabn.fresh_results}
func.func private @matmul_backward_rhs_256x256(tensor<64x256xf32>,
    tensor<64x256xf32>) -> tensor<256x256xf32> attributes {iabn.fresh_results}
func.func private @matmul_backward_lhs_256x10(tensor<64x10xf32>,
    tensor<256x10xf32>) -> tensor<64x256xf32> attributes {iabn.fresh_results}
func.func private @matmul_backward_rhs_256x10(tensor<64x256xf32>,
    tensor<64x10xf32>) -> tensor<256x10xf32> attributes {iabn.fresh_results}

func.func @mlp_bn1d_elu_train(
    %x: tensor<64x512xf32>,
    %w1: tensor<512x256xf32>,
    %gamma1: tensor<256xf32>, %beta1: tensor<256xf32>,
    %running_mean1: tensor<256xf32>, %running_var1: tensor<256xf32>,
    %w2: tensor<256x256xf32>,
    %gamma2: tensor<256xf32>, %beta2: tensor<256xf32>,
    %running_mean2: tensor<256xf32>, %running_var2: tensor<256xf32>,
    %w3: tensor<256x10xf32>,
    %d_out: tensor<64x10xf32> {iabn.gradient})
    -> (tensor<64x10xf32>, tensor<512x256xf32>, tensor<256xf32>,
        tensor<256xf32>, tensor<256x256xf32>, tensor<256xf32>,
        tensor<256xf32>, tensor<256x10xf32>, tensor<256xf32>,
        tensor<256xf32>, tensor<256xf32>, tensor<256xf32>) {
  %zero = arith.constant 0.0 : f32

  // Forward.
  // Linear 1: 512 -> 256.
  %e1 = tensor.empty() : tensor<64x256xf32>
  %acc1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<64x256xf32>)
      -> tensor<64x256xf32>
  %h1 = linalg.matmul ins(%x, %w1 : tensor<64x512xf32>, tensor<512x256xf32>)
      outs(%acc1 : tensor<64x256xf32>) -> tensor<64x256xf32>

  // Chain 1: BN1d -> elu.
  %y1, %mean1, %var1 = iabn.batch_norm_train %h1 scale %gamma1
      offset %beta1 {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<64x256xf32>, tensor<256xf32>
  %z1 = iabn.activation <elu, 1.0> %y1 : tensor<64x256xf32>
  %new_rm1, %new_rv1 = iabn.running_stats_update %running_mean1,
      %running_var1, %mean1, %var1
      {momentum = 0.1 : f64, sample_count = 64 : i64} : tensor<256xf32>

  // Linear 2: 256 -> 256.
  %e2 = tensor.empty() : tensor<64x256xf32>
  %acc2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<64x256xf32>)
      -> tensor<64x256xf32>
  %h2 = linalg.matmul ins(%z1, %w2 : tensor<64x256xf32>, tensor<256x256xf32>)
      outs(%acc2 : tensor<64x256xf32>) -> tensor<64x256xf32>

  // Chain 2: BN1d -> elu.
  %y2, %mean2, %var2 = iabn.batch_norm_train %h2 scale %gamma2
      offset %beta2 {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<64x256xf32>, tensor<256xf32>
  %z2 = iabn.activation <elu, 1.0> %y2 : tensor<64x256xf32>
  %new_rm2, %new_rv2 = iabn.running_stats_update %running_mean2,
      %running_var2, %mean2, %var2
      {momentum = 0.1 : f64, sample_count = 64 : i64} : tensor<256xf32>

  // Linear 3 (classifier): 256 -> 10.
  %e3 = tensor.empty() : tensor<64x10xf32>
  %acc3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<64x10xf32>)
      -> tensor<64x10xf32>
  %out = linalg.matmul ins(%z2, %w3 : tensor<64x256xf32>, tensor<256x10xf32>)
      outs(%acc3 : tensor<64x10xf32>) -> tensor<64x10xf32>

  // Backward.
  // Linear 3.
  %dw3 = func.call @matmul_backward_rhs_256x10(%z2, %d_out)
      : (tensor<64x256xf32>, tensor<64x10xf32>) -> tensor<256x10xf32>
  %dz2 = func.call @matmul_backward_lhs_256x10(%d_out, %w3)
      : (tensor<64x10xf32>, tensor<256x10xf32>) -> tensor<64x256xf32>

  // Chain 2.
  %dy2 = iabn.activation_grad <elu, 1.0> %dz2, %z2 {self_is_result}
      : tensor<64x256xf32>
  %dh2, %dgamma2, %dbeta2 = iabn.batch_norm_train_grad %dy2, %h2
      scale %gamma2 stats(%mean2, %var2)
      {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<64x256xf32>, tensor<256xf32>

  // Linear 2.
  %dw2 = func.call @matmul_backward_rhs_256x256(%z1, %dh2)
      : (tensor<64x256xf32>, tensor<64x256xf32>) -> tensor<256x256xf32>
  %dz1 = func.call @matmul_backward_lhs_256x256(%dh2, %w2)
      : (tensor<64x256xf32>, tensor<256x256xf32>) -> tensor<64x256xf32>

  // Chain 1.
  %dy1 = iabn.activation_grad <elu, 1.0> %dz1, %z1 {self_is_result}
      : tensor<64x256xf32>
  %dh1, %dgamma1, %dbeta1 = iabn.batch_norm_train_grad %dy1, %h1
      scale %gamma1 stats(%mean1, %var1)
      {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
      : tensor<64x256xf32>, tensor<256xf32>

  // Linear 1 (weight gradient only: x is data).
  %dw1 = func.call @matmul_backward_rhs_512x256(%x, %dh1)
      : (tensor<64x512xf32>, tensor<64x256xf32>) -> tensor<512x256xf32>

  return %out, %dw1, %dgamma1, %dbeta1, %dw2, %dgamma2, %dbeta2, %dw3,
         %new_rm1, %new_rv1, %new_rm2, %new_rv2
      : tensor<64x10xf32>, tensor<512x256xf32>, tensor<256xf32>,
        tensor<256xf32>, tensor<256x256xf32>, tensor<256xf32>,
        tensor<256xf32>, tensor<256x10xf32>, tensor<256xf32>,
        tensor<256xf32>, tensor<256xf32>, tensor<256xf32>
}
