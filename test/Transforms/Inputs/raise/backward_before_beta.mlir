#id = affine_map<(d0, d1) -> (d0, d1)>
#ch = affine_map<(d0, d1) -> (d1)>
#c1 = affine_map<(d0) -> (d0)>
func.func @backward_before_beta(%x: tensor<64x4xf32>, %g: tensor<4xf32>, %b0: tensor<4xf32>, %dy: tensor<64x4xf32>) -> (tensor<64x4xf32>, tensor<64x4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %cm = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %e = tensor.empty() : tensor<4xf32>
  %ef = tensor.empty() : tensor<64x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #ch], iterator_types = ["reduction", "parallel"]} ins(%x : tensor<64x4xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %mean = linalg.generic {indexing_maps = [#c1, #c1], iterator_types = ["parallel"]} ins(%sum : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.divf %in, %cm : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %sq = linalg.generic {indexing_maps = [#id, #ch, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %mean : tensor<64x4xf32>, tensor<4xf32>) outs(%ef : tensor<64x4xf32>) {
  ^bb0(%in: f32, %mu: f32, %out: f32):
    %d = arith.subf %in, %mu : f32
    %d2 = arith.mulf %d, %d : f32
    linalg.yield %d2 : f32
  } -> tensor<64x4xf32>
  %vs = linalg.generic {indexing_maps = [#id, #ch], iterator_types = ["reduction", "parallel"]} ins(%sq : tensor<64x4xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %rstd = linalg.generic {indexing_maps = [#c1, #c1], iterator_types = ["parallel"]} ins(%vs : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = arith.divf %in, %cm : f32
    %ve = arith.addf %v, %eps : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %dsum = linalg.generic {indexing_maps = [#id, #ch], iterator_types = ["reduction", "parallel"]} ins(%dy : tensor<64x4xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %dxh = linalg.generic {indexing_maps = [#id, #id, #ch, #ch, #id], iterator_types = ["parallel", "parallel"]} ins(%dy, %x, %mean, %rstd : tensor<64x4xf32>, tensor<64x4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%ef : tensor<64x4xf32>) {
  ^bb0(%d: f32, %in: f32, %mu: f32, %r: f32, %out: f32):
    %c = arith.subf %in, %mu : f32
    %h = arith.mulf %c, %r : f32
    %p = arith.mulf %d, %h : f32
    linalg.yield %p : f32
  } -> tensor<64x4xf32>
  %dgam = linalg.generic {indexing_maps = [#id, #ch], iterator_types = ["reduction", "parallel"]} ins(%dxh : tensor<64x4xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %dx = linalg.generic {indexing_maps = [#id, #id, #ch, #ch, #ch, #ch, #ch, #id], iterator_types = ["parallel", "parallel"]} ins(%dy, %x, %mean, %rstd, %g, %dsum, %dgam : tensor<64x4xf32>, tensor<64x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%ef : tensor<64x4xf32>) {
  ^bb0(%d: f32, %in: f32, %mu: f32, %r: f32, %gg: f32, %ds: f32, %dg: f32, %out: f32):
    %c = arith.subf %in, %mu : f32
    %h = arith.mulf %c, %r : f32
    %a1 = arith.divf %ds, %cm : f32
    %a2 = arith.divf %dg, %cm : f32
    %t1 = arith.subf %d, %a1 : f32
    %t2 = arith.mulf %h, %a2 : f32
    %t3 = arith.subf %t1, %t2 : f32
    %gr = arith.mulf %gg, %r : f32
    %o = arith.mulf %gr, %t3 : f32
    linalg.yield %o : f32
  } -> tensor<64x4xf32>
  %eb = tensor.empty() : tensor<4xf32>
  %b = linalg.add ins(%b0, %b0 : tensor<4xf32>, tensor<4xf32>) outs(%eb : tensor<4xf32>) -> tensor<4xf32>
  %y = linalg.generic {indexing_maps = [#id, #ch, #ch, #ch, #ch, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %mean, %rstd, %g, %b : tensor<64x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%ef : tensor<64x4xf32>) {
  ^bb0(%in: f32, %mu: f32, %r: f32, %gg: f32, %bb: f32, %out: f32):
    %d = arith.subf %in, %mu : f32
    %n = arith.mulf %d, %r : f32
    %s = arith.mulf %n, %gg : f32
    %t = arith.addf %s, %bb : f32
    linalg.yield %t : f32
  } -> tensor<64x4xf32>
  return %y, %dx, %dgam, %dsum : tensor<64x4xf32>, tensor<64x4xf32>, tensor<4xf32>, tensor<4xf32>
}
