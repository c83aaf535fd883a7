// Gemm on oneDNN's sgemm (its own JIT kernels and OpenMP threading).
#include <stdexcept>

#include "common.h"
#include "gemm.h"

namespace onednn_tfjs {

void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
          float beta, float* c, int64_t ldc, bool team) {
  SignalGuard guard;
  // Inside a parallel region oneDNN's sgemm runs on the calling thread only.
  SingleThreaded small(team && m * n * k < kSmallGemm);
  if (dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, a, lda, b, ldb, beta, c, ldc) != dnnl_success) {
    throw std::runtime_error("dnnl_sgemm failed");
  }
}

}  // namespace onednn_tfjs
