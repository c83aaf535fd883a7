// Batch norm: tfjs's FusedBatchNorm, the sums behind its gradient, and batch norm in
// training (statistics of the batch itself) as one forward and one backward kernel.
#include <algorithm>
#include <cmath>

#include "common.h"

namespace onednn_tfjs {
namespace {

// Per-channel sums over every row of C channels: s1[c] = sum(a) and
// s2[c] = sum(term(a, b, shift[c])). Rows are folded `group` at a time into lanes of a
// multiple of C (>= 64) so that a few channels still vectorize. Each lane sums 16 rows
// in float (8 floats per AVX2 vector, against 4 doubles), then adds that into double;
// fixed chunks of rows, merged in order, may run on several threads (same bits either
// way); the lanes are added up per channel at the end.
constexpr int64_t kFloatRun = 16;

// The gradient's term: dy * (x - mean).
struct CenteredProduct {
  float operator()(float dy, float x, float mean) const { return dy * (x - mean); }
};
// The variance's term: (x - k)^2 for a shift k near the mean (the first row), so that
// sum((x-k)^2)/N - (mean-k)^2 does not cancel away the variance's digits.
struct ShiftedSquare {
  float operator()(float x, float, float k) const { return (x - k) * (x - k); }
};

// The inner loops over blocks [k0, k1) of `w` lanes, compiled for AVX2+FMA and for
// baseline x86-64; Loops() picks what this CPU runs (they are memory-bound: AVX2 gains
// ~30%, measured on the BN1 shape).
template <typename Term>
inline __attribute__((always_inline)) void SumRunBody(const float* a, const float* b, const float* m, int64_t k0,
                                                      int64_t k1, int64_t w, float* __restrict f1, float* __restrict f2,
                                                      Term term) {
  for (int64_t k = k0; k < k1; ++k) {
    const float* __restrict ab = a + k * w;
    const float* __restrict bb = b + k * w;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) {
      f1[j] += ab[j];
      f2[j] += term(ab[j], bb[j], m[j]);
    }
  }
}

#define TFJS_NORM_LOOPS(SUFFIX, ...)                                                                           \
  __VA_ARGS__ void CenteredRun##SUFFIX(const float* a, const float* b, const float* m, int64_t k0, int64_t k1, \
                                       int64_t w, float* f1, float* f2) {                                      \
    SumRunBody(a, b, m, k0, k1, w, f1, f2, CenteredProduct{});                                                 \
  }                                                                                                            \
  __VA_ARGS__ void SquareRun##SUFFIX(const float* a, const float* b, const float* m, int64_t k0, int64_t k1,   \
                                     int64_t w, float* f1, float* f2) {                                        \
    SumRunBody(a, b, m, k0, k1, w, f1, f2, ShiftedSquare{});                                                   \
  }                                                                                                            \
  __VA_ARGS__ void AffineRows##SUFFIX(const float* x, float* y, const float* f, const float* g, int64_t k0,    \
                                      int64_t k1, int64_t w) {                                                 \
    for (int64_t k = k0; k < k1; ++k) {                                                                        \
      const float* __restrict xb = x + k * w;                                                                  \
      float* __restrict yb = y + k * w;                                                                        \
      _Pragma("omp simd") for (int64_t j = 0; j < w; ++j) yb[j] = xb[j] * f[j] + g[j];                         \
    }                                                                                                          \
  }                                                                                                            \
  __VA_ARGS__ void AffineDxRows##SUFFIX(const float* dy, const float* x, const float* a, const float* b,       \
                                        const float* d, float* out, int64_t k0, int64_t k1, int64_t w) {       \
    for (int64_t k = k0; k < k1; ++k) {                                                                        \
      const float* __restrict gb = dy + k * w;                                                                 \
      const float* __restrict xb = x + k * w;                                                                  \
      float* __restrict ob = out + k * w;                                                                      \
      _Pragma("omp simd") for (int64_t j = 0; j < w; ++j) ob[j] = gb[j] * a[j] + xb[j] * b[j] + d[j];          \
    }                                                                                                          \
  }

TFJS_NORM_LOOPS(Baseline)

using RunFn = void (*)(const float*, const float*, const float*, int64_t, int64_t, int64_t, float*, float*);
struct NormLoops {
  RunFn centered, square;
  void (*affine)(const float*, float*, const float*, const float*, int64_t, int64_t, int64_t);
  void (*affine_dx)(const float*, const float*, const float*, const float*, const float*, float*, int64_t, int64_t,
                    int64_t);
};

#if defined(__x86_64__) && defined(__GNUC__)
TFJS_NORM_LOOPS(Avx2, __attribute__((target("avx2,fma"))))
NormLoops PickLoops() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return {CenteredRunAvx2, SquareRunAvx2, AffineRowsAvx2, AffineDxRowsAvx2};
  }
  return {CenteredRunBaseline, SquareRunBaseline, AffineRowsBaseline, AffineDxRowsBaseline};
}
#else
NormLoops PickLoops() { return {CenteredRunBaseline, SquareRunBaseline, AffineRowsBaseline, AffineDxRowsBaseline}; }
#endif

