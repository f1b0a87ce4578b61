#id = affine_map<(d0, d1) -> (d0, d1)>
#ch = affine_map<(d0, d1) -> (d1)>
// A full-shaped broadcast of a per-channel sum: its expression lives in the
// channel space (2 values) but matchForward indexes it as a full one.
func.func @broadcast_of_sum(%x: tensor<64x4xf32>) -> tensor<64x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %ef = tensor.empty() : tensor<64x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #ch], iterator_types = ["reduction", "parallel"]} ins(%x : tensor<64x4xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %bc = linalg.generic {indexing_maps = [#ch, #id], iterator_types = ["parallel", "parallel"]} ins(%sum : tensor<4xf32>) outs(%ef : tensor<64x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<64x4xf32>
  return %bc : tensor<64x4xf32>
}
