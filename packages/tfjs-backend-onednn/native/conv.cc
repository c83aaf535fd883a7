// 2-D convolution (forward with fused bias + activation, backward data, backward
// weights) through oneDNN primitives, cached per shape.
//
// Activations stay in the tensors' own NHWC buffers (oneDNN "nhwc"); filters are tfjs
// HWIO (oneDNN "hwio"). When a primitive wants its weights in a blocked layout, the
// filter is reordered into a buffer owned by the cache entry (filters are small).
#include "common.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

namespace onednn_tfjs {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// dims as src/native.ts packs them.
struct ConvDims {
  int64_t n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
};

ConvDims ParseDims(const Napi::CallbackInfo& info, size_t i) {
  std::vector<int64_t> d = ArgInts(info, i, 17, "dims");
  ConvDims c{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15], d[16]};
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

std::vector<int64_t> Key(int kind, const ConvDims& c, int64_t extra1 = 0, int64_t extra2 = 0) {
  return {kind, c.n, c.ih, c.iw, c.ic, c.oh, c.ow, c.oc, c.kh, c.kw, c.sh, c.sw,
          c.dh, c.dw, c.pt, c.pl, c.pb, c.pr, extra1, extra2};
}

struct Mds {
  memory::desc src, weights_user, weights_any, dst, bias;
  memory::dims strides, dilates, pad_l, pad_r;
};

Mds MakeMds(const ConvDims& c) {
  Mds m;
  m.src = memory::desc({c.n, c.ic, c.ih, c.iw}, dt::f32, tag::nhwc);
  m.weights_user = memory::desc({c.oc, c.ic, c.kh, c.kw}, dt::f32, tag::hwio);
  m.weights_any = memory::desc({c.oc, c.ic, c.kh, c.kw}, dt::f32, tag::any);
  m.dst = memory::desc({c.n, c.oc, c.oh, c.ow}, dt::f32, tag::nhwc);
  m.bias = memory::desc({c.oc}, dt::f32, tag::a);
  m.strides = {c.sh, c.sw};
  m.dilates = {c.dh, c.dw};
  m.pad_l = {c.pt, c.pl};
  m.pad_r = {c.pb, c.pr};
  return m;
}

dnnl::primitive_attr ScratchpadAttr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::convolution_forward::primitive_desc ForwardHint(const Mds& m) {
  dnnl::convolution_forward::desc d(prop_kind::forward_training, algorithm::convolution_direct, m.src,
                                    m.weights_any, m.dst, m.strides, m.dilates, m.pad_l, m.pad_r);
  return dnnl::convolution_forward::primitive_desc(d, Engine());
}

// A filter in tfjs layout, possibly reordered into the layout a primitive wants.
struct Weights {
  memory user;
  memory prim;
  std::vector<float> storage;
  dnnl::reorder to_prim;    // user -> prim (forward, backward data)
  dnnl::reorder to_user;    // prim -> user (backward weights)
  bool reordered = false;

  void Init(const memory::desc& user_md, const memory::desc& prim_md, bool output) {
    user = memory(user_md, Engine(), nullptr);
    reordered = user_md != prim_md;
    if (!reordered) {
      prim = user;
      return;
    }
    storage.resize(prim_md.get_size() / sizeof(float) + 1);
    prim = memory(prim_md, Engine(), storage.data());
    if (output) {
      to_user = dnnl::reorder(prim, user);
    } else {
      to_prim = dnnl::reorder(user, prim);
    }
  }
};

struct ConvForward {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  memory src, dst, bias;
  Weights weights;
  bool with_bias = false;
};

struct ConvBackwardData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data prim;
  memory diff_src, diff_dst;
  Weights weights;
};

struct ConvBackwardWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights prim;
  memory src, diff_dst;
  Weights diff_weights;
};

template <typename T>
using Cache = std::map<std::vector<int64_t>, std::unique_ptr<T>>;

// A training run meets a handful of shapes (train batch, last partial batch, eval
// batch). Should something feed endless new shapes, start over rather than grow.
constexpr size_t kMaxCached = 64;

