// The general convolution kernels on oneDNN primitives (forward with fused bias +
// activation, backward data, backward weights), cached per shape and thread count.
//
// Activations stay in the tensors' own NHWC buffers (oneDNN "nhwc"); filters are tfjs
// HWIO (oneDNN "hwio"). When a primitive wants its weights in a blocked layout, the
// filter is reordered into a buffer owned by the cache entry (filters are small).
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>

#include "common.h"
#include "conv.h"

namespace onednn_tfjs {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

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

// oneDNN 3.0 dropped the operation descriptors (convolution_forward::desc, ...): a
// primitive descriptor is made from the engine and the shapes directly, and eltwise
// post-ops lost their scale. The three Make* functions below hide the difference.
#if DNNL_VERSION_MAJOR >= 3
dnnl::convolution_forward::primitive_desc MakeForward(const Mds& m, prop_kind kind, bool with_bias,
                                                      const dnnl::primitive_attr& attr) {
  return with_bias ? dnnl::convolution_forward::primitive_desc(Engine(), kind, algorithm::convolution_direct, m.src,
                                                               m.weights_any, m.bias, m.dst, m.strides, m.dilates,
                                                               m.pad_l, m.pad_r, attr)
                   : dnnl::convolution_forward::primitive_desc(Engine(), kind, algorithm::convolution_direct, m.src,
                                                               m.weights_any, m.dst, m.strides, m.dilates, m.pad_l,
                                                               m.pad_r, attr);
}

dnnl::convolution_backward_data::primitive_desc MakeBackwardData(
    const Mds& m, const dnnl::convolution_forward::primitive_desc& hint) {
  return dnnl::convolution_backward_data::primitive_desc(Engine(), algorithm::convolution_direct, m.src, m.weights_any,
                                                         m.dst, m.strides, m.dilates, m.pad_l, m.pad_r, hint,
                                                         ScratchpadAttr());
}

dnnl::convolution_backward_weights::primitive_desc MakeBackwardWeights(
    const Mds& m, const dnnl::convolution_forward::primitive_desc& hint) {
  return dnnl::convolution_backward_weights::primitive_desc(Engine(), algorithm::convolution_direct, m.src,
                                                            m.weights_any, m.dst, m.strides, m.dilates, m.pad_l,
                                                            m.pad_r, hint, ScratchpadAttr());
}

void AppendEltwise(dnnl::post_ops& po, algorithm alg, float alpha, float beta) { po.append_eltwise(alg, alpha, beta); }
#else
dnnl::convolution_forward::primitive_desc MakeForward(const Mds& m, prop_kind kind, bool with_bias,
                                                      const dnnl::primitive_attr& attr) {
  auto d = with_bias ? dnnl::convolution_forward::desc(kind, algorithm::convolution_direct, m.src, m.weights_any,
                                                       m.bias, m.dst, m.strides, m.dilates, m.pad_l, m.pad_r)
                     : dnnl::convolution_forward::desc(kind, algorithm::convolution_direct, m.src, m.weights_any, m.dst,
                                                       m.strides, m.dilates, m.pad_l, m.pad_r);
  return dnnl::convolution_forward::primitive_desc(d, attr, Engine());
}

dnnl::convolution_backward_data::primitive_desc MakeBackwardData(
    const Mds& m, const dnnl::convolution_forward::primitive_desc& hint) {
  dnnl::convolution_backward_data::desc d(algorithm::convolution_direct, m.src, m.weights_any, m.dst, m.strides,
                                          m.dilates, m.pad_l, m.pad_r);
  return dnnl::convolution_backward_data::primitive_desc(d, ScratchpadAttr(), Engine(), hint);
}

dnnl::convolution_backward_weights::primitive_desc MakeBackwardWeights(
    const Mds& m, const dnnl::convolution_forward::primitive_desc& hint) {
  dnnl::convolution_backward_weights::desc d(algorithm::convolution_direct, m.src, m.weights_any, m.dst, m.strides,
                                             m.dilates, m.pad_l, m.pad_r);
  return dnnl::convolution_backward_weights::primitive_desc(d, ScratchpadAttr(), Engine(), hint);
}

void AppendEltwise(dnnl::post_ops& po, algorithm alg, float alpha, float beta) {
  po.append_eltwise(1.f, alg, alpha, beta);
}
#endif

dnnl::convolution_forward::primitive_desc ForwardHint(const Mds& m) {
  return MakeForward(m, prop_kind::forward_training, false, dnnl::primitive_attr());
}

// A filter in tfjs layout, possibly reordered into the layout a primitive wants.
struct Weights {
  memory user;
  memory prim;
  std::vector<float> storage;
  dnnl::reorder to_prim;  // user -> prim (forward, backward data)
  dnnl::reorder to_user;  // prim -> user (backward weights)
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
    case kRelu: AppendEltwise(po, algorithm::eltwise_relu, 0.f, 0.f); break;
    case kRelu6: AppendEltwise(po, algorithm::eltwise_clip, 0.f, 6.f); break;
    case kLeakyRelu: AppendEltwise(po, algorithm::eltwise_relu, alpha, 0.f); break;
    case kElu: AppendEltwise(po, algorithm::eltwise_elu, 1.f, 0.f); break;
    case kSigmoid: AppendEltwise(po, algorithm::eltwise_logistic, 0.f, 0.f); break;
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
  return ConvKey(0, c, with_bias ? 1 + act : -(1 + act), alpha_bits);
}

// Primitives are made per thread count (`single`: one thread, else all): oneDNN fixes a
// primitive's work split when it creates it.
ConvForward& GetForward(const ConvDims& c, bool with_bias, int act, float alpha, bool single) {
  static Cache<ConvForward> cache;
  auto key = ForwardKey(c, with_bias, act, alpha);
  key.push_back(single);
  return Cached(cache, std::move(key), single, [&] {
    Mds m = MakeMds(c);
    dnnl::primitive_attr attr = ScratchpadAttr();
    if (act != kLinear) {
      dnnl::post_ops po;
      AppendActivation(po, act, alpha);
      attr.set_post_ops(po);
    }
    auto e = std::make_unique<ConvForward>();
    e->pd = MakeForward(m, prop_kind::forward_inference, with_bias, attr);
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
  return Cached(cache, ConvKey(1, c, single), single, [&] {
    Mds m = MakeMds(c);
    auto e = std::make_unique<ConvBackwardData>();
    e->pd = MakeBackwardData(m, ForwardHint(m));
    e->prim = dnnl::convolution_backward_data(e->pd);
    e->diff_src = memory(m.src, Engine(), nullptr);
    e->diff_dst = memory(m.dst, Engine(), nullptr);
    e->weights.Init(m.weights_user, e->pd.weights_desc(), false);
    return e;
  });
}

ConvBackwardWeights& GetBackwardWeights(const ConvDims& c, bool single) {
  static Cache<ConvBackwardWeights> cache;
  return Cached(cache, ConvKey(2, c, single), single, [&] {
    Mds m = MakeMds(c);
    auto e = std::make_unique<ConvBackwardWeights>();
    e->pd = MakeBackwardWeights(m, ForwardHint(m));
    e->prim = dnnl::convolution_backward_weights(e->pd);
    e->src = memory(m.src, Engine(), nullptr);
    e->diff_dst = memory(m.dst, Engine(), nullptr);
    e->diff_weights.Init(m.weights_user, e->pd.diff_weights_desc(), true);
    return e;
  });
}

}  // namespace

void ConvForwardGeneral(const ConvDims& c, const float* x, const float* w, const float* bias, float* y, int act,
                        float alpha, bool single) {
  SignalGuard guard;
  SingleThreaded threads(single);
  ConvForward& e = GetForward(c, bias != nullptr, act, alpha, single);
  dnnl::stream& s = Stream();
  e.src.set_data_handle(const_cast<float*>(x));
  e.dst.set_data_handle(y);
  e.weights.user.set_data_handle(const_cast<float*>(w));
  if (e.weights.reordered) e.weights.to_prim.execute(s, e.weights.user, e.weights.prim);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, e.src},
                                       {DNNL_ARG_WEIGHTS, e.weights.prim},
                                       {DNNL_ARG_DST, e.dst},
                                       {DNNL_ARG_SCRATCHPAD, ScratchpadFor(e.pd)}};
  if (e.with_bias) {
    e.bias.set_data_handle(const_cast<float*>(bias));
    args.emplace(DNNL_ARG_BIAS, e.bias);
  }
  e.prim.execute(s, args);
  s.wait();
}

