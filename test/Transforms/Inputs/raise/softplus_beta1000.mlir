// Sequential(
//   (0): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
//   (1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
//   (2): Softplus(beta=1000.0, threshold=20.0)
//   (3): Conv2d(4, 2, kernel_size=(1, 1), stride=(1, 1))
// )
#map = affine_map<() -> ()>
#map1 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (0, d1, 0, 0)>
#map3 = affine_map<(d0) -> (d0)>
#map4 = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>
#map5 = affine_map<(d0, d1, d2, d3) -> ()>
#map6 = affine_map<(d0, d1, d2, d3) -> (d1)>
module {
  func.func @main(%arg0: tensor<4x3x3x3xf32>, %arg1: tensor<4xf32>, %arg2: tensor<4xf32>, %arg3: tensor<2x4x1x1xf32>, %arg4: tensor<2xf32>, %arg5: tensor<4xf32>, %arg6: tensor<4xf32>, %arg7: tensor<i64>, %arg8: tensor<2x3x6x6xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>, tensor<4x3x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x4x1x1xf32>, tensor<2xf32>) {
    %c2_i64 = arith.constant 2 : i64
    %c1_i64 = arith.constant 1 : i64
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 0.000000e+00 : f64
    %cst_1 = arith.constant dense<1.000000e+00> : tensor<2x2x6x6xf32>
    %cst_2 = arith.constant 0.013888888888888888 : f64
    %cst_3 = arith.constant 2.000000e+01 : f64
    %cst_4 = arith.constant 1.0140845070422535 : f64
    %cst_5 = arith.constant 9.000000e-01 : f64
    %cst_6 = arith.constant 1.000000e-01 : f64
    %cst_7 = arith.constant 1.000000e-05 : f64
    %cst_8 = arith.constant 7.200000e+01 : f64
    %cst_9 = arith.constant 7.200000e+01 : f32
    %cst_10 = arith.constant 1.000000e+03 : f32
    %cst_11 = arith.constant 5.000000e-01 : f32
    %cst_12 = arith.constant 2.000000e+00 : f32
    %c0 = arith.constant 0 : index
    %cst_13 = arith.constant 1.000000e+00 : f32
    %padded = tensor.pad %arg8 low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%arg9: index, %arg10: index, %arg11: index, %arg12: index):
      tensor.yield %cst : f32
    } : tensor<2x3x6x6xf32> to tensor<2x3x8x8xf32>
    %0 = tensor.empty() : tensor<2x4x6x6xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x4x6x6xf32>) -> tensor<2x4x6x6xf32>
    %2 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%padded, %arg0 : tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%1 : tensor<2x4x6x6xf32>) -> tensor<2x4x6x6xf32>
    %3 = tensor.empty() : tensor<i64>
    %4 = linalg.generic {indexing_maps = [#map, #map], iterator_types = []} ins(%arg7 : tensor<i64>) outs(%3 : tensor<i64>) {
    ^bb0(%in: i64, %out: i64):
      %84 = arith.addi %in, %c1_i64 : i64
      linalg.yield %84 : i64
    } -> tensor<i64>
    %5 = tensor.empty() : tensor<2x4x6x6xf64>
    %6 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%2 : tensor<2x4x6x6xf32>) outs(%5 : tensor<2x4x6x6xf64>) {
    ^bb0(%in: f32, %out: f64):
      %84 = arith.extf %in : f32 to f64
      linalg.yield %84 : f64
    } -> tensor<2x4x6x6xf64>
    %7 = tensor.empty() : tensor<1x4x1x1xf64>
    %8 = linalg.fill ins(%cst_0 : f64) outs(%7 : tensor<1x4x1x1xf64>) -> tensor<1x4x1x1xf64>
    %9 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%6 : tensor<2x4x6x6xf64>) outs(%8 : tensor<1x4x1x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %84 = arith.addf %in, %out : f64
      linalg.yield %84 : f64
    } -> tensor<1x4x1x1xf64>
    %10 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%9 : tensor<1x4x1x1xf64>) outs(%7 : tensor<1x4x1x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %84 = arith.divf %in, %cst_8 : f64
      linalg.yield %84 : f64
    } -> tensor<1x4x1x1xf64>
    %11 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%6, %10 : tensor<2x4x6x6xf64>, tensor<1x4x1x1xf64>) outs(%5 : tensor<2x4x6x6xf64>) {
    ^bb0(%in: f64, %in_26: f64, %out: f64):
      %84 = arith.subf %in, %in_26 : f64
      linalg.yield %84 : f64
    } -> tensor<2x4x6x6xf64>
    %12 = linalg.generic {indexing_maps = [#map1, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%11, %11 : tensor<2x4x6x6xf64>, tensor<2x4x6x6xf64>) outs(%5 : tensor<2x4x6x6xf64>) {
    ^bb0(%in: f64, %in_26: f64, %out: f64):
      %84 = arith.mulf %in, %in_26 : f64
      linalg.yield %84 : f64
    } -> tensor<2x4x6x6xf64>
    %13 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%12 : tensor<2x4x6x6xf64>) outs(%8 : tensor<1x4x1x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %84 = arith.addf %in, %out : f64
      linalg.yield %84 : f64
    } -> tensor<1x4x1x1xf64>
    %14 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%13 : tensor<1x4x1x1xf64>) outs(%7 : tensor<1x4x1x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %84 = arith.divf %in, %cst_8 : f64
      linalg.yield %84 : f64
    } -> tensor<1x4x1x1xf64>
    %15 = tensor.empty() : tensor<1x4x1x1xf32>
    %16 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%14 : tensor<1x4x1x1xf64>) outs(%15 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f64, %out: f32):
      %84 = arith.truncf %in : f64 to f32
      linalg.yield %84 : f32
    } -> tensor<1x4x1x1xf32>
    %17 = linalg.fill ins(%cst : f32) outs(%15 : tensor<1x4x1x1xf32>) -> tensor<1x4x1x1xf32>
    %18 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%2 : tensor<2x4x6x6xf32>) outs(%17 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.addf %in, %out : f32
      linalg.yield %84 : f32
    } -> tensor<1x4x1x1xf32>
    %19 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%18 : tensor<1x4x1x1xf32>) outs(%15 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.divf %in, %cst_9 : f32
      linalg.yield %84 : f32
    } -> tensor<1x4x1x1xf32>
    %20 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%16 : tensor<1x4x1x1xf32>) outs(%15 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.truncf %cst_7 : f64 to f32
      %85 = arith.addf %in, %84 : f32
      linalg.yield %85 : f32
    } -> tensor<1x4x1x1xf32>
    %21 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%20 : tensor<1x4x1x1xf32>) outs(%15 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = math.rsqrt %in : f32
      linalg.yield %84 : f32
    } -> tensor<1x4x1x1xf32>
    %22 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%2, %19 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.subf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %23 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%22, %21 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.mulf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %collapsed = tensor.collapse_shape %19 [[0, 1, 2, 3]] : tensor<1x4x1x1xf32> into tensor<4xf32>
    %collapsed_14 = tensor.collapse_shape %21 [[0, 1, 2, 3]] : tensor<1x4x1x1xf32> into tensor<4xf32>
    %24 = tensor.empty() : tensor<4xf32>
    %25 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%collapsed : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.truncf %cst_6 : f64 to f32
      %85 = arith.mulf %in, %84 : f32
      linalg.yield %85 : f32
    } -> tensor<4xf32>
    %26 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%arg5 : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.truncf %cst_5 : f64 to f32
      %85 = arith.mulf %in, %84 : f32
      linalg.yield %85 : f32
    } -> tensor<4xf32>
    %27 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%25, %26 : tensor<4xf32>, tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.addf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<4xf32>
    %collapsed_15 = tensor.collapse_shape %16 [[0, 1, 2, 3]] : tensor<1x4x1x1xf32> into tensor<4xf32>
    %28 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%collapsed_15 : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.truncf %cst_4 : f64 to f32
      %85 = arith.mulf %in, %84 : f32
      linalg.yield %85 : f32
    } -> tensor<4xf32>
    %29 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%28 : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.truncf %cst_6 : f64 to f32
      %85 = arith.mulf %in, %84 : f32
      linalg.yield %85 : f32
    } -> tensor<4xf32>
    %30 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%arg6 : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.truncf %cst_5 : f64 to f32
      %85 = arith.mulf %in, %84 : f32
      linalg.yield %85 : f32
    } -> tensor<4xf32>
    %31 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%29, %30 : tensor<4xf32>, tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.addf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<4xf32>
    %expanded = tensor.expand_shape %arg1 [[0, 1, 2]] output_shape [4, 1, 1] : tensor<4xf32> into tensor<4x1x1xf32>
    %32 = linalg.generic {indexing_maps = [#map1, #map4, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%23, %expanded : tensor<2x4x6x6xf32>, tensor<4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.mulf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %expanded_16 = tensor.expand_shape %arg2 [[0, 1, 2]] output_shape [4, 1, 1] : tensor<4xf32> into tensor<4x1x1xf32>
    %33 = linalg.generic {indexing_maps = [#map1, #map4, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%32, %expanded_16 : tensor<2x4x6x6xf32>, tensor<4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.addf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %34 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%33 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.mulf %in, %cst_10 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %35 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%34 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = math.exp %in : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %36 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%35 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = math.log1p %in : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %37 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%36 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.divf %in, %cst_10 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %38 = tensor.empty() : tensor<2x4x6x6xi1>
    %39 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%34 : tensor<2x4x6x6xf32>) outs(%38 : tensor<2x4x6x6xi1>) {
    ^bb0(%in: f32, %out: i1):
      %84 = arith.extf %in : f32 to f64
      %85 = arith.cmpf ogt, %84, %cst_3 : f64
      linalg.yield %85 : i1
    } -> tensor<2x4x6x6xi1>
    %40 = linalg.generic {indexing_maps = [#map1, #map1, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%39, %33, %37 : tensor<2x4x6x6xi1>, tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: i1, %in_26: f32, %in_27: f32, %out: f32):
      %84 = arith.select %in, %in_26, %in_27 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %41 = tensor.empty() : tensor<2x2x6x6xf32>
    %broadcasted = linalg.broadcast ins(%arg4 : tensor<2xf32>) outs(%41 : tensor<2x2x6x6xf32>) dimensions = [0, 2, 3] 
    %42 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%40, %arg3 : tensor<2x4x6x6xf32>, tensor<2x4x1x1xf32>) outs(%broadcasted : tensor<2x2x6x6xf32>) -> tensor<2x2x6x6xf32>
    %43 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%42 : tensor<2x2x6x6xf32>) outs(%41 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.subf %in, %cst_11 : f32
      linalg.yield %84 : f32
    } -> tensor<2x2x6x6xf32>
    %44 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%43 : tensor<2x2x6x6xf32>) outs(%41 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = math.fpowi %in, %c2_i64 : f32, i64
      linalg.yield %84 : f32
    } -> tensor<2x2x6x6xf32>
    %45 = tensor.empty() : tensor<f32>
    %46 = linalg.fill ins(%cst : f32) outs(%45 : tensor<f32>) -> tensor<f32>
    %47 = linalg.generic {indexing_maps = [#map1, #map5], iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%44 : tensor<2x2x6x6xf32>) outs(%46 : tensor<f32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.addf %in, %out : f32
      linalg.yield %84 : f32
    } -> tensor<f32>
    %48 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%43 : tensor<2x2x6x6xf32>) outs(%41 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = math.fpowi %in, %c1_i64 : f32, i64
      linalg.yield %84 : f32
    } -> tensor<2x2x6x6xf32>
    %49 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%48 : tensor<2x2x6x6xf32>) outs(%41 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.mulf %in, %cst_12 : f32
      linalg.yield %84 : f32
    } -> tensor<2x2x6x6xf32>
    %50 = linalg.generic {indexing_maps = [#map1, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%cst_1, %49 : tensor<2x2x6x6xf32>, tensor<2x2x6x6xf32>) outs(%41 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.mulf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<2x2x6x6xf32>
    %51 = tensor.empty() : tensor<4x2x1x1xf32>
    %52 = linalg.fill ins(%cst : f32) outs(%51 : tensor<4x2x1x1xf32>) -> tensor<4x2x1x1xf32>
    %53 = linalg.generic {indexing_maps = [#map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%52 : tensor<4x2x1x1xf32>) {
    ^bb0(%out: f32):
      %84 = linalg.index 0 : index
      %85 = linalg.index 1 : index
      %extracted = tensor.extract %arg3[%85, %84, %c0, %c0] : tensor<2x4x1x1xf32>
      linalg.yield %extracted : f32
    } -> tensor<4x2x1x1xf32>
    %54 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%50, %53 : tensor<2x2x6x6xf32>, tensor<4x2x1x1xf32>) outs(%1 : tensor<2x4x6x6xf32>) -> tensor<2x4x6x6xf32>
    %55 = tensor.empty() : tensor<4x2x6x6xf32>
    %transposed = linalg.transpose ins(%40 : tensor<2x4x6x6xf32>) outs(%55 : tensor<4x2x6x6xf32>) permutation = [1, 0, 2, 3] 
    %transposed_17 = linalg.transpose ins(%50 : tensor<2x2x6x6xf32>) outs(%41 : tensor<2x2x6x6xf32>) permutation = [1, 0, 2, 3] 
    %56 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%transposed, %transposed_17 : tensor<4x2x6x6xf32>, tensor<2x2x6x6xf32>) outs(%52 : tensor<4x2x1x1xf32>) -> tensor<4x2x1x1xf32>
    %57 = tensor.empty() : tensor<2x4x1x1xf32>
    %transposed_18 = linalg.transpose ins(%56 : tensor<4x2x1x1xf32>) outs(%57 : tensor<2x4x1x1xf32>) permutation = [1, 0, 2, 3] 
    %58 = tensor.empty() : tensor<2xf32>
    %59 = linalg.fill ins(%cst : f32) outs(%58 : tensor<2xf32>) -> tensor<2xf32>
    %60 = linalg.generic {indexing_maps = [#map1, #map6], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%50 : tensor<2x2x6x6xf32>) outs(%59 : tensor<2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.addf %in, %out : f32
      linalg.yield %84 : f32
    } -> tensor<2xf32>
    %61 = linalg.generic {indexing_maps = [#map1, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%54, %35 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.mulf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %62 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%35 : tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.addf %in, %cst_13 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %63 = linalg.generic {indexing_maps = [#map1, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%61, %62 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.divf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %64 = linalg.generic {indexing_maps = [#map1, #map1, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%39, %54, %63 : tensor<2x4x6x6xi1>, tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: i1, %in_26: f32, %in_27: f32, %out: f32):
      %84 = arith.select %in, %in_26, %in_27 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %65 = linalg.fill ins(%cst : f32) outs(%24 : tensor<4xf32>) -> tensor<4xf32>
    %66 = linalg.generic {indexing_maps = [#map1, #map6], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%64 : tensor<2x4x6x6xf32>) outs(%65 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.addf %in, %out : f32
      linalg.yield %84 : f32
    } -> tensor<4xf32>
    %67 = linalg.generic {indexing_maps = [#map1, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%64, %22 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.mulf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %68 = linalg.generic {indexing_maps = [#map1, #map6], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%67 : tensor<2x4x6x6xf32>) outs(%65 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.addf %in, %out : f32
      linalg.yield %84 : f32
    } -> tensor<4xf32>
    %69 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%66 : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.truncf %cst_2 : f64 to f32
      %85 = arith.mulf %in, %84 : f32
      linalg.yield %85 : f32
    } -> tensor<4xf32>
    %expanded_19 = tensor.expand_shape %69 [[0, 1, 2, 3]] output_shape [1, 4, 1, 1] : tensor<4xf32> into tensor<1x4x1x1xf32>
    %70 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%68 : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %84 = arith.truncf %cst_2 : f64 to f32
      %85 = arith.mulf %in, %84 : f32
      linalg.yield %85 : f32
    } -> tensor<4xf32>
    %71 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%collapsed_14, %collapsed_14 : tensor<4xf32>, tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.mulf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<4xf32>
    %72 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%70, %71 : tensor<4xf32>, tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.mulf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<4xf32>
    %expanded_20 = tensor.expand_shape %72 [[0, 1, 2, 3]] output_shape [1, 4, 1, 1] : tensor<4xf32> into tensor<1x4x1x1xf32>
    %73 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%collapsed_14, %arg1 : tensor<4xf32>, tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.mulf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<4xf32>
    %expanded_21 = tensor.expand_shape %73 [[0, 1, 2, 3]] output_shape [1, 4, 1, 1] : tensor<4xf32> into tensor<1x4x1x1xf32>
    %74 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%22, %expanded_20 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.mulf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %75 = linalg.generic {indexing_maps = [#map1, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%64, %74 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.subf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %76 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%75, %expanded_19 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.subf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %77 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%76, %expanded_21 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.mulf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<2x4x6x6xf32>
    %78 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%68, %collapsed_14 : tensor<4xf32>, tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %in_26: f32, %out: f32):
      %84 = arith.mulf %in, %in_26 : f32
      linalg.yield %84 : f32
    } -> tensor<4xf32>
    %79 = tensor.empty() : tensor<3x2x6x6xf32>
    %transposed_22 = linalg.transpose ins(%arg8 : tensor<2x3x6x6xf32>) outs(%79 : tensor<3x2x6x6xf32>) permutation = [1, 0, 2, 3] 
    %transposed_23 = linalg.transpose ins(%77 : tensor<2x4x6x6xf32>) outs(%55 : tensor<4x2x6x6xf32>) permutation = [1, 0, 2, 3] 
    %padded_24 = tensor.pad %transposed_22 low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%arg9: index, %arg10: index, %arg11: index, %arg12: index):
      tensor.yield %cst : f32
    } : tensor<3x2x6x6xf32> to tensor<3x2x8x8xf32>
    %80 = tensor.empty() : tensor<3x4x3x3xf32>
    %81 = linalg.fill ins(%cst : f32) outs(%80 : tensor<3x4x3x3xf32>) -> tensor<3x4x3x3xf32>
    %82 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%padded_24, %transposed_23 : tensor<3x2x8x8xf32>, tensor<4x2x6x6xf32>) outs(%81 : tensor<3x4x3x3xf32>) -> tensor<3x4x3x3xf32>
    %83 = tensor.empty() : tensor<4x3x3x3xf32>
    %transposed_25 = linalg.transpose ins(%82 : tensor<3x4x3x3xf32>) outs(%83 : tensor<4x3x3x3xf32>) permutation = [1, 0, 2, 3] 
    return %27, %31, %4, %47, %transposed_25, %78, %66, %transposed_18, %60 : tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>, tensor<4x3x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x4x1x1xf32>, tensor<2xf32>
  }
}
