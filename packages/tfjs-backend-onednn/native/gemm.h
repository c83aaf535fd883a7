// Row-major single-precision matrix product, the one both builds share:
//   C[m x n] = beta * C + op(A) . op(B),  op(A) m x k, op(B) k x n
// where ta / tb say A is stored k x m / B is stored n x k. With oneDNN this is its
// sgemm; the portable build (no libdnnl) has its own blocked, vectorised kernel.
//
// beta == 0 ignores C's old contents (pool buffers hold stale data, NaNs included).
// `team`: may split the work across the OpenMP team (false inside a parallel region).
// Either way every element of C is summed in the same order, so the result does not
// depend on the thread count.
#pragma once

#include <cstdint>

namespace onednn_tfjs {

// Throws std::runtime_error if the underlying library reports a failure.
void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
          float beta, float* c, int64_t ldc, bool team = true);

#ifndef TFJS_WITH_DNNL
// out[j] = (init ? init[j] : 0) + sum over t < terms of a[t][j] * b[t][j], for j < n, in
// the widest vectors this CPU has, summing t in order (portable build).
void SumProducts(float* out, const float* init, const float* const* a, const float* const* b, int64_t terms, int64_t n);
#endif

// Below this many multiply-adds a GEMM stays on one thread (LeNet-5's and the MLP's are
// all below it: the largest, 64x784x70, is 3.5M).
constexpr int64_t kSmallGemm = int64_t{1} << 23;

}  // namespace onednn_tfjs