template <typename T>
void MakeRoom(Cache<T>& cache) {
  if (cache.size() >= kMaxCached) cache.clear();
}

void AppendActivation(dnnl::post_ops& po, int act, float alpha) {
  switch (act) {
    case kRelu: po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); break;
    case kRelu6: po.append_eltwise(1.f, algorithm::eltwise_clip, 0.f, 6.f); break;
    case kLeakyRelu: po.append_eltwise(1.f, algorithm::eltwise_relu, alpha, 0.f); break;
    case kElu: po.append_eltwise(1.f, algorithm::eltwise_elu, 1.f, 0.f); break;
    case kSigmoid: po.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f); break;
    default: break;
  }
}

// The cached primitive for `key`, or a new one from `make` — created under the thread
// count it will run with, since oneDNN fixes a primitive's work split when it creates it.
template <typename T, typename Make>
T& Cached(Cache<T>& cache, std::vector<int64_t> key, bool single, Make make) {
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  MakeRoom(cache);
  SingleThreaded threads(single);
  return *cache.emplace(std::move(key), make()).first->second;
}

std::vector<int64_t> ForwardKey(const ConvDims& c, bool with_bias, int act, float alpha) {
  int32_t alpha_bits;
  std::memcpy(&alpha_bits, &alpha, sizeof alpha_bits);
  return Key(0, c, with_bias ? 1 + act : -(1 + act), alpha_bits);
}

// Primitives are made per thread count (`single`: one thread, else all): oneDNN fixes a
// primitive's work split when it creates it.
ConvForward& GetForward(const ConvDims& c, bool with_bias, int act, float alpha, bool single) {
  static Cache<ConvForward> cache;
  auto key = ForwardKey(c, with_bias, act, alpha);
  key.push_back(single);
  return Cached(cache, std::move(key), single, [&] {
    Mds m = MakeMds(c);
    auto d = with_bias
                 ? dnnl::convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, m.src,
                                                   m.weights_any, m.bias, m.dst, m.strides, m.dilates, m.pad_l, m.pad_r)
                 : dnnl::convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, m.src,
                                                   m.weights_any, m.dst, m.strides, m.dilates, m.pad_l, m.pad_r);
    dnnl::primitive_attr attr = ScratchpadAttr();
    if (act != kLinear) {
      dnnl::post_ops po;
      AppendActivation(po, act, alpha);
      attr.set_post_ops(po);
    }
    auto e = std::make_unique<ConvForward>();
    e->pd = dnnl::convolution_forward::primitive_desc(d, attr, Engine());
    e->prim = dnnl::convolution_forward(e->pd);
    e->src = memory(m.src, Engine(), nullptr);
    e->dst = memory(m.dst, Engine(), nullptr);
    e->with_bias = with_bias;
    if (with_bias) e->bias = memory(m.bias, Engine(), nullptr);
    e->weights.Init(m.weights_user, e->pd.weights_desc(), false);
    return e;
  });
}

ConvBackwardData& GetBackwardData(const ConvDims& c, bool single) {
  static Cache<ConvBackwardData> cache;
  return Cached(cache, Key(1, c, single), single, [&] {
    Mds m = MakeMds(c);
    dnnl::convolution_backward_data::desc d(algorithm::convolution_direct, m.src, m.weights_any, m.dst, m.strides,
                                            m.dilates, m.pad_l, m.pad_r);
    auto e = std::make_unique<ConvBackwardData>();
    e->pd = dnnl::convolution_backward_data::primitive_desc(d, ScratchpadAttr(), Engine(), ForwardHint(m));
    e->prim = dnnl::convolution_backward_data(e->pd);
    e->diff_src = memory(m.src, Engine(), nullptr);
    e->diff_dst = memory(m.dst, Engine(), nullptr);
    e->weights.Init(m.weights_user, e->pd.weights_desc(), false);
    return e;
  });
}

