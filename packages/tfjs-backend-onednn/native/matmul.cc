// Batched matrix multiply with optional fused bias and activation, on Gemm (oneDNN's
// sgemm, or the portable kernel).
#include <stdexcept>

#include "common.h"
#include "gemm.h"

namespace onednn_tfjs {
namespace {

// matMul(a, b, c, dims, bias | null, activation, alpha)
// dims: [batchA, batchB, batch, M, N, K, transposeA, transposeB]; batch i uses
// a[i % batchA] and b[i % batchB], as the tfjs cpu kernel does. bias has N entries.
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  F32View a = ArgF32(info, 0, "a"), b = ArgF32(info, 1, "b"), c = ArgF32(info, 2, "c");
  std::vector<int64_t> d = ArgInts(info, 3, 8, "dims");
  F32View bias = ArgOptF32(info, 4, "bias");
  int act = static_cast<int>(ArgInt(info, 5));
  float alpha = ArgFloat(info, 6);
  const int64_t batch_a = d[0], batch_b = d[1], batch = d[2], m = d[3], n = d[4], k = d[5];
  const bool ta = d[6] != 0, tb = d[7] != 0;
  Require(info, static_cast<int64_t>(a.length) == batch_a * m * k, "a: wrong length");
  Require(info, static_cast<int64_t>(b.length) == batch_b * k * n, "b: wrong length");
  Require(info, static_cast<int64_t>(c.length) == batch * m * n, "c: wrong length");
  Require(info, !bias.data || static_cast<int64_t>(bias.length) == n, "bias: wrong length");

  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  for (int64_t i = 0; i < batch; ++i) {
    const float* ai = a.data + (i % batch_a) * m * k;
    const float* bi = b.data + (i % batch_b) * k * n;
    float* ci = c.data + i * m * n;
    float beta = 0.f;
    if (bias.data) {
      for (int64_t r = 0; r < m; ++r) std::memcpy(ci + r * n, bias.data, n * sizeof(float));
      beta = 1.f;
    }
    if (k == 0) {
      if (!bias.data) std::memset(ci, 0, m * n * sizeof(float));
      continue;
    }
    try {
      Gemm(ta, tb, m, n, k, ai, lda, bi, ldb, beta, ci, n);
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
  }
  ApplyActivation(c.data, batch * m * n, act, alpha);
  return info.Env().Undefined();
}

}  // namespace

void InitMatmul(Napi::Env env, Napi::Object exports) { exports.Set("matMul", Napi::Function::New(env, MatMul)); }

}  // namespace onednn_tfjs
