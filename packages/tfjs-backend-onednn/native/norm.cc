// FusedBatchNorm: y = offset + (x - mean) * scale / sqrt(variance + eps), where each
// parameter is read cyclically (index i mod its length), as the tfjs cpu kernel does.
#include "common.h"

#include <algorithm>
#include <cmath>

namespace onednn_tfjs {
namespace {

// batchNorm(x, mean, variance, offset | null, scale | null, y, eps)
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  F32View x = ArgF32(info, 0, "x"), mean = ArgF32(info, 1, "mean"), var = ArgF32(info, 2, "variance");
  F32View off = ArgOptF32(info, 3, "offset"), scale = ArgOptF32(info, 4, "scale");
  F32View y = ArgF32(info, 5, "y");
  const double eps = info[6].As<Napi::Number>().DoubleValue();
  Require(info, y.length == x.length, "y: wrong length");
  Require(info, mean.length > 0 && var.length > 0, "mean/variance must not be empty");
  const float one = 1.f, zero = 0.f;
  const float* o = off.data ? off.data : &zero;
  const float* s = scale.data ? scale.data : &one;
  const int64_t lo = off.data ? off.length : 1, ls = scale.data ? scale.length : 1;
  const int64_t lm = mean.length, lv = var.length;
  const int64_t n = static_cast<int64_t>(x.length);

  // Period of the parameter pattern: every length is 1 or the same L.
  int64_t period = 1;
  for (int64_t l : {lo, ls, lm, lv}) {
    if (l == 1) continue;
    if (period == 1) period = l;
    else if (period != l) period = -1;
  }
  if (period > 0) {
    // y = x * f + g per position of the period.
    std::vector<float> f(period), g(period);
    for (int64_t c = 0; c < period; ++c) {
      const double fc = s[ls == 1 ? 0 : c] / std::sqrt(static_cast<double>(var.data[lv == 1 ? 0 : c]) + eps);
      f[c] = static_cast<float>(fc);
      g[c] = static_cast<float>(o[lo == 1 ? 0 : c] - mean.data[lm == 1 ? 0 : c] * fc);
    }
    const int64_t rows = n / period;
    const float* xs = x.data;
    float* ys = y.data;
    const float* fp = f.data();
    const float* gp = g.data();
    ParallelFor(rows, period, [=](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const float* xr = xs + r * period;
        float* yr = ys + r * period;
#pragma omp simd
        for (int64_t c = 0; c < period; ++c) yr[c] = xr[c] * fp[c] + gp[c];
      }
    });
    for (int64_t i = rows * period; i < n; ++i) {
      const int64_t c = i - rows * period;
      ys[i] = xs[i] * fp[c] + gp[c];
    }
    return info.Env().Undefined();
  }
  for (int64_t i = 0; i < n; ++i) {
    y.data[i] = static_cast<float>(o[i % lo] + (x.data[i] - mean.data[i % lm]) * s[i % ls] /
                                                   std::sqrt(static_cast<double>(var.data[i % lv]) + eps));
  }
  return info.Env().Undefined();
}

// batchNormGradSums(dy, x, mean, sums): for each channel c of the last axis,
// sums[c] = sum(dy) and sums[C + c] = sum(dy * (x - mean[c])), in double. The batch-norm
// gradient needs nothing else from the big tensors besides dx itself.
Napi::Value BatchNormGradSums(const Napi::CallbackInfo& info) {
  F32View dy = ArgF32(info, 0, "dy"), x = ArgF32(info, 1, "x"), mean = ArgF32(info, 2, "mean"),
          sums = ArgF32(info, 3, "sums");
  const int64_t c = static_cast<int64_t>(mean.length);
  Require(info, c > 0 && dy.length == x.length && x.length % c == 0, "batchNormGradSums: shapes");
  Require(info, static_cast<int64_t>(sums.length) == 2 * c, "batchNormGradSums: sums must hold 2 * C");
  const int64_t rows = static_cast<int64_t>(x.length) / c;
  // Rows are folded `group` at a time into lanes of a multiple of C (>= 64) so that a few
  // channels still vectorize; the lanes are added up per channel at the end. Fixed
  // chunks of rows, merged in order, may run on several threads (same bits either way).
  const int64_t group = c >= 64 ? 1 : (64 + c - 1) / c, width = group * c, blocks = rows / group;
  const int64_t per_chunk = std::max<int64_t>(1, kReduceChunk / width), chunks = (blocks + per_chunk - 1) / per_chunk;
  std::vector<double> partial(2 * std::max<int64_t>(chunks, 1) * width, 0.0);
  std::vector<float> mw(width);
  for (int64_t j = 0; j < width; ++j) mw[j] = mean.data[j % c];
  const float* g = dy.data;
  const float* xs = x.data;
  const float* m = mw.data();
  double* parts = partial.data();
  ParallelFor(chunks, 2 * per_chunk * width, [=](int64_t b, int64_t e) {
    for (int64_t ch = b; ch < e; ++ch) {
      double* __restrict s1 = parts + 2 * ch * width;
      double* __restrict s2 = s1 + width;
      for (int64_t k = ch * per_chunk; k < std::min(blocks, (ch + 1) * per_chunk); ++k) {
        const float* __restrict gb = g + k * width;
        const float* __restrict xb = xs + k * width;
#pragma omp simd
        for (int64_t j = 0; j < width; ++j) {
          s1[j] += gb[j];
          s2[j] += static_cast<double>(gb[j]) * (xb[j] - m[j]);
        }
      }
    }
  });
  double* s1 = parts;
  double* s2 = parts + width;
  for (int64_t ch = 1; ch < chunks; ++ch) {
    for (int64_t j = 0; j < width; ++j) {
      s1[j] += parts[2 * ch * width + j];
      s2[j] += parts[2 * ch * width + width + j];
    }
  }
  for (int64_t k = 0; k < c; ++k) {
    double t1 = 0, t2 = 0;
    for (int64_t q = 0; q < group; ++q) {
      t1 += s1[q * c + k];
      t2 += s2[q * c + k];
    }
    for (int64_t r = blocks * group; r < rows; ++r) {
      t1 += g[r * c + k];
      t2 += static_cast<double>(g[r * c + k]) * (xs[r * c + k] - mean.data[k]);
    }
    sums.data[k] = static_cast<float>(t1);
    sums.data[c + k] = static_cast<float>(t2);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm));
  exports.Set("batchNormGradSums", Napi::Function::New(env, BatchNormGradSums));
}

}  // namespace onednn_tfjs
