// Sequential(
//   (0): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
//   (1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
//   (2): Threshold(threshold=0.02, value=0.0)
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
    %cst_2 = arith.constant dense<0.000000e+00> : tensor<f32>
    %cst_3 = arith.constant 0.013888888888888888 : f64
    %cst_4 = arith.constant 2.000000e-02 : f64
    %cst_5 = arith.constant 1.0140845070422535 : f64
    %cst_6 = arith.constant 9.000000e-01 : f64
    %cst_7 = arith.constant 1.000000e-01 : f64
    %cst_8 = arith.constant 1.000000e-05 : f64
    %cst_9 = arith.constant 7.200000e+01 : f64
    %cst_10 = arith.constant 7.200000e+01 : f32
    %cst_11 = arith.constant 5.000000e-01 : f32
    %cst_12 = arith.constant 2.000000e+00 : f32
    %c0 = arith.constant 0 : index
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
      %77 = arith.addi %in, %c1_i64 : i64
      linalg.yield %77 : i64
    } -> tensor<i64>
    %5 = tensor.empty() : tensor<2x4x6x6xf64>
    %6 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%2 : tensor<2x4x6x6xf32>) outs(%5 : tensor<2x4x6x6xf64>) {
    ^bb0(%in: f32, %out: f64):
      %77 = arith.extf %in : f32 to f64
      linalg.yield %77 : f64
    } -> tensor<2x4x6x6xf64>
    %7 = tensor.empty() : tensor<1x4x1x1xf64>
    %8 = linalg.fill ins(%cst_0 : f64) outs(%7 : tensor<1x4x1x1xf64>) -> tensor<1x4x1x1xf64>
    %9 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%6 : tensor<2x4x6x6xf64>) outs(%8 : tensor<1x4x1x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %77 = arith.addf %in, %out : f64
      linalg.yield %77 : f64
    } -> tensor<1x4x1x1xf64>
    %10 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%9 : tensor<1x4x1x1xf64>) outs(%7 : tensor<1x4x1x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %77 = arith.divf %in, %cst_9 : f64
      linalg.yield %77 : f64
    } -> tensor<1x4x1x1xf64>
    %11 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%6, %10 : tensor<2x4x6x6xf64>, tensor<1x4x1x1xf64>) outs(%5 : tensor<2x4x6x6xf64>) {
    ^bb0(%in: f64, %in_25: f64, %out: f64):
      %77 = arith.subf %in, %in_25 : f64
      linalg.yield %77 : f64
    } -> tensor<2x4x6x6xf64>
    %12 = linalg.generic {indexing_maps = [#map1, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%11, %11 : tensor<2x4x6x6xf64>, tensor<2x4x6x6xf64>) outs(%5 : tensor<2x4x6x6xf64>) {
    ^bb0(%in: f64, %in_25: f64, %out: f64):
      %77 = arith.mulf %in, %in_25 : f64
      linalg.yield %77 : f64
    } -> tensor<2x4x6x6xf64>
    %13 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%12 : tensor<2x4x6x6xf64>) outs(%8 : tensor<1x4x1x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %77 = arith.addf %in, %out : f64
      linalg.yield %77 : f64
    } -> tensor<1x4x1x1xf64>
    %14 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%13 : tensor<1x4x1x1xf64>) outs(%7 : tensor<1x4x1x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %77 = arith.divf %in, %cst_9 : f64
      linalg.yield %77 : f64
    } -> tensor<1x4x1x1xf64>
    %15 = tensor.empty() : tensor<1x4x1x1xf32>
    %16 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%14 : tensor<1x4x1x1xf64>) outs(%15 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f64, %out: f32):
      %77 = arith.truncf %in : f64 to f32
      linalg.yield %77 : f32
    } -> tensor<1x4x1x1xf32>
    %17 = linalg.fill ins(%cst : f32) outs(%15 : tensor<1x4x1x1xf32>) -> tensor<1x4x1x1xf32>
    %18 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%2 : tensor<2x4x6x6xf32>) outs(%17 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.addf %in, %out : f32
      linalg.yield %77 : f32
    } -> tensor<1x4x1x1xf32>
    %19 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%18 : tensor<1x4x1x1xf32>) outs(%15 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.divf %in, %cst_10 : f32
      linalg.yield %77 : f32
    } -> tensor<1x4x1x1xf32>
    %20 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%16 : tensor<1x4x1x1xf32>) outs(%15 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.truncf %cst_8 : f64 to f32
      %78 = arith.addf %in, %77 : f32
      linalg.yield %78 : f32
    } -> tensor<1x4x1x1xf32>
    %21 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%20 : tensor<1x4x1x1xf32>) outs(%15 : tensor<1x4x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = math.rsqrt %in : f32
      linalg.yield %77 : f32
    } -> tensor<1x4x1x1xf32>
    %22 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%2, %19 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.subf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<2x4x6x6xf32>
    %23 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%22, %21 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.mulf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<2x4x6x6xf32>
    %collapsed = tensor.collapse_shape %19 [[0, 1, 2, 3]] : tensor<1x4x1x1xf32> into tensor<4xf32>
    %collapsed_13 = tensor.collapse_shape %21 [[0, 1, 2, 3]] : tensor<1x4x1x1xf32> into tensor<4xf32>
    %24 = tensor.empty() : tensor<4xf32>
    %25 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%collapsed : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.truncf %cst_7 : f64 to f32
      %78 = arith.mulf %in, %77 : f32
      linalg.yield %78 : f32
    } -> tensor<4xf32>
    %26 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%arg5 : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.truncf %cst_6 : f64 to f32
      %78 = arith.mulf %in, %77 : f32
      linalg.yield %78 : f32
    } -> tensor<4xf32>
    %27 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%25, %26 : tensor<4xf32>, tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.addf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<4xf32>
    %collapsed_14 = tensor.collapse_shape %16 [[0, 1, 2, 3]] : tensor<1x4x1x1xf32> into tensor<4xf32>
    %28 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%collapsed_14 : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.truncf %cst_5 : f64 to f32
      %78 = arith.mulf %in, %77 : f32
      linalg.yield %78 : f32
    } -> tensor<4xf32>
    %29 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%28 : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.truncf %cst_7 : f64 to f32
      %78 = arith.mulf %in, %77 : f32
      linalg.yield %78 : f32
    } -> tensor<4xf32>
    %30 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%arg6 : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.truncf %cst_6 : f64 to f32
      %78 = arith.mulf %in, %77 : f32
      linalg.yield %78 : f32
    } -> tensor<4xf32>
    %31 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%29, %30 : tensor<4xf32>, tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.addf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<4xf32>
    %expanded = tensor.expand_shape %arg1 [[0, 1, 2]] output_shape [4, 1, 1] : tensor<4xf32> into tensor<4x1x1xf32>
    %32 = linalg.generic {indexing_maps = [#map1, #map4, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%23, %expanded : tensor<2x4x6x6xf32>, tensor<4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.mulf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<2x4x6x6xf32>
    %expanded_15 = tensor.expand_shape %arg2 [[0, 1, 2]] output_shape [4, 1, 1] : tensor<4xf32> into tensor<4x1x1xf32>
    %33 = linalg.generic {indexing_maps = [#map1, #map4, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%32, %expanded_15 : tensor<2x4x6x6xf32>, tensor<4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.addf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<2x4x6x6xf32>
    %34 = tensor.empty() : tensor<2x4x6x6xi1>
    %35 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%33 : tensor<2x4x6x6xf32>) outs(%34 : tensor<2x4x6x6xi1>) {
    ^bb0(%in: f32, %out: i1):
      %77 = arith.extf %in : f32 to f64
      %78 = arith.cmpf ole, %77, %cst_4 : f64
      linalg.yield %78 : i1
    } -> tensor<2x4x6x6xi1>
    %36 = linalg.generic {indexing_maps = [#map1, #map5, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%35, %cst_2, %33 : tensor<2x4x6x6xi1>, tensor<f32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: i1, %in_25: f32, %in_26: f32, %out: f32):
      %77 = arith.select %in, %in_25, %in_26 : f32
      linalg.yield %77 : f32
    } -> tensor<2x4x6x6xf32>
    %37 = tensor.empty() : tensor<2x2x6x6xf32>
    %broadcasted = linalg.broadcast ins(%arg4 : tensor<2xf32>) outs(%37 : tensor<2x2x6x6xf32>) dimensions = [0, 2, 3] 
    %38 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%36, %arg3 : tensor<2x4x6x6xf32>, tensor<2x4x1x1xf32>) outs(%broadcasted : tensor<2x2x6x6xf32>) -> tensor<2x2x6x6xf32>
    %39 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%38 : tensor<2x2x6x6xf32>) outs(%37 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.subf %in, %cst_11 : f32
      linalg.yield %77 : f32
    } -> tensor<2x2x6x6xf32>
    %40 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%39 : tensor<2x2x6x6xf32>) outs(%37 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = math.fpowi %in, %c2_i64 : f32, i64
      linalg.yield %77 : f32
    } -> tensor<2x2x6x6xf32>
    %41 = tensor.empty() : tensor<f32>
    %42 = linalg.fill ins(%cst : f32) outs(%41 : tensor<f32>) -> tensor<f32>
    %43 = linalg.generic {indexing_maps = [#map1, #map5], iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%40 : tensor<2x2x6x6xf32>) outs(%42 : tensor<f32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.addf %in, %out : f32
      linalg.yield %77 : f32
    } -> tensor<f32>
    %44 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%39 : tensor<2x2x6x6xf32>) outs(%37 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = math.fpowi %in, %c1_i64 : f32, i64
      linalg.yield %77 : f32
    } -> tensor<2x2x6x6xf32>
    %45 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%44 : tensor<2x2x6x6xf32>) outs(%37 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.mulf %in, %cst_12 : f32
      linalg.yield %77 : f32
    } -> tensor<2x2x6x6xf32>
    %46 = linalg.generic {indexing_maps = [#map1, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%cst_1, %45 : tensor<2x2x6x6xf32>, tensor<2x2x6x6xf32>) outs(%37 : tensor<2x2x6x6xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.mulf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<2x2x6x6xf32>
    %47 = tensor.empty() : tensor<4x2x1x1xf32>
    %48 = linalg.fill ins(%cst : f32) outs(%47 : tensor<4x2x1x1xf32>) -> tensor<4x2x1x1xf32>
    %49 = linalg.generic {indexing_maps = [#map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%48 : tensor<4x2x1x1xf32>) {
    ^bb0(%out: f32):
      %77 = linalg.index 0 : index
      %78 = linalg.index 1 : index
      %extracted = tensor.extract %arg3[%78, %77, %c0, %c0] : tensor<2x4x1x1xf32>
      linalg.yield %extracted : f32
    } -> tensor<4x2x1x1xf32>
    %50 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%46, %49 : tensor<2x2x6x6xf32>, tensor<4x2x1x1xf32>) outs(%1 : tensor<2x4x6x6xf32>) -> tensor<2x4x6x6xf32>
    %51 = tensor.empty() : tensor<4x2x6x6xf32>
    %transposed = linalg.transpose ins(%36 : tensor<2x4x6x6xf32>) outs(%51 : tensor<4x2x6x6xf32>) permutation = [1, 0, 2, 3] 
    %transposed_16 = linalg.transpose ins(%46 : tensor<2x2x6x6xf32>) outs(%37 : tensor<2x2x6x6xf32>) permutation = [1, 0, 2, 3] 
    %52 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%transposed, %transposed_16 : tensor<4x2x6x6xf32>, tensor<2x2x6x6xf32>) outs(%48 : tensor<4x2x1x1xf32>) -> tensor<4x2x1x1xf32>
    %53 = tensor.empty() : tensor<2x4x1x1xf32>
    %transposed_17 = linalg.transpose ins(%52 : tensor<4x2x1x1xf32>) outs(%53 : tensor<2x4x1x1xf32>) permutation = [1, 0, 2, 3] 
    %54 = tensor.empty() : tensor<2xf32>
    %55 = linalg.fill ins(%cst : f32) outs(%54 : tensor<2xf32>) -> tensor<2xf32>
    %56 = linalg.generic {indexing_maps = [#map1, #map6], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%46 : tensor<2x2x6x6xf32>) outs(%55 : tensor<2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.addf %in, %out : f32
      linalg.yield %77 : f32
    } -> tensor<2xf32>
    %57 = linalg.generic {indexing_maps = [#map1, #map5, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%35, %cst_2, %50 : tensor<2x4x6x6xi1>, tensor<f32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: i1, %in_25: f32, %in_26: f32, %out: f32):
      %77 = arith.select %in, %in_25, %in_26 : f32
      linalg.yield %77 : f32
    } -> tensor<2x4x6x6xf32>
    %58 = linalg.fill ins(%cst : f32) outs(%24 : tensor<4xf32>) -> tensor<4xf32>
    %59 = linalg.generic {indexing_maps = [#map1, #map6], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%57 : tensor<2x4x6x6xf32>) outs(%58 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.addf %in, %out : f32
      linalg.yield %77 : f32
    } -> tensor<4xf32>
    %60 = linalg.generic {indexing_maps = [#map1, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%57, %22 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.mulf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<2x4x6x6xf32>
    %61 = linalg.generic {indexing_maps = [#map1, #map6], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%60 : tensor<2x4x6x6xf32>) outs(%58 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.addf %in, %out : f32
      linalg.yield %77 : f32
    } -> tensor<4xf32>
    %62 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%59 : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.truncf %cst_3 : f64 to f32
      %78 = arith.mulf %in, %77 : f32
      linalg.yield %78 : f32
    } -> tensor<4xf32>
    %expanded_18 = tensor.expand_shape %62 [[0, 1, 2, 3]] output_shape [1, 4, 1, 1] : tensor<4xf32> into tensor<1x4x1x1xf32>
    %63 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel"]} ins(%61 : tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %77 = arith.truncf %cst_3 : f64 to f32
      %78 = arith.mulf %in, %77 : f32
      linalg.yield %78 : f32
    } -> tensor<4xf32>
    %64 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%collapsed_13, %collapsed_13 : tensor<4xf32>, tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.mulf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<4xf32>
    %65 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%63, %64 : tensor<4xf32>, tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.mulf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<4xf32>
    %expanded_19 = tensor.expand_shape %65 [[0, 1, 2, 3]] output_shape [1, 4, 1, 1] : tensor<4xf32> into tensor<1x4x1x1xf32>
    %66 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%collapsed_13, %arg1 : tensor<4xf32>, tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.mulf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<4xf32>
    %expanded_20 = tensor.expand_shape %66 [[0, 1, 2, 3]] output_shape [1, 4, 1, 1] : tensor<4xf32> into tensor<1x4x1x1xf32>
    %67 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%22, %expanded_19 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.mulf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<2x4x6x6xf32>
    %68 = linalg.generic {indexing_maps = [#map1, #map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%57, %67 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.subf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<2x4x6x6xf32>
    %69 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%68, %expanded_18 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.subf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<2x4x6x6xf32>
    %70 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%69, %expanded_20 : tensor<2x4x6x6xf32>, tensor<1x4x1x1xf32>) outs(%0 : tensor<2x4x6x6xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.mulf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<2x4x6x6xf32>
    %71 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel"]} ins(%61, %collapsed_13 : tensor<4xf32>, tensor<4xf32>) outs(%24 : tensor<4xf32>) {
    ^bb0(%in: f32, %in_25: f32, %out: f32):
      %77 = arith.mulf %in, %in_25 : f32
      linalg.yield %77 : f32
    } -> tensor<4xf32>
    %72 = tensor.empty() : tensor<3x2x6x6xf32>
    %transposed_21 = linalg.transpose ins(%arg8 : tensor<2x3x6x6xf32>) outs(%72 : tensor<3x2x6x6xf32>) permutation = [1, 0, 2, 3] 
    %transposed_22 = linalg.transpose ins(%70 : tensor<2x4x6x6xf32>) outs(%51 : tensor<4x2x6x6xf32>) permutation = [1, 0, 2, 3] 
    %padded_23 = tensor.pad %transposed_21 low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%arg9: index, %arg10: index, %arg11: index, %arg12: index):
      tensor.yield %cst : f32
    } : tensor<3x2x6x6xf32> to tensor<3x2x8x8xf32>
    %73 = tensor.empty() : tensor<3x4x3x3xf32>
    %74 = linalg.fill ins(%cst : f32) outs(%73 : tensor<3x4x3x3xf32>) -> tensor<3x4x3x3xf32>
    %75 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%padded_23, %transposed_22 : tensor<3x2x8x8xf32>, tensor<4x2x6x6xf32>) outs(%74 : tensor<3x4x3x3xf32>) -> tensor<3x4x3x3xf32>
    %76 = tensor.empty() : tensor<4x3x3x3xf32>
    %transposed_24 = linalg.transpose ins(%75 : tensor<3x4x3x3xf32>) outs(%76 : tensor<4x3x3x3xf32>) permutation = [1, 0, 2, 3] 
    return %27, %31, %4, %43, %transposed_24, %71, %59, %transposed_17, %56 : tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>, tensor<4x3x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x4x1x1xf32>, tensor<2xf32>
  }
}