void ConvBackwardDataGeneral(const ConvDims& c, const float* dy, const float* w, float* dx, bool single) {
  SignalGuard guard;
  SingleThreaded threads(single);
  ConvBackwardData& e = GetBackwardData(c, single);
  dnnl::stream& s = Stream();
  e.diff_dst.set_data_handle(const_cast<float*>(dy));
  e.diff_src.set_data_handle(dx);
  e.weights.user.set_data_handle(const_cast<float*>(w));
  if (e.weights.reordered) e.weights.to_prim.execute(s, e.weights.user, e.weights.prim);
  e.prim.execute(s, {{DNNL_ARG_DIFF_DST, e.diff_dst},
                     {DNNL_ARG_WEIGHTS, e.weights.prim},
                     {DNNL_ARG_DIFF_SRC, e.diff_src},
                     {DNNL_ARG_SCRATCHPAD, ScratchpadFor(e.pd)}});
  s.wait();
}

// oneDNN's backward weights sums the batch per thread, so its result depends on the
// thread count. Instead the batch is cut into chunks of kWeightsChunk images (fixed by
// the shape alone); each chunk runs a one-thread primitive on one thread, into its own
// partial filter gradient, and the partials are added in chunk order: the same bits on
// any thread count, so the team may be used whenever it is faster (TeamPolicy).
constexpr int64_t kWeightsChunk = 16;