const NormLoops& Loops() {
  static const NormLoops loops = PickLoops();
  return loops;
}

// Lanes of a block of rows: C channels repeated to at least 64 floats, so that a few
// channels still vectorize; per-channel values are tiled to match (TileLanes).
int64_t LaneWidth(int64_t c) { return c >= 64 ? c : (64 + c - 1) / c * c; }

std::vector<float> TileLanes(const float* per_channel, int64_t c, int64_t width) {
  std::vector<float> lanes(width);
  for (int64_t j = 0; j < width; ++j) lanes[j] = per_channel[j % c];
  return lanes;
}

template <typename Term>
void ChannelSums(const float* a, const float* b, const float* shift, int64_t n, int64_t c, double* s1_out,
                 double* s2_out, Term term, RunFn run_blocks) {
  const int64_t rows = n / c;
  const int64_t width = LaneWidth(c), group = width / c, blocks = rows / group;
  const int64_t per_chunk = std::max<int64_t>(1, kReduceChunk / width), chunks = (blocks + per_chunk - 1) / per_chunk;
  std::vector<double> partial(2 * std::max<int64_t>(chunks, 1) * width, 0.0);
  const std::vector<float> mw = TileLanes(shift, c, width);
  const float* m = mw.data();
  double* parts = partial.data();
  ParallelFor(chunks, 2 * per_chunk * width, [=](int64_t lo, int64_t hi) {
    std::vector<float> run(2 * width);
    float* __restrict f1 = run.data();
    float* __restrict f2 = f1 + width;
    for (int64_t ch = lo; ch < hi; ++ch) {
      double* __restrict s1 = parts + 2 * ch * width;
      double* __restrict s2 = s1 + width;
      const int64_t end = std::min(blocks, (ch + 1) * per_chunk);
      for (int64_t k0 = ch * per_chunk; k0 < end; k0 += kFloatRun) {
        std::fill(f1, f1 + 2 * width, 0.f);
        run_blocks(a, b, m, k0, std::min(end, k0 + kFloatRun), width, f1, f2);
#pragma omp simd
        for (int64_t j = 0; j < width; ++j) {
          s1[j] += f1[j];
          s2[j] += f2[j];
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
      t1 += a[r * c + k];
      t2 += term(a[r * c + k], b[r * c + k], shift[k]);
    }
    s1_out[k] = t1;
    s2_out[k] = t2;
  }
}

// y = x * f[c] + g[c] for every row of C channels, the parameters tiled to >= 64 lanes
// so that a few channels still vectorize.
void ScaleShiftRows(const float* x, float* y, int64_t n, const std::vector<float>& f, const std::vector<float>& g) {
  const int64_t c = static_cast<int64_t>(f.size());
  const int64_t width = LaneWidth(c), blocks = n / width;
  const std::vector<float> fw = TileLanes(f.data(), c, width), gw = TileLanes(g.data(), c, width);
  const float* fp = fw.data();
  const float* gp = gw.data();
  const auto affine = Loops().affine;
  ParallelFor(blocks, width, [=](int64_t lo, int64_t hi) { affine(x, y, fp, gp, lo, hi, width); });
  for (int64_t i = blocks * width; i < n; ++i) y[i] = x[i] * f[i % c] + g[i % c];
}

// batchNorm(x, mean, variance, offset | null, scale | null, y, eps), FusedBatchNorm:
// y = offset + (x - mean) * scale / sqrt(variance + eps), where each parameter is read
// cyclically (index i mod its length), as the tfjs cpu kernel does.
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
    ScaleShiftRows(x.data, y.data, n, f, g);
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
  std::vector<double> s1(c), s2(c);
  ChannelSums(dy.data, x.data, mean.data, static_cast<int64_t>(x.length), c, s1.data(), s2.data(), CenteredProduct{},
              Loops().centered);
  for (int64_t k = 0; k < c; ++k) {
    sums.data[k] = static_cast<float>(s1[k]);
    sums.data[c + k] = static_cast<float>(s2[k]);
  }
  return info.Env().Undefined();
}

// batchNormTrain(x, scale, offset, y, stats, eps): batch norm with the batch's own
// statistics over every row of C channels. stats = [mean; variance] (biased, as
// tf.moments), from sum(x) and sum((x - k)^2), k the first row; y = (x - mean) * scale /
// sqrt(variance + eps) + offset. Two passes over x instead of moments' five.
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  F32View x = ArgF32(info, 0, "x"), scale = ArgF32(info, 1, "scale"), offset = ArgF32(info, 2, "offset");
  F32View y = ArgF32(info, 3, "y"), stats = ArgF32(info, 4, "stats");
  const double eps = info[5].As<Napi::Number>().DoubleValue();
  const int64_t c = static_cast<int64_t>(scale.length), n = static_cast<int64_t>(x.length);
  Require(info, c > 0 && offset.length == scale.length && n % c == 0 && n > 0, "batchNormTrain: shapes");
  Require(info, y.length == x.length && static_cast<int64_t>(stats.length) == 2 * c, "batchNormTrain: outputs");
  std::vector<double> s1(c), s2(c);
  ChannelSums(x.data, x.data, x.data, n, c, s1.data(), s2.data(), ShiftedSquare{}, Loops().square);
  const double rows = static_cast<double>(n / c);
  std::vector<float> f(c), g(c);
  for (int64_t k = 0; k < c; ++k) {
    const double mean = s1[k] / rows, off = mean - x.data[k];
    const double var = std::max(0.0, s2[k] / rows - off * off);
    stats.data[k] = static_cast<float>(mean);
    stats.data[c + k] = static_cast<float>(var);
    const double fk = scale.data[k] / std::sqrt(static_cast<double>(stats.data[c + k]) + eps);
    f[k] = static_cast<float>(fk);
    g[k] = static_cast<float>(offset.data[k] - stats.data[k] * fk);
  }
  ScaleShiftRows(x.data, y.data, n, f, g);
  return info.Env().Undefined();
}

// batchNormTrainGrad(dy, x, stats, scale, dx, dparams, eps): the gradient of
// batchNormTrain through its batch statistics. With r = 1 / sqrt(variance + eps),
// S1 = sum(dy), S2 = sum(dy * (x - mean)) per channel and N rows:
//   dx = scale * r * (dy - S1 / N - (x - mean) * r^2 * S2 / N), dscale = r * S2,
//   doffset = S1; dparams = [dscale; doffset]. One pass for the sums, one for dx.
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  F32View dy = ArgF32(info, 0, "dy"), x = ArgF32(info, 1, "x"), stats = ArgF32(info, 2, "stats"),
          scale = ArgF32(info, 3, "scale"), dx = ArgF32(info, 4, "dx"), dparams = ArgF32(info, 5, "dparams");
  const double eps = info[6].As<Napi::Number>().DoubleValue();
  const int64_t c = static_cast<int64_t>(scale.length), n = static_cast<int64_t>(x.length);
  Require(info,
          c > 0 && n % c == 0 && n > 0 && dy.length == x.length && dx.length == x.length &&
              static_cast<int64_t>(stats.length) == 2 * c && dparams.length == stats.length,
          "batchNormTrainGrad: shapes");
  const float* mean = stats.data;
  std::vector<double> s1(c), s2(c);
  ChannelSums(dy.data, x.data, mean, n, c, s1.data(), s2.data(), CenteredProduct{}, Loops().centered);
  const double rows = static_cast<double>(n / c);
  // dx = dy * a + x * b + d, with a = scale r, b = -scale r^3 S2 / N and
  // d = -scale r S1 / N - b mean: per channel constants, tiled like the forward pass.
  std::vector<float> a(c), b(c), d(c);
  for (int64_t k = 0; k < c; ++k) {
    const double r = 1.0 / std::sqrt(static_cast<double>(stats.data[c + k]) + eps), sr = scale.data[k] * r;
    const double bk = -sr * r * r * s2[k] / rows;
    a[k] = static_cast<float>(sr);
    b[k] = static_cast<float>(bk);
    d[k] = static_cast<float>(-sr * s1[k] / rows - bk * mean[k]);
    dparams.data[k] = static_cast<float>(r * s2[k]);
    dparams.data[c + k] = static_cast<float>(s1[k]);
  }
  const int64_t width = LaneWidth(c), blocks = n / width;
  const std::vector<float> aw = TileLanes(a.data(), c, width), bw = TileLanes(b.data(), c, width),
                           dw = TileLanes(d.data(), c, width);
  const float *g = dy.data, *xs = x.data, *ap = aw.data(), *bp = bw.data(), *dp = dw.data();
  float* out = dx.data;
  const auto affine_dx = Loops().affine_dx;
  ParallelFor(blocks, 2 * width, [=](int64_t lo, int64_t hi) { affine_dx(g, xs, ap, bp, dp, out, lo, hi, width); });
  for (int64_t i = blocks * width; i < n; ++i) out[i] = g[i] * a[i % c] + xs[i] * b[i % c] + d[i % c];
  return info.Env().Undefined();
}

}  // namespace

void InitNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm));
  exports.Set("batchNormGradSums", Napi::Function::New(env, BatchNormGradSums));
  exports.Set("batchNormTrain", Napi::Function::New(env, BatchNormTrain));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, BatchNormTrainGrad));
}

}  // namespace onednn_tfjs