ConvBackwardWeights& GetBackwardWeights(const ConvDims& c, bool single) {
  static Cache<ConvBackwardWeights> cache;
  return Cached(cache, Key(2, c, single), single, [&] {
    Mds m = MakeMds(c);
    dnnl::convolution_backward_weights::desc d(algorithm::convolution_direct, m.src, m.weights_any, m.dst, m.strides,
                                               m.dilates, m.pad_l, m.pad_r);
    auto e = std::make_unique<ConvBackwardWeights>();
    e->pd = dnnl::convolution_backward_weights::primitive_desc(d, ScratchpadAttr(), Engine(), ForwardHint(m));
    e->prim = dnnl::convolution_backward_weights(e->pd);
    e->src = memory(m.src, Engine(), nullptr);
    e->diff_dst = memory(m.dst, Engine(), nullptr);
    e->diff_weights.Init(m.weights_user, e->pd.diff_weights_desc(), true);
    return e;
  });
}

// Per-shape timings of both paths, kept as a diagnostic (threadChoices()) and used when
// a test or measurement pins the thread mode.
ThreadChoice& ChoiceFor(const std::vector<int64_t>& key) {
  static ThreadChoices choices("convolution");
  return choices.For(key);
}

// Multiply-adds from which a convolution runs on the OpenMP team.
constexpr int64_t kConvTeamMacs = int64_t{64} << 20;

// How many threads run a convolution changes its result in the last bits (backward
// weights sums the batch per thread), so unless a mode is pinned the choice follows the
// size alone, never timings: a seeded run reproduces bit for bit, and a resumed run
// continues exactly where an uninterrupted one would be. LeNet-5's training convolutions
// (a few million multiply-adds at batch 64) stay on one thread, which is also what the
// timings pick on a busy 2-core machine; evaluation batches of 1000 use the team.
bool ConvSingleThreaded(ThreadChoice& choice, const ConvDims& c) {
  if (ForcedThreadMode() != 0) return choice.Single();
  return c.n * c.oh * c.ow * c.oc * c.kh * c.kw * c.ic < kConvTeamMacs;
}

// Runs `body(single)` with the thread count picked for `c`, timing only the execution
// (`body` returns after creating any primitive it needs, via `ready`).
template <typename Body>
void RunTimed(ThreadChoice& choice, const ConvDims& c, Body body) {
  const bool single = ConvSingleThreaded(choice, c);
  SingleThreaded threads(single);
  std::chrono::steady_clock::time_point start;
  auto ready = [&start] { start = std::chrono::steady_clock::now(); };
  body(single, ready);
  choice.Record(single, MicrosSince(start));
}

void CheckLength(const Napi::CallbackInfo& info, const F32View& v, int64_t n, const char* what) {
  if (static_cast<int64_t>(v.length) != n) throw Napi::RangeError::New(info.Env(), std::string(what) + ": wrong length");
}

// A convolution that is really a matrix product: the kernel covers the whole unpadded
// input (LeNet-5's C5: one output pixel), or is 1x1 with stride 1. Then, with
// K = KH*KW*IC and M = N*OH*OW, NHWC x is [M, K] and HWIO w is [K, OC] as they lie in
// memory, and sgemm beats the direct kernels several times over at these sizes.
bool IsDense(const ConvDims& c) {
  const bool no_pad = c.pt == 0 && c.pl == 0 && c.pb == 0 && c.pr == 0;
  const bool whole = c.kh == c.ih && c.kw == c.iw && c.oh == 1 && c.ow == 1 && c.dh == 0 && c.dw == 0;
  const bool pointwise = c.kh == 1 && c.kw == 1 && c.sh == 1 && c.sw == 1 && c.oh == c.ih && c.ow == c.iw;
  return no_pad && (whole || pointwise);
}

void Sgemm(const Napi::CallbackInfo& info, char ta, char tb, int64_t m, int64_t n, int64_t k, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  SingleThreaded small(m * n * k < kSmallGemm);
  if (dnnl_sgemm(ta, tb, m, n, k, 1.f, a, lda, b, ldb, beta, c, ldc) != dnnl_success) {
    throw Napi::Error::New(info.Env(), "dnnl_sgemm failed");
  }
}