void ConvBackwardWeightsGeneral(const ConvDims& c, const float* x, const float* dy, float* dw, bool single) {
  SignalGuard guard;
  const int64_t chunks = (c.n + kWeightsChunk - 1) / kWeightsChunk;
  const int64_t size = c.kh * c.kw * c.ic * c.oc;
  ConvDims full = c, last = c;
  full.n = std::min(c.n, kWeightsChunk);
  last.n = c.n - (chunks - 1) * full.n;
  // Made here, on the calling thread: the caches are not shared-safe.
  ConvBackwardWeights* primitives[2];
  {
    SingleThreaded one(true);
    primitives[0] = &GetBackwardWeights(full, true);
    primitives[1] = last.n == full.n ? primitives[0] : &GetBackwardWeights(last, true);
  }
  static std::vector<float> partials;
  if (partials.size() < static_cast<size_t>(chunks * size)) partials.resize(chunks * size);
  float* parts = partials.data();
  const int64_t x_image = c.ih * c.iw * c.ic, dy_image = c.oh * c.ow * c.oc;
  std::string failure;
#pragma omp parallel for schedule(static) num_threads(single ? 1 : MaxThreads()) if (!single && chunks > 1)
  for (int64_t ch = 0; ch < chunks; ++ch) {
    try {
      ConvBackwardWeights& e = *primitives[ch == chunks - 1 ? 1 : 0];
      // Per-thread memory objects, stream and scratchpad: the cached ones are not thread-safe.
      thread_local dnnl::stream stream(Engine());
      thread_local std::vector<uint8_t> scratch;
      thread_local std::vector<float> blocked;
      const memory::desc scratch_md = e.pd.scratchpad_desc();
      if (scratch.size() < scratch_md.get_size()) scratch.resize(scratch_md.get_size());
      memory src(e.src.get_desc(), Engine(), const_cast<float*>(x + ch * full.n * x_image));
      memory diff_dst(e.diff_dst.get_desc(), Engine(), const_cast<float*>(dy + ch * full.n * dy_image));
      memory user(e.diff_weights.user.get_desc(), Engine(), parts + ch * size);
      memory out = user;
      if (e.diff_weights.reordered) {
        const memory::desc md = e.diff_weights.prim.get_desc();
        if (blocked.size() < md.get_size() / sizeof(float) + 1) blocked.resize(md.get_size() / sizeof(float) + 1);
        out = memory(md, Engine(), blocked.data());
      }
      e.prim.execute(stream, {{DNNL_ARG_SRC, src},
                              {DNNL_ARG_DIFF_DST, diff_dst},
                              {DNNL_ARG_DIFF_WEIGHTS, out},
                              {DNNL_ARG_SCRATCHPAD, memory(scratch_md, Engine(), scratch.data())}});
      if (e.diff_weights.reordered) e.diff_weights.to_user.execute(stream, {{DNNL_ARG_FROM, out}, {DNNL_ARG_TO, user}});
      stream.wait();
    } catch (const std::exception& err) {
#pragma omp critical(onednn_tfjs_weights_failure)
      failure = err.what();
    }
  }
  if (!failure.empty()) throw std::runtime_error(failure);
  std::memcpy(dw, parts, size * sizeof(float));
  for (int64_t ch = 1; ch < chunks; ++ch) {
    for (int64_t i = 0; i < size; ++i) dw[i] += parts[ch * size + i];
  }
}

std::string ConvGeneralImpl(const ConvDims& c, int kind) {
  SignalGuard guard;
  return kind == 0   ? GetForward(c, true, kRelu, 0.f, false).pd.impl_info_str()
         : kind == 1 ? GetBackwardData(c, false).pd.impl_info_str()
                     : GetBackwardWeights(c, false).pd.impl_info_str();
}

}  // namespace onednn_tfjs
