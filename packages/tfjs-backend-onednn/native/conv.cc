// 2-D convolution entry points (forward with fused bias + activation, backward data,
// backward weights): argument checks, the matrix-product special cases on Gemm, the
// thread choice, and the general kernels of this build (conv_dnnl.cc or
// conv_portable.cc) for everything else.
#include "conv.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "common.h"
#include "gemm.h"

namespace onednn_tfjs {

std::vector<int64_t> ConvKey(int kind, const ConvDims& c, int64_t extra1, int64_t extra2) {
  return {kind, c.n,  c.ih, c.iw, c.ic, c.oh, c.ow, c.oc, c.kh,   c.kw,
          c.sh, c.sw, c.dh, c.dw, c.pt, c.pl, c.pb, c.pr, extra1, extra2};
}

namespace {

ConvDims ParseDims(const Napi::CallbackInfo& info, size_t i) {
  std::vector<int64_t> d = ArgInts(info, i, 17, "dims");
  ConvDims c{d[0], d[1],  d[2],  d[3],  d[4],  d[5],  d[6],  d[7], d[8],
             d[9], d[10], d[11], d[12], d[13], d[14], d[15], d[16]};
  // oneDNN counts dilation from 0 and wants (in - kernel_range + pads) / stride + 1 == out.
  c.dh -= 1;
  c.dw -= 1;
  auto fix = [](int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t lo, int64_t& hi) {
    int64_t range = 1 + (k - 1) * (d + 1);
    if ((in - range + lo + hi) / s + 1 != out) hi = (out - 1) * s + range - in - lo;
  };
  fix(c.ih, c.oh, c.kh, c.sh, c.dh, c.pt, c.pb);
  fix(c.iw, c.ow, c.kw, c.sw, c.dw, c.pl, c.pr);
  return c;
}

// Per-shape timings of both paths, kept as a diagnostic (threadChoices()) and used when
// a test or measurement pins the thread mode.
ThreadChoice& ChoiceFor(const std::vector<int64_t>& key) {
  static ThreadChoices choices("convolution");
  return choices.For(key);
}

// Every convolution kernel gives the same bits on any thread count (the portable ones by
// construction, oneDNN's forward and backward data as it computes them, its backward
// weights through fixed batch chunks: conv_dnnl.cc; threads.test.ts checks), so like
// the loops they take the path TeamPolicy picks, and a seeded run still reproduces bit
// for bit whichever it is.
// Runs `body(single)` with the thread count picked for `c`, and records its time.
template <typename Body>
void RunTimed(ThreadChoice& choice, Body body) {
  const bool single = choice.Single();
  const auto start = std::chrono::steady_clock::now();
  body(single);
  choice.Record(single, MicrosSince(start));
}

void CheckLength(const Napi::CallbackInfo& info, const F32View& v, int64_t n, const char* what) {
  if (static_cast<int64_t>(v.length) != n)
    throw Napi::RangeError::New(info.Env(), std::string(what) + ": wrong length");
}

// A convolution that is really a matrix product: the kernel covers the whole unpadded
// input (LeNet-5's C5: one output pixel), or is 1x1 with stride 1. Then, with
// K = KH*KW*IC and M = N*OH*OW, NHWC x is [M, K] and HWIO w is [K, OC] as they lie in
// memory, and a GEMM beats oneDNN's direct kernels several times over at these sizes.
bool IsDense(const ConvDims& c) {
  const bool no_pad = c.pt == 0 && c.pl == 0 && c.pb == 0 && c.pr == 0;
  const bool whole = c.kh == c.ih && c.kw == c.iw && c.oh == 1 && c.ow == 1 && c.dh == 0 && c.dw == 0;
  const bool pointwise = c.kh == 1 && c.kw == 1 && c.sh == 1 && c.sw == 1 && c.oh == c.ih && c.ow == c.iw;
  return no_pad && (whole || pointwise);
}

// Backward data for a single input channel at stride 1 (LeNet-5's C1, whose input
// gradient tfjs computes whenever the conv has a fused bias). oneDNN vectorizes this
// case over input channels, i.e. not at all. Instead, per image:
//   G[k, p] = sum_oc w[k, oc] * dy[p, oc]    (GEMM, k = kernel tap, p = output pixel)
//   dx[h, w] = sum_k G[k, (h + pt - kh, w + pl - kw)]   (shifted row adds, vectorized)
// which is ~2.5x faster here. Images are split across the OpenMP threads.
bool IsSingleChannelBackwardData(const ConvDims& c) {
  return c.ic == 1 && c.sh == 1 && c.sw == 1 && c.dh == 0 && c.dw == 0;
}

void SingleChannelBackwardData(const ConvDims& c, const float* dy, const float* w, float* dx, int threads) {
  const int64_t taps = c.kh * c.kw, pixels = c.oh * c.ow;
  static std::vector<float> scratch;
  if (scratch.size() < static_cast<size_t>(threads * taps * pixels)) scratch.resize(threads * taps * pixels);
  std::string failure;
#pragma omp parallel num_threads(threads)
  {
    int t = 0;
#ifdef _OPENMP
    t = omp_get_thread_num();
#endif
    float* g = scratch.data() + t * taps * pixels;
#pragma omp for schedule(static)
    for (int64_t n = 0; n < c.n; ++n) {
      try {
        Gemm(false, true, taps, pixels, c.oc, w, c.oc, dy + n * pixels * c.oc, c.oc, 0.f, g, pixels, false);
      } catch (const std::exception& e) {
#pragma omp critical(onednn_tfjs_conv_failure)
        failure = e.what();
        continue;
      }
      float* image = dx + n * c.ih * c.iw;
      std::memset(image, 0, c.ih * c.iw * sizeof(float));
      for (int64_t k = 0; k < taps; ++k) {
        const int64_t kh = k / c.kw, kw = k % c.kw;
        // Output column ow = x + pl - kw must lie in [0, OW).
        const int64_t x0 = std::max<int64_t>(0, kw - c.pl), x1 = std::min<int64_t>(c.iw, c.ow + kw - c.pl);
        for (int64_t h = 0; h < c.ih; ++h) {
          const int64_t oh = h + c.pt - kh;
          if (oh < 0 || oh >= c.oh) continue;
          const float* __restrict src = g + k * pixels + oh * c.ow + c.pl - kw;
          float* __restrict row = image + h * c.iw;
#pragma omp simd
          for (int64_t x = x0; x < x1; ++x) row[x] += src[x];
        }
      }
    }
  }
  if (!failure.empty()) throw std::runtime_error(failure);
}

// Native failures (a library error, allocation) become JS exceptions.
template <typename Body>
Napi::Value Guarded(const Napi::CallbackInfo& info, Body body) {
  try {
    body();
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  return info.Env().Undefined();
}

// conv2d(x, filter, bias | null, y, dims, activation, alpha)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  F32View x = ArgF32(info, 0, "x"), w = ArgF32(info, 1, "filter"), b = ArgOptF32(info, 2, "bias"),
          y = ArgF32(info, 3, "y");
  ConvDims c = ParseDims(info, 4);
  int act = static_cast<int>(ArgInt(info, 5));
  float alpha = ArgFloat(info, 6);
  CheckLength(info, x, c.n * c.ih * c.iw * c.ic, "x");
  CheckLength(info, w, c.kh * c.kw * c.ic * c.oc, "filter");
  CheckLength(info, y, c.n * c.oh * c.ow * c.oc, "y");
  if (b.data) CheckLength(info, b, c.oc, "bias");

  return Guarded(info, [&] {
    if (IsDense(c)) {
      const int64_t m = c.n * c.oh * c.ow, k = c.kh * c.kw * c.ic;
      float beta = 0.f;
      if (b.data) {
        for (int64_t r = 0; r < m; ++r) std::memcpy(y.data + r * c.oc, b.data, c.oc * sizeof(float));
        beta = 1.f;
      }
      Gemm(false, false, m, c.oc, k, x.data, k, w.data, c.oc, beta, y.data, c.oc);
      ApplyActivation(y.data, m * c.oc, act, alpha);
      return;
    }
    int32_t alpha_bits;
    std::memcpy(&alpha_bits, &alpha, sizeof alpha_bits);
    RunTimed(ChoiceFor(ConvKey(0, c, b.data ? 1 + act : -(1 + act), alpha_bits)),
             [&](bool single) { ConvForwardGeneral(c, x.data, w.data, b.data, y.data, act, alpha, single); });
  });
}

// conv2dBackpropInput(dy, filter, dx, dims)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  F32View dy = ArgF32(info, 0, "dy"), w = ArgF32(info, 1, "filter"), dx = ArgF32(info, 2, "dx");
  ConvDims c = ParseDims(info, 3);
  CheckLength(info, dy, c.n * c.oh * c.ow * c.oc, "dy");
  CheckLength(info, w, c.kh * c.kw * c.ic * c.oc, "filter");
  CheckLength(info, dx, c.n * c.ih * c.iw * c.ic, "dx");