// Backward data for a single input channel at stride 1 (LeNet-5's C1, whose input
// gradient tfjs computes whenever the conv has a fused bias). oneDNN vectorizes this
// case over input channels, i.e. not at all. Instead, per image:
//   G[k, p] = sum_oc w[k, oc] * dy[p, oc]    (sgemm, k = kernel tap, p = output pixel)
//   dx[h, w] = sum_k G[k, (h + pt - kh, w + pl - kw)]   (shifted row adds, vectorized)
// which is ~2.5x faster here. Images are split across the OpenMP threads.
bool IsSingleChannelBackwardData(const ConvDims& c) {
  return c.ic == 1 && c.sh == 1 && c.sw == 1 && c.dh == 0 && c.dw == 0;
}

void SingleChannelBackwardData(const Napi::CallbackInfo& info, const ConvDims& c, const float* dy, const float* w,
                               float* dx, int threads) {
  const int64_t taps = c.kh * c.kw, pixels = c.oh * c.ow;
  static std::vector<float> scratch;
  if (scratch.size() < static_cast<size_t>(threads * taps * pixels)) scratch.resize(threads * taps * pixels);
  bool failed = false;
#pragma omp parallel num_threads(threads)
  {
    int t = 0;
#ifdef _OPENMP
    t = omp_get_thread_num();
#endif
    float* g = scratch.data() + t * taps * pixels;
#pragma omp for schedule(static)
    for (int64_t n = 0; n < c.n; ++n) {
      // Inside a parallel region oneDNN's sgemm runs on this thread only.
      if (dnnl_sgemm('N', 'T', taps, pixels, c.oc, 1.f, w, c.oc, dy + n * pixels * c.oc, c.oc, 0.f, g, pixels) !=
          dnnl_success) {
        failed = true;
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
  if (failed) throw Napi::Error::New(info.Env(), "dnnl_sgemm failed");
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

  SignalGuard guard;
  if (IsDense(c)) {
    const int64_t m = c.n * c.oh * c.ow, k = c.kh * c.kw * c.ic;
    float beta = 0.f;
    if (b.data) {
      for (int64_t r = 0; r < m; ++r) std::memcpy(y.data + r * c.oc, b.data, c.oc * sizeof(float));
      beta = 1.f;
    }
    Sgemm(info, 'N', 'N', m, c.oc, k, x.data, k, w.data, c.oc, beta, y.data, c.oc);
    ApplyActivation(y.data, m * c.oc, act, alpha);
    return info.Env().Undefined();
  }
  RunTimed(ChoiceFor(ForwardKey(c, b.data != nullptr, act, alpha)), c, [&](bool single, auto ready) {
    ConvForward& e = GetForward(c, b.data != nullptr, act, alpha, single);
    ready();
    dnnl::stream& s = Stream();
    e.src.set_data_handle(x.data);
    e.dst.set_data_handle(y.data);
    e.weights.user.set_data_handle(w.data);
    if (e.weights.reordered) e.weights.to_prim.execute(s, e.weights.user, e.weights.prim);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, e.src},
                                         {DNNL_ARG_WEIGHTS, e.weights.prim},
                                         {DNNL_ARG_DST, e.dst},
                                         {DNNL_ARG_SCRATCHPAD, ScratchpadFor(e.pd)}};
    if (e.with_bias) {
      e.bias.set_data_handle(b.data);
      args.emplace(DNNL_ARG_BIAS, e.bias);
    }
    e.prim.execute(s, args);
    s.wait();
  });
  return info.Env().Undefined();
}

// conv2dBackpropInput(dy, filter, dx, dims)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  F32View dy = ArgF32(info, 0, "dy"), w = ArgF32(info, 1, "filter"), dx = ArgF32(info, 2, "dx");
  ConvDims c = ParseDims(info, 3);
  CheckLength(info, dy, c.n * c.oh * c.ow * c.oc, "dy");
  CheckLength(info, w, c.kh * c.kw * c.ic * c.oc, "filter");
  CheckLength(info, dx, c.n * c.ih * c.iw * c.ic, "dx");

  SignalGuard guard;
  if (IsDense(c)) {  // dx[M, K] = dy[M, OC] . w[K, OC]^T
    const int64_t m = c.n * c.oh * c.ow, k = c.kh * c.kw * c.ic;
    Sgemm(info, 'N', 'T', m, k, c.oc, dy.data, c.oc, w.data, c.oc, 0.f, dx.data, k);
    return info.Env().Undefined();
  }
  RunTimed(ChoiceFor(Key(1, c)), c, [&](bool single, auto ready) {
    if (IsSingleChannelBackwardData(c)) {
      ready();
      SingleChannelBackwardData(info, c, dy.data, w.data, dx.data, single ? 1 : MaxThreads());
      return;
    }
    ConvBackwardData& e = GetBackwardData(c, single);
    ready();
    dnnl::stream& s = Stream();
    e.diff_dst.set_data_handle(dy.data);
    e.diff_src.set_data_handle(dx.data);
    e.weights.user.set_data_handle(w.data);
    if (e.weights.reordered) e.weights.to_prim.execute(s, e.weights.user, e.weights.prim);
    e.prim.execute(s, {{DNNL_ARG_DIFF_DST, e.diff_dst},
                       {DNNL_ARG_WEIGHTS, e.weights.prim},
                       {DNNL_ARG_DIFF_SRC, e.diff_src},
                       {DNNL_ARG_SCRATCHPAD, ScratchpadFor(e.pd)}});
    s.wait();
  });
  return info.Env().Undefined();
}

