// RUN: iabn-opt %s --iabn-generate-gpu-kernels="dtypes=f16 activations=elu,relu" | FileCheck %s --check-prefix=LIST
// RUN: iabn-opt %s --iabn-generate-gpu-kernels="dtypes=f16 activations=elu,relu" | FileCheck %s
// RUN: iabn-opt %s --iabn-gpu-pipeline="format=isa" | FileCheck %s --check-prefix=PTX
// RUN: not iabn-opt %s --iabn-generate-gpu-kernels="dtypes=f8" 2>&1 | FileCheck %s --check-prefix=BADTYPE
// RUN: not iabn-opt %s --iabn-generate-gpu-kernels="activations=swish" 2>&1 | FileCheck %s --check-prefix=BADACT

// The kernel library is generated in the gpu dialect.
// LIST: module attributes {gpu.container_module}
// LIST: gpu.module @iabn_kernels
// Per-channel kernels shared by all types.
// LIST-DAG: gpu.func @finalize_stats({{.*}}) workgroup({{.*}}: memref<8xf32, #gpu.address_space<workgroup>>
// LIST-DAG: gpu.func @prepare_inference(
// LIST-DAG: gpu.func @prepare_grad(
// LIST-DAG: gpu.func @finalize_grads(
// Statistics: scalar, planar (16-byte vectors) and channels-last variants.
// LIST-DAG: gpu.func @partial_stats_f16(
// LIST-DAG: gpu.func @partial_stats_planar_f16(
// LIST-DAG: gpu.func @partial_stats_cl_f16(
// LIST-DAG: gpu.func @apply_planar_f16_elu(
// LIST-DAG: gpu.func @apply_cl_f16_relu(
// LIST-DAG: gpu.func @partial_grads_cl_f16_elu(
// LIST-DAG: gpu.func @apply_grad_planar_f16_elu(
// relu is not invertible: forward kernels only.
// LIST-NOT: gpu.func @apply_grad_{{.*}}relu
// LIST-NOT: gpu.func @partial_grads_{{.*}}relu

// CHECK-LABEL: gpu.func @partial_stats_planar_f16(
// CHECK-SAME: kernel
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<?xf16>, vector<8xf16>
// CHECK: gpu.shuffle xor
// CHECK: gpu.barrier

// Lowered through NVVM to PTX text, with vector memory accesses and warp
// shuffles.
// PTX: gpu.binary @iabn_kernels
// PTX-SAME: shfl.sync.bfly.b32
// PTX-SAME: .entry partial_stats_planar_f32
// PTX-SAME: ld.global.v4.b32
// PTX-SAME: .entry apply_cl_bf16_leaky_relu
// PTX-SAME: st.global.v4.b32

// BADTYPE: iabn-generate-gpu-kernels: unsupported dtype 'f8'; expected f32, f16 or bf16
// BADACT: iabn-generate-gpu-kernels: unknown activation 'swish'; expected identity, relu, leaky_relu, elu, relu6, silu, gelu or hardswish
module {}