  return Guarded(info, [&] {
    if (IsDense(c)) {  // dx[M, K] = dy[M, OC] . w[K, OC]^T
      const int64_t m = c.n * c.oh * c.ow, k = c.kh * c.kw * c.ic;
      Gemm(false, true, m, k, c.oc, dy.data, c.oc, w.data, c.oc, 0.f, dx.data, k);
      return;
    }
    RunTimed(ChoiceFor(ConvKey(1, c)), [&](bool single) {
      if (IsSingleChannelBackwardData(c)) {
        SingleChannelBackwardData(c, dy.data, w.data, dx.data, single ? 1 : MaxThreads());
      } else {
        ConvBackwardDataGeneral(c, dy.data, w.data, dx.data, single);
      }
    });
  });
}

// conv2dBackpropFilter(x, dy, dw, dims)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  F32View x = ArgF32(info, 0, "x"), dy = ArgF32(info, 1, "dy"), dw = ArgF32(info, 2, "dw");
  ConvDims c = ParseDims(info, 3);
  CheckLength(info, x, c.n * c.ih * c.iw * c.ic, "x");
  CheckLength(info, dy, c.n * c.oh * c.ow * c.oc, "dy");
  CheckLength(info, dw, c.kh * c.kw * c.ic * c.oc, "dw");

  return Guarded(info, [&] {
    if (IsDense(c)) {  // dw[K, OC] = x[M, K]^T . dy[M, OC]
      const int64_t m = c.n * c.oh * c.ow, k = c.kh * c.kw * c.ic;
      Gemm(true, false, k, c.oc, m, x.data, k, dy.data, c.oc, 0.f, dw.data, c.oc);
      return;
    }
    RunTimed(ChoiceFor(ConvKey(2, c)),
             [&](bool single) { ConvBackwardWeightsGeneral(c, x.data, dy.data, dw.data, single); });
  });
}

// The implementation used for a forward/backward convolution of these dims.
Napi::Value ConvImpl(const Napi::CallbackInfo& info) {
  ConvDims c = ParseDims(info, 0);
  int kind = static_cast<int>(ArgInt(info, 1));
  if (IsDense(c)) return Napi::String::New(info.Env(), "gemm");
  if (kind == 1 && IsSingleChannelBackwardData(c)) return Napi::String::New(info.Env(), "gemm+shifted adds");
  return Napi::String::New(info.Env(), ConvGeneralImpl(c, kind));
}

}  // namespace

void InitConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("convImpl", Napi::Function::New(env, ConvImpl));
}

}  // namespace onednn_tfjs
