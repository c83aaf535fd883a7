// Elementwise float32 kernels: unary maps and broadcasting binary ops, with the
// tfjs-cpu semantics (NaN propagation of Math.max/min, Step's NaN passthrough).
#include <algorithm>
#include <cmath>

#include "common.h"

namespace onednn_tfjs {
namespace {

// Unary op codes, as src/native.ts numbers them.
enum Unary : int {
  kURelu = 0,
  kURelu6 = 1,
  kUStep = 2,
  kUExp = 3,
  kULog = 4,
  kUNeg = 5,
  kUSqrt = 6,
  kURsqrt = 7,
  kUSquare = 8,
  kUAbs = 9,
  kUSigmoid = 10,
  kUTanh = 11,
  kUReciprocal = 12,
  kULeakyRelu = 13,
  kUElu = 14,
  kULog1p = 15,
  kUFloor = 16,
  kUCeil = 17,
};

template <typename F>
void Map(const float* x, float* y, int64_t n, F f) {
  ParallelFor(n, 1, [=](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}

// For functions the compiler cannot vectorize (libm calls).
template <typename F>
void MapScalar(const float* x, float* y, int64_t n, F f) {
  ParallelFor(n, 1, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}

// unary(op, x, y, alpha)
Napi::Value UnaryOp(const Napi::CallbackInfo& info) {
  int op = static_cast<int>(ArgInt(info, 0));
  F32View x = ArgF32(info, 1, "x"), y = ArgF32(info, 2, "y");
  Require(info, x.length == y.length, "unary: length mismatch");
  const float alpha = ArgFloat(info, 3);
  const int64_t n = static_cast<int64_t>(x.length);
  const float* xs = x.data;
  float* ys = y.data;
  switch (op) {
    case kURelu: Map(xs, ys, n, [](float v) { return v > 0.f ? v : (v != v ? v : 0.f); }); break;
    case kURelu6: Map(xs, ys, n, [](float v) { return v != v ? v : std::min(std::max(v, 0.f), 6.f); }); break;
    case kUStep: Map(xs, ys, n, [alpha](float v) { return v != v ? v : (v > 0.f ? 1.f : alpha); }); break;
    case kUExp: MapScalar(xs, ys, n, [](float v) { return std::exp(v); }); break;
    case kULog: MapScalar(xs, ys, n, [](float v) { return std::log(v); }); break;
    case kUNeg: Map(xs, ys, n, [](float v) { return -v; }); break;
    case kUSqrt: Map(xs, ys, n, [](float v) { return std::sqrt(v); }); break;
    case kURsqrt: Map(xs, ys, n, [](float v) { return 1.f / std::sqrt(v); }); break;
    case kUSquare: Map(xs, ys, n, [](float v) { return v * v; }); break;
    case kUAbs: Map(xs, ys, n, [](float v) { return std::fabs(v); }); break;
    case kUSigmoid: MapScalar(xs, ys, n, [](float v) { return 1.f / (1.f + std::exp(-v)); }); break;
    case kUTanh: MapScalar(xs, ys, n, [](float v) { return std::tanh(v); }); break;
    case kUReciprocal: Map(xs, ys, n, [](float v) { return 1.f / v; }); break;
    case kULeakyRelu: Map(xs, ys, n, [alpha](float v) { return v < 0.f ? alpha * v : v; }); break;
    case kUElu: MapScalar(xs, ys, n, [](float v) { return v >= 0.f ? v : std::expm1(v); }); break;
    case kULog1p: MapScalar(xs, ys, n, [](float v) { return std::log1p(v); }); break;
    case kUFloor: Map(xs, ys, n, [](float v) { return std::floor(v); }); break;
    case kUCeil: Map(xs, ys, n, [](float v) { return std::ceil(v); }); break;
    default: throw Napi::RangeError::New(info.Env(), "unknown unary op");
  }
  return info.Env().Undefined();
}

// Binary op codes, as src/native.ts numbers them.
enum Binary : int {
  kBAdd = 0,
  kBSub = 1,
  kBMul = 2,
  kBDiv = 3,
  kBMax = 4,
  kBMin = 5,
  kBSquaredDiff = 6,
  kBPow = 7,
  kBReluGrad = 8,
};

struct AddF {
  float operator()(float a, float b) const { return a + b; }
};
struct SubF {
  float operator()(float a, float b) const { return a - b; }
};
struct MulF {
  float operator()(float a, float b) const { return a * b; }
};
struct DivF {
  float operator()(float a, float b) const { return a / b; }
};
struct MaxF {
  float operator()(float a, float b) const { return (a != a || b != b) ? NAN : (a > b ? a : b); }
};
struct MinF {
  float operator()(float a, float b) const { return (a != a || b != b) ? NAN : (a < b ? a : b); }
};
struct SqDiffF {
  float operator()(float a, float b) const {
    float d = a - b;
    return d * d;
  }
};
struct PowF {
  float operator()(float a, float b) const { return std::pow(a, b); }
};
// dy * step(x), as tfjs's Relu gradient computes it in two kernels (NaN x passes through).
// Written as a select of the step, then the NaN: GCC vectorizes this form, not the nested one.
struct ReluGradF {
  float operator()(float dy, float x) const {
    float s = x > 0.f ? 1.f : 0.f;
    s = x != x ? x : s;
    return dy * s;
  }
};

constexpr int kMaxRank = 8;

// Broadcast layout after merging adjacent dims that broadcast the same way.
struct Layout {
  int rank = 0;
  int64_t out[kMaxRank];
  int64_t sa[kMaxRank];  // element strides (0 where broadcast)
  int64_t sb[kMaxRank];
};

bool MakeLayout(const std::vector<int64_t>& as, const std::vector<int64_t>& bs, const std::vector<int64_t>& os,
                Layout& L) {
  const int r = static_cast<int>(os.size());
  if (r > kMaxRank || as.size() > os.size() || bs.size() > os.size()) return false;
  // Right-align shapes; a dim is "present" for an operand when it is not broadcast there.
  std::vector<int64_t> ad(r, 1), bd(r, 1);
  for (size_t i = 0; i < as.size(); ++i) ad[r - as.size() + i] = as[i];
  for (size_t i = 0; i < bs.size(); ++i) bd[r - bs.size() + i] = bs[i];
  int64_t dims[kMaxRank];
  bool pa[kMaxRank], pb[kMaxRank];
  int m = 0;
  for (int i = 0; i < r; ++i) {
    if (os[i] == 1) continue;
    if ((ad[i] != 1 && ad[i] != os[i]) || (bd[i] != 1 && bd[i] != os[i])) return false;
    bool a_here = ad[i] != 1, b_here = bd[i] != 1;
    if (m > 0 && pa[m - 1] == a_here && pb[m - 1] == b_here) {
      dims[m - 1] *= os[i];
    } else {
      dims[m] = os[i];
      pa[m] = a_here;
      pb[m] = b_here;
      ++m;
    }
  }
  L.rank = m;
  int64_t stride_a = 1, stride_b = 1;
  for (int i = m - 1; i >= 0; --i) {
    L.out[i] = dims[i];
    L.sa[i] = pa[i] ? stride_a : 0;
    L.sb[i] = pb[i] ? stride_b : 0;
    if (pa[i]) stride_a *= dims[i];
    if (pb[i]) stride_b *= dims[i];
  }
  return true;
}

// out[i] = f(a[i], pattern[i % len]) for a full `a` and a short repeating pattern: the
// pattern is tiled into a block of at least 64 floats so the inner loop vectorizes.
template <typename F, bool kPatternFirst>
void ApplyRepeating(const float* full, const float* pattern, int64_t len, float* out, int64_t n, F f) {
  int64_t reps = std::max<int64_t>(1, (64 + len - 1) / len);
  const int64_t block = reps * len;
  std::vector<float> tile(block);
  for (int64_t r = 0; r < reps; ++r) std::memcpy(tile.data() + r * len, pattern, len * sizeof(float));
  const float* t = tile.data();
  const int64_t blocks = n / block;
  ParallelFor(blocks, block, [=](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const float* x = full + k * block;
      float* y = out + k * block;
#pragma omp simd
      for (int64_t j = 0; j < block; ++j) y[j] = kPatternFirst ? f(t[j], x[j]) : f(x[j], t[j]);
    }
  });
  for (int64_t i = blocks * block; i < n; ++i) {
    const float p = t[i - blocks * block];
    out[i] = kPatternFirst ? f(p, full[i]) : f(full[i], p);
  }
}

template <typename F>
void Broadcast(const float* a, const float* b, float* y, const Layout& L, int64_t n, F f) {
  if (L.rank == 0) {
    y[0] = f(a[0], b[0]);
    return;
  }
  const int last = L.rank - 1;
  const int64_t inner = L.out[last];
  const int64_t ia = L.sa[last], ib = L.sb[last];
  // Whole-array fast paths.
  if (L.rank == 1) {
    if (ia && ib) {
      ParallelFor(n, 1, [=](int64_t s, int64_t e) {
#pragma omp simd
        for (int64_t i = s; i < e; ++i) y[i] = f(a[i], b[i]);
      });
    } else if (ia) {
      const float bv = b[0];
      ParallelFor(n, 1, [=](int64_t s, int64_t e) {
#pragma omp simd
        for (int64_t i = s; i < e; ++i) y[i] = f(a[i], bv);
      });
    } else {
      const float av = a[0];
      ParallelFor(n, 1, [=](int64_t s, int64_t e) {
#pragma omp simd
        for (int64_t i = s; i < e; ++i) y[i] = f(av, b[i]);
      });
    }
    return;
  }
  if (L.rank == 2 && L.sa[0] && ia && !L.sb[0] && ib && inner < 256) {
    ApplyRepeating<F, false>(a, b, inner, y, n, f);
    return;
  }
  if (L.rank == 2 && L.sb[0] && ib && !L.sa[0] && ia && inner < 256) {
    ApplyRepeating<F, true>(b, a, inner, y, n, f);
    return;
  }
  // General: walk the outer index space, one contiguous inner row at a time.
  const int64_t rows = n / inner;
  ParallelFor(rows, inner, [&](int64_t row_begin, int64_t row_end) {
    for (int64_t row = row_begin; row < row_end; ++row) {
      int64_t rem = row, oa = 0, ob = 0;
      for (int d = last - 1; d >= 0; --d) {
        const int64_t idx = rem % L.out[d];
        rem /= L.out[d];
        oa += idx * L.sa[d];
        ob += idx * L.sb[d];
      }
      const float* ar = a + oa;
      const float* br = b + ob;
      float* yr = y + row * inner;
      if (ia && ib) {
#pragma omp simd
        for (int64_t i = 0; i < inner; ++i) yr[i] = f(ar[i], br[i]);
      } else if (ia) {
        const float bv = br[0];
#pragma omp simd
        for (int64_t i = 0; i < inner; ++i) yr[i] = f(ar[i], bv);
      } else if (ib) {
        const float av = ar[0];
#pragma omp simd
        for (int64_t i = 0; i < inner; ++i) yr[i] = f(av, br[i]);
      } else {
        const float v = f(ar[0], br[0]);
        for (int64_t i = 0; i < inner; ++i) yr[i] = v;
      }
    }
  });
}

// binary(op, a, b, y, shapes) with shapes = [rank a, rank b, rank y, a dims, b dims, y dims]
Napi::Value BinaryOp(const Napi::CallbackInfo& info) {
  int op = static_cast<int>(ArgInt(info, 0));
  F32View a = ArgF32(info, 1, "a");
  F32View b = ArgF32(info, 2, "b");
  F32View y = ArgF32(info, 3, "y");
  std::vector<int64_t> ranks = ArgInts(info, 4, 3, "shapes");
  Require(info,
          ranks[0] <= kMaxRank && ranks[1] <= kMaxRank && ranks[2] <= kMaxRank && ranks[0] >= 0 && ranks[1] >= 0 &&
              ranks[2] >= 0,
          "binary: rank too large");
  std::vector<int64_t> all = ArgInts(info, 4, 3 + ranks[0] + ranks[1] + ranks[2], "shapes");
  std::vector<int64_t> as(all.begin() + 3, all.begin() + 3 + ranks[0]);
  std::vector<int64_t> bs(all.begin() + 3 + ranks[0], all.begin() + 3 + ranks[0] + ranks[1]);
  std::vector<int64_t> os(all.begin() + 3 + ranks[0] + ranks[1], all.end());
  const int64_t n = Product(os);
  Require(info, static_cast<int64_t>(y.length) == n, "y: wrong length");
  Require(info, static_cast<int64_t>(a.length) == Product(as), "a: wrong length");
  Require(info, static_cast<int64_t>(b.length) == Product(bs), "b: wrong length");
  if (n == 0) return info.Env().Undefined();
  Layout L;
  Require(info, MakeLayout(as, bs, os, L), "binary: shapes do not broadcast");
  switch (op) {
    case kBAdd: Broadcast(a.data, b.data, y.data, L, n, AddF{}); break;
    case kBSub: Broadcast(a.data, b.data, y.data, L, n, SubF{}); break;
    case kBMul: Broadcast(a.data, b.data, y.data, L, n, MulF{}); break;
    case kBDiv: Broadcast(a.data, b.data, y.data, L, n, DivF{}); break;
    case kBMax: Broadcast(a.data, b.data, y.data, L, n, MaxF{}); break;
    case kBMin: Broadcast(a.data, b.data, y.data, L, n, MinF{}); break;
    case kBSquaredDiff: Broadcast(a.data, b.data, y.data, L, n, SqDiffF{}); break;
    case kBPow: Broadcast(a.data, b.data, y.data, L, n, PowF{}); break;
    case kBReluGrad: Broadcast(a.data, b.data, y.data, L, n, ReluGradF{}); break;
    default: throw Napi::RangeError::New(info.Env(), "unknown binary op");
  }
  return info.Env().Undefined();
}

// addN(y, x0, x1, ...): y = sum of same-length arrays.
Napi::Value AddN(const Napi::CallbackInfo& info) {
  F32View y = ArgF32(info, 0, "y");
  const size_t k = info.Length() - 1;
  std::vector<const float*> xs(k);
  for (size_t j = 0; j < k; ++j) {
    F32View x = ArgF32(info, j + 1, "x");
    Require(info, x.length == y.length, "addN: length mismatch");
    xs[j] = x.data;
  }
  const int64_t n = static_cast<int64_t>(y.length);
  float* ys = y.data;
  // Same order as the cpu kernel: ((x0 + x1) + x2) + ...
  ParallelFor(n, 1, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) ys[i] = xs[0][i];
    for (size_t j = 1; j < k; ++j) {
      const float* x = xs[j];
#pragma omp simd
      for (int64_t i = b; i < e; ++i) ys[i] += x[i];
    }
  });
  return info.Env().Undefined();
}

// tile(x, y, dims) with dims = [rank, ...x shape, ...reps]: y = x repeated reps[d]
// times along each axis d. Built from memcpy: each axis lays out its block once, then
// copies it reps - 1 times, so the work is one pass over y.
void TileAxis(const float* x, float* y, int rank, int d, const int64_t* xs, const int64_t* reps, const int64_t* xstride,
              const int64_t* ystride) {
  const int64_t block = xs[d] * (d + 1 < rank ? ystride[d] : 1);  // one copy of x along d, in y
  if (d + 1 == rank) {
    std::memcpy(y, x, xs[d] * sizeof(float));
  } else {
    for (int64_t i = 0; i < xs[d]; ++i)
      TileAxis(x + i * xstride[d], y + i * ystride[d], rank, d + 1, xs, reps, xstride, ystride);
  }
  for (int64_t r = 1; r < reps[d]; ++r) std::memcpy(y + r * block, y, block * sizeof(float));
}

Napi::Value Tile(const Napi::CallbackInfo& info) {
  F32View x = ArgF32(info, 0, "x"), y = ArgF32(info, 1, "y");
  const int rank = static_cast<int>(ArgInts(info, 2, 1, "dims")[0]);
  Require(info, rank >= 1 && rank <= kMaxRank, "tile: bad rank");
  std::vector<int64_t> d = ArgInts(info, 2, 1 + 2 * rank, "dims");
  const int64_t* xs = d.data() + 1;
  const int64_t* reps = d.data() + 1 + rank;
  int64_t xstride[kMaxRank], ystride[kMaxRank];
  int64_t xn = 1, yn = 1;
  for (int i = rank - 1; i >= 0; --i) {
    xstride[i] = xn;
    ystride[i] = yn;
    xn *= xs[i];
    yn *= xs[i] * reps[i];
  }
  Require(info, static_cast<int64_t>(x.length) == xn && static_cast<int64_t>(y.length) == yn, "tile: wrong length");
  if (yn == 0) return info.Env().Undefined();
  // ystride[i] is the y extent of one step along axis i (reps included below it).
  TileAxis(x.data, y.data, rank, 0, xs, reps, xstride, ystride);
  return info.Env().Undefined();
}

// momentumUpdate(value, accum, grad, newValue, newAccum, c, m): tfjs's MomentumOptimizer
// step for one variable in one pass instead of four kernels: newAccum = m * accum + grad,
// newValue = c * newAccum + value (c = -learning rate), rounded as those kernels round
// (fp-contract off: no fused multiply-add), so the result is the same to the bit.
__attribute__((optimize("fp-contract=off"))) void MomentumLoop(const float* v, const float* a, const float* g,
                                                               float* nv, float* na, int64_t n, float c, float m) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float acc = m * a[i] + g[i];
    na[i] = acc;
    nv[i] = c * acc + v[i];
  }
}

Napi::Value MomentumUpdate(const Napi::CallbackInfo& info) {
  F32View v = ArgF32(info, 0, "value"), a = ArgF32(info, 1, "accum"), g = ArgF32(info, 2, "grad");
  F32View nv = ArgF32(info, 3, "newValue"), na = ArgF32(info, 4, "newAccum");
  Require(info, a.length == v.length && g.length == v.length && nv.length == v.length && na.length == v.length,
          "momentumUpdate: length mismatch");
  MomentumLoop(v.data, a.data, g.data, nv.data, na.data, static_cast<int64_t>(v.length), ArgFloat(info, 5),
               ArgFloat(info, 6));
  return info.Env().Undefined();
}

}  // namespace

void InitEltwise(Napi::Env env, Napi::Object exports) {
  exports.Set("unary", Napi::Function::New(env, UnaryOp));
  exports.Set("binary", Napi::Function::New(env, BinaryOp));
  exports.Set("addN", Napi::Function::New(env, AddN));
  exports.Set("tile", Napi::Function::New(env, Tile));
  exports.Set("momentumUpdate", Napi::Function::New(env, MomentumUpdate));
}

}  // namespace onednn_tfjs