// conv2dBackpropFilter(x, dy, dw, dims)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  F32View x = ArgF32(info, 0, "x"), dy = ArgF32(info, 1, "dy"), dw = ArgF32(info, 2, "dw");
  ConvDims c = ParseDims(info, 3);
  CheckLength(info, x, c.n * c.ih * c.iw * c.ic, "x");
  CheckLength(info, dy, c.n * c.oh * c.ow * c.oc, "dy");
  CheckLength(info, dw, c.kh * c.kw * c.ic * c.oc, "dw");

  SignalGuard guard;
  if (IsDense(c)) {  // dw[K, OC] = x[M, K]^T . dy[M, OC]
    const int64_t m = c.n * c.oh * c.ow, k = c.kh * c.kw * c.ic;
    Sgemm(info, 'T', 'N', k, c.oc, m, x.data, k, dy.data, c.oc, 0.f, dw.data, c.oc);
    return info.Env().Undefined();
  }
  RunTimed(ChoiceFor(Key(2, c)), c, [&](bool single, auto ready) {
    ConvBackwardWeights& e = GetBackwardWeights(c, single);
    ready();
    dnnl::stream& s = Stream();
    e.src.set_data_handle(x.data);
    e.diff_dst.set_data_handle(dy.data);
    e.diff_weights.user.set_data_handle(dw.data);
    e.prim.execute(s, {{DNNL_ARG_SRC, e.src},
                       {DNNL_ARG_DIFF_DST, e.diff_dst},
                       {DNNL_ARG_DIFF_WEIGHTS, e.diff_weights.prim},
                       {DNNL_ARG_SCRATCHPAD, ScratchpadFor(e.pd)}});
    if (e.diff_weights.reordered) e.diff_weights.to_user.execute(s, e.diff_weights.prim, e.diff_weights.user);
    s.wait();
  });
  return info.Env().Undefined();
}

// The implementation oneDNN picked for a forward/backward primitive of these dims.
Napi::Value ConvImpl(const Napi::CallbackInfo& info) {
  ConvDims c = ParseDims(info, 0);
  int kind = static_cast<int>(ArgInt(info, 1));
  SignalGuard guard;
  if (IsDense(c)) return Napi::String::New(info.Env(), "sgemm");
  if (kind == 1 && IsSingleChannelBackwardData(c)) return Napi::String::New(info.Env(), "sgemm+shifted adds");
  const char* name = kind == 0   ? GetForward(c, true, kRelu, 0.f, false).pd.impl_info_str()
                     : kind == 1 ? GetBackwardData(c, false).pd.impl_info_str()
                                 : GetBackwardWeights(c, false).pd.impl_info_str();
  return Napi::String::New(info.Env(), name);
}

}  // namespace

void InitConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("convImpl", Napi::Function::New(env, ConvImpl));
}

}  // namespace onednn_tfjs
