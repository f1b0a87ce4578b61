// EpsOutsideSmall(
//   (c): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
//   (o): Conv2d(4, 2, kernel_size=(1, 1), stride=(1, 1))
// )
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (0, d1, 0, 0)>
#map2 = affine_map<(d0, d1, d2, d3) -> ()>
#map3 = affine_map<(d0, d1, d2, d3) -> (d1)>
module {
  func.func @main(%arg0: tensor<4x3x3x3xf32>, %arg1: tensor<2x4x1x1xf32>, %arg2: tensor<2xf32>, %arg3: tensor<2x3x6x6xf32>) -> (tensor<f32>, tensor<4x3x3x3xf32>, tensor<2x4x1x1xf32>, tensor<2xf32>) {
    %c2_i64 = arith.constant 2 : i64
    %c1_i64 = arith.constant 1 : i64
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant dense<0.000000e+00> : tensor<f32>
    %cst_1 = arith.constant dense<1.000000e+00> : tensor<2x2x6x6xf32>
    %cst_2 = arith.constant 1.000000e-09 : f64
    %cst_3 = arith.constant 9.9999999999999995E-7 : f64
    %cst_4 = arith.constant 7.200000e+01 : f32
    %cst_5 = arith.constant 5.000000e-01 : f32
    %cst_6 = arith.constant 2.000000e+00 : f32
    %c0 = arith.constant 0 : index
    %padded = tensor.pad %arg3 low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%arg4: index, %arg5: index, %arg6: index, %arg7: index):
      tensor.yield %cst : f32
    } : tensor<2x3x6x6xf32> to tensor<2x3x8x8xf32>
    %0 = tensor.empty() : tensor<2x4x6x6xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x4x6x6xf32>) -> tensor<2x4x6x6xf32>
    %2 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%padded, %arg0 : tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%1 : tensor<2x4x6x6xf32>) -> tensor<2x4x6x6xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%2 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.truncf %cst_3 : f64 to f32
      %67 = arith.mulf %in, %66 : f32
      linalg.yield %67 : f32
    } -> tensor<2x4x6x6xf32>
    %4 = tensor.empty() : tensor<1x4x1x1xf32>
    %5 = linalg.fill ins(%cst : f32) outs(%4 : tensor<1x4x1x1xf32>) -> tensor<1x4x1x1xf32>
    %6 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%3 : tensor<2x4x6x6xf32>) outs(%5 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.addf %in, %out : f32
      linalg.yield %66 : f32
    } -> tensor<1x4x1x1xf32>
    %7 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%6 : tensor<1x4x1x1xf32>) outs(%4 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.divf %in, %cst_4 : f32
      linalg.yield %66 : f32
    } -> tensor<1x4x1x1xf32>
    %8 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3, %7 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_14: f32, %out: f32):
      %66 = arith.subf %in, %in_14 : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %9 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%8 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = math.fpowi %in, %c2_i64 : f32, i64
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %10 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%9 : tensor<2x4x6x6xf32>) outs(%5 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.addf %in, %out : f32
      linalg.yield %66 : f32
    } -> tensor<1x4x1x1xf32>
    %11 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%10 : tensor<1x4x1x1xf32>) outs(%4 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.divf %in, %cst_4 : f32
      linalg.yield %66 : f32
    } -> tensor<1x4x1x1xf32>
    %12 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%11 : tensor<1x4x1x1xf32>) outs(%4 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = math.sqrt %in : f32
      linalg.yield %66 : f32
    } -> tensor<1x4x1x1xf32>
    %13 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%12 : tensor<1x4x1x1xf32>) outs(%4 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.truncf %cst_2 : f64 to f32
      %67 = arith.addf %in, %66 : f32
      linalg.yield %67 : f32
    } -> tensor<1x4x1x1xf32>
    %14 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%8, %13 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_14: f32, %out: f32):
      %66 = arith.divf %in, %in_14 : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %15 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%14 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.cmpf ugt, %in, %cst : f32
      %67 = arith.select %66, %in, %cst : f32
      linalg.yield %67 : f32
    } -> tensor<2x4x6x6xf32>
    %16 = tensor.empty() : tensor<2x2x6x6xf32>
    %broadcasted = linalg.broadcast ins(%arg2 : tensor<2xf32>) outs(%16 : tensor<2x2x6x6xf32>) dimensions = [0, 2, 3] 
    %17 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%15, %arg1 : tensor<2x4x6x6xf32>, tensor<2x4x1x1xf32>) outs(%broadcasted : tensor<2x2x6x6xf32>) -> tensor<2x2x6x6xf32>
    %18 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%17 : tensor<2x2x6x6xf32>) outs(%16 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.subf %in, %cst_5 : f32
      linalg.yield %66 : f32
    } -> tensor<2x2x6x6xf32>
    %19 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%18 : tensor<2x2x6x6xf32>) outs(%16 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = math.fpowi %in, %c2_i64 : f32, i64
      linalg.yield %66 : f32
    } -> tensor<2x2x6x6xf32>
    %20 = tensor.empty() : tensor<f32>
    %21 = linalg.fill ins(%cst : f32) outs(%20 : tensor<f32>) -> tensor<f32>
    %22 = linalg.generic {indexing_maps = [#map, #map2], iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%19 : tensor<2x2x6x6xf32>) outs(%21 : tensor<f32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.addf %in, %out : f32
      linalg.yield %66 : f32
    } -> tensor<f32>
    %23 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%18 : tensor<2x2x6x6xf32>) outs(%16 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = math.fpowi %in, %c1_i64 : f32, i64
      linalg.yield %66 : f32
    } -> tensor<2x2x6x6xf32>
    %24 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%23 : tensor<2x2x6x6xf32>) outs(%16 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.mulf %in, %cst_6 : f32
      linalg.yield %66 : f32
    } -> tensor<2x2x6x6xf32>
    %25 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%cst_1, %24 : tensor<2x2x6x6xf32>, tensor<2x2x6x6xf32>) outs(%16 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %in_14: f32, %out: f32):
      %66 = arith.mulf %in, %in_14 : f32
      linalg.yield %66 : f32
    } -> tensor<2x2x6x6xf32>
    %26 = tensor.empty() : tensor<4x2x1x1xf32>
    %27 = linalg.fill ins(%cst : f32) outs(%26 : tensor<4x2x1x1xf32>) -> tensor<4x2x1x1xf32>
    %28 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%27 : tensor<4x2x1x1xf32>) {
    ^bb0(%out: f32):
      %66 = linalg.index 0 : index
      %67 = linalg.index 1 : index
      %extracted = tensor.extract %arg1[%67, %66, %c0, %c0] : tensor<2x4x1x1xf32>
      linalg.yield %extracted : f32
    } -> tensor<4x2x1x1xf32>
    %29 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%25, %28 : tensor<2x2x6x6xf32>, tensor<4x2x1x1xf32>) outs(%1 : tensor<2x4x6x6xf32>) -> tensor<2x4x6x6xf32>
    %30 = tensor.empty() : tensor<4x2x6x6xf32>
    %transposed = linalg.transpose ins(%15 : tensor<2x4x6x6xf32>) outs(%30 : tensor<4x2x6x6xf32>) permutation = [1, 0, 2, 3] 
    %transposed_7 = linalg.transpose ins(%25 : tensor<2x2x6x6xf32>) outs(%16 : tensor<2x2x6x6xf32>) permutation = [1, 0, 2, 3] 
    %31 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%transposed, %transposed_7 : tensor<4x2x6x6xf32>, tensor<2x2x6x6xf32>) outs(%27 : tensor<4x2x1x1xf32>) -> tensor<4x2x1x1xf32>
    %32 = tensor.empty() : tensor<2x4x1x1xf32>
    %transposed_8 = linalg.transpose ins(%31 : tensor<4x2x1x1xf32>) outs(%32 : tensor<2x4x1x1xf32>) permutation = [1, 0, 2, 3] 
    %33 = tensor.empty() : tensor<2xf32>
    %34 = linalg.fill ins(%cst : f32) outs(%33 : tensor<2xf32>) -> tensor<2xf32>
    %35 = linalg.generic {indexing_maps = [#map, #map3], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%25 : tensor<2x2x6x6xf32>) outs(%34 : tensor<2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.addf %in, %out : f32
      linalg.yield %66 : f32
    } -> tensor<2xf32>
    %36 = tensor.empty() : tensor<2x4x6x6xi1>
    %37 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%15 : tensor<2x4x6x6xf32>) outs(%36 : tensor<2x4x6x6xi1>) {
    ^bb0(%in: f32, %out: i1):
      %66 = arith.cmpf ole, %in, %cst : f32
      linalg.yield %66 : i1
    } -> tensor<2x4x6x6xi1>
    %38 = linalg.generic {indexing_maps = [#map, #map2, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%37, %cst_0, %29 : tensor<2x4x6x6xi1>, tensor<f32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: i1, %in_14: f32, %in_15: f32, %out: f32):
      %66 = arith.select %in, %in_14, %in_15 : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %39 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%14, %13 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_14: f32, %out: f32):
      %66 = arith.divf %in, %in_14 : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %40 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%38 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.negf %in : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %41 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%40, %39 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_14: f32, %out: f32):
      %66 = arith.mulf %in, %in_14 : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %42 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%38, %13 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_14: f32, %out: f32):
      %66 = arith.divf %in, %in_14 : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %43 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%41 : tensor<2x4x6x6xf32>) outs(%5 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.addf %in, %out : f32
      linalg.yield %66 : f32
    } -> tensor<1x4x1x1xf32>
    %44 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%12 : tensor<1x4x1x1xf32>) outs(%4 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.mulf %in, %cst_6 : f32
      linalg.yield %66 : f32
    } -> tensor<1x4x1x1xf32>
    %45 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%43, %44 : tensor<1x4x1x1xf32>, tensor<1x4x1x1xf32>) outs(%4 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %in_14: f32, %out: f32):
      %66 = arith.divf %in, %in_14 : f32
      linalg.yield %66 : f32
    } -> tensor<1x4x1x1xf32>
    %46 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%42 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.negf %in : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %47 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%46 : tensor<2x4x6x6xf32>) outs(%5 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.addf %in, %out : f32
      linalg.yield %66 : f32
    } -> tensor<1x4x1x1xf32>
    %collapsed = tensor.collapse_shape %45 [[0, 1, 2, 3]] : tensor<1x4x1x1xf32> into tensor<4xf32>
    %48 = linalg.generic {indexing_maps = [#map3, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%collapsed : tensor<4xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<2x4x6x6xf32>
    %49 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%48 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.divf %in, %cst_4 : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %50 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%8 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = math.fpowi %in, %c1_i64 : f32, i64
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %51 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%50 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.mulf %in, %cst_6 : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %52 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%49, %51 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_14: f32, %out: f32):
      %66 = arith.mulf %in, %in_14 : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %53 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%52 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.negf %in : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %54 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%53 : tensor<2x4x6x6xf32>) outs(%5 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.addf %in, %out : f32
      linalg.yield %66 : f32
    } -> tensor<1x4x1x1xf32>
    %55 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%42, %52 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_14: f32, %out: f32):
      %66 = arith.addf %in, %in_14 : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %56 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%47, %54 : tensor<1x4x1x1xf32>, tensor<1x4x1x1xf32>) outs(%4 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %in_14: f32, %out: f32):
      %66 = arith.addf %in, %in_14 : f32
      linalg.yield %66 : f32
    } -> tensor<1x4x1x1xf32>
    %collapsed_9 = tensor.collapse_shape %56 [[0, 1, 2, 3]] : tensor<1x4x1x1xf32> into tensor<4xf32>
    %57 = linalg.generic {indexing_maps = [#map3, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%collapsed_9 : tensor<4xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<2x4x6x6xf32>
    %58 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%57 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.divf %in, %cst_4 : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %59 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%55, %58 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_14: f32, %out: f32):
      %66 = arith.addf %in, %in_14 : f32
      linalg.yield %66 : f32
    } -> tensor<2x4x6x6xf32>
    %60 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%59 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %66 = arith.truncf %cst_3 : f64 to f32
      %67 = arith.mulf %in, %66 : f32
      linalg.yield %67 : f32
    } -> tensor<2x4x6x6xf32>
    %61 = tensor.empty() : tensor<3x2x6x6xf32>
    %transposed_10 = linalg.transpose ins(%arg3 : tensor<2x3x6x6xf32>) outs(%61 : tensor<3x2x6x6xf32>) permutation = [1, 0, 2, 3] 
    %transposed_11 = linalg.transpose ins(%60 : tensor<2x4x6x6xf32>) outs(%30 : tensor<4x2x6x6xf32>) permutation = [1, 0, 2, 3] 
    %padded_12 = tensor.pad %transposed_10 low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%arg4: index, %arg5: index, %arg6: index, %arg7: index):
      tensor.yield %cst : f32
    } : tensor<3x2x6x6xf32> to tensor<3x2x8x8xf32>
    %62 = tensor.empty() : tensor<3x4x3x3xf32>
    %63 = linalg.fill ins(%cst : f32) outs(%62 : tensor<3x4x3x3xf32>) -> tensor<3x4x3x3xf32>
    %64 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%padded_12, %transposed_11 : tensor<3x2x8x8xf32>, tensor<4x2x6x6xf32>) outs(%63 : tensor<3x4x3x3xf32>) -> tensor<3x4x3x3xf32>
    %65 = tensor.empty() : tensor<4x3x3x3xf32>
    %transposed_13 = linalg.transpose ins(%64 : tensor<3x4x3x3xf32>) outs(%65 : tensor<4x3x3x3xf32>) permutation = [1, 0, 2, 3] 
    return %22, %transposed_13, %transposed_8, %35 : tensor<f32>, tensor<4x3x3x3xf32>, tensor<2x4x1x1xf32>, tensor<2xf32>
  }
}
