#id = affine_map<(d0, d1) -> (d0, d1)>
#ch = affine_map<(d0, d1) -> (d1)>
#c1 = affine_map<(d0) -> (d0)>
func.func private @ext(tensor<4xf32>) -> tensor<4xf32>
func.func @empty() {
  return
}
func.func @region_users(%x: tensor<64x4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %flag: i1) -> (tensor<64x4xf32>, tensor<64x4xf32>) {
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
  %y = linalg.generic {indexing_maps = [#id, #ch, #ch, #ch, #ch, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %mean, %rstd, %g, %b : tensor<64x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%ef : tensor<64x4xf32>) {
  ^bb0(%in: f32, %mu: f32, %r: f32, %gg: f32, %bb: f32, %out: f32):
    %d = arith.subf %in, %mu : f32
    %n = arith.mulf %d, %r : f32
    %s = arith.mulf %n, %gg : f32
    %t = arith.addf %s, %bb : f32
    linalg.yield %t : f32
  } -> tensor<64x4xf32>
  %r1 = scf.if %flag -> (tensor<64x4xf32>) {
    %z = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<64x4xf32>) outs(%ef : tensor<64x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %c0 = arith.constant 0.0 : f32
      %r = arith.maximumf %in, %c0 : f32
      linalg.yield %r : f32
    } -> tensor<64x4xf32>
    scf.yield %z : tensor<64x4xf32>
  } else {
    scf.yield %y : tensor<64x4xf32>
  }
  %lb = arith.constant 0 : index
  %ub = arith.constant 3 : index
  %st = arith.constant 1 : index
  %r2 = scf.for %i = %lb to %ub step %st iter_args(%acc = %x) -> (tensor<64x4xf32>) {
    %n = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%acc, %y : tensor<64x4xf32>, tensor<64x4xf32>) outs(%ef : tensor<64x4xf32>) {
    ^bb0(%a: f32, %in: f32, %out: f32):
      %s = arith.addf %a, %in : f32
      linalg.yield %s : f32
    } -> tensor<64x4xf32>
    scf.yield %n : tensor<64x4xf32>
  }
  return %r1, %r2 : tensor<64x4xf32>, tensor<64x4xf32>
}
func.func @bn_in_loop(%x0: tensor<64x4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<64x4xf32> {
  %lb = arith.constant 0 : index
  %ub = arith.constant 2 : index
  %st = arith.constant 1 : index
  %res = scf.for %i = %lb to %ub step %st iter_args(%x = %x0) -> (tensor<64x4xf32>) {
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
  %y = linalg.generic {indexing_maps = [#id, #ch, #ch, #ch, #ch, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %mean, %rstd, %g, %b : tensor<64x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%ef : tensor<64x4xf32>) {
  ^bb0(%in: f32, %mu: f32, %r: f32, %gg: f32, %bb: f32, %out: f32):
    %d = arith.subf %in, %mu : f32
    %n = arith.mulf %d, %r : f32
    %s = arith.mulf %n, %gg : f32
    %t = arith.addf %s, %bb : f32
    linalg.yield %t : f32
  } -> tensor<64x4xf32>
    scf.yield %y : tensor<64x4xf32>
  }
  return %res : tensor<64x4xf32>
}
