// Reductions over one contiguous block of axes, seen as [outer, reduce, inner], and
// row-wise softmax. Sums accumulate in double, like the tfjs cpu kernels (JS numbers).
#include <algorithm>
#include <cmath>
#include <limits>

#include "common.h"

namespace onednn_tfjs {
namespace {

enum Reduce : int { kSum = 0, kMax = 1, kMin = 2, kMean = 3, kProd = 4 };

struct SumOp {
  using Acc = double;
  static Acc Init() { return 0.0; }
  static Acc Step(Acc a, float v) { return a + v; }
  static Acc Merge(Acc a, Acc b) { return a + b; }
};
struct ProdOp {
  using Acc = double;
  static Acc Init() { return 1.0; }
  static Acc Step(Acc a, float v) { return a * v; }
  static Acc Merge(Acc a, Acc b) { return a * b; }
};
// Math.max semantics: NaN wins.
struct MaxOp {
  using Acc = float;
  static Acc Init() { return -std::numeric_limits<float>::infinity(); }
  static Acc Step(Acc a, float v) { return (v > a || v != v) ? v : a; }
  static Acc Merge(Acc a, Acc b) { return Step(a, b); }
};
struct MinOp {
  using Acc = float;
  static Acc Init() { return std::numeric_limits<float>::infinity(); }
  static Acc Step(Acc a, float v) { return (v < a || v != v) ? v : a; }
  static Acc Merge(Acc a, Acc b) { return Step(a, b); }
};

// Reduce each contiguous run of `len` floats (inner == 1).
template <typename Op>
void ReduceRows(const float* x, int64_t outer, int64_t len, float* y, double scale) {
  using Acc = typename Op::Acc;
  for (int64_t o = 0; o < outer; ++o) {
    const float* r = x + o * len;
    // Eight independent accumulators let the compiler vectorize across them.
    Acc acc[8];
    for (auto& a : acc) a = Op::Init();
    int64_t i = 0;
    for (; i + 8 <= len; i += 8) {
      for (int j = 0; j < 8; ++j) acc[j] = Op::Step(acc[j], r[i + j]);
    }
    Acc total = Op::Init();
    for (int j = 0; j < 8; ++j) total = Op::Merge(total, acc[j]);
    for (; i < len; ++i) total = Op::Step(total, r[i]);
    y[o] = static_cast<float>(total * scale);
  }
}

// y[o, i] = reduce over r of x[o, r, i] (inner > 1). Rows of the [R, inner] slab are
// folded into a wider accumulator (a multiple of `inner` of at least 64 lanes) so that
// a short inner dimension (e.g. 6 channels) still vectorizes. The slab is cut into
// chunks fixed by its shape alone; threads take whole chunks, and the chunks' partial
// results are merged in chunk order, so the result has the same bits on one thread or
// many (a seeded run reproduces whichever path the thread choice takes).
template <typename Op>
void ReduceColumns(const float* x, int64_t outer, int64_t red, int64_t inner, float* y, double scale) {
  using Acc = typename Op::Acc;
  const int64_t group = inner >= 64 ? 1 : (64 + inner - 1) / inner;  // rows folded per lane block
  const int64_t width = group * inner;
  const int64_t blocks = red / group;
  const int64_t per_chunk = std::max<int64_t>(1, kReduceChunk / width), chunks = (blocks + per_chunk - 1) / per_chunk;
  std::vector<Acc> partial(std::max<int64_t>(chunks, 1) * width);
  for (int64_t o = 0; o < outer; ++o) {
    const float* slab = x + o * red * inner;
    std::fill(partial.begin(), partial.end(), Op::Init());
    Acc* parts = partial.data();
    ParallelFor(chunks, per_chunk * width, [=](int64_t b, int64_t e) {
      for (int64_t ch = b; ch < e; ++ch) {
        Acc* __restrict acc = parts + ch * width;
        for (int64_t k = ch * per_chunk; k < std::min(blocks, (ch + 1) * per_chunk); ++k) {
          const float* blk = slab + k * width;
#pragma omp simd
          for (int64_t j = 0; j < width; ++j) acc[j] = Op::Step(acc[j], blk[j]);
        }
      }
    });
    for (int64_t ch = 1; ch < chunks; ++ch) {
      for (int64_t j = 0; j < width; ++j) parts[j] = Op::Merge(parts[j], parts[ch * width + j]);
    }
    for (int64_t i = 0; i < inner; ++i) {
      Acc sum = Op::Init();
      for (int64_t g = 0; g < group; ++g) sum = Op::Merge(sum, parts[g * inner + i]);
      for (int64_t r = blocks * group; r < red; ++r) sum = Op::Step(sum, slab[r * inner + i]);
      y[o * inner + i] = static_cast<float>(sum * scale);
    }
  }
}

template <typename Op>
void ReduceAny(const float* x, int64_t outer, int64_t red, int64_t inner, float* y, double scale) {
  if (inner == 1) {
    ReduceRows<Op>(x, outer, red, y, scale);
  } else {
    ReduceColumns<Op>(x, outer, red, inner, y, scale);
  }
}

// reduce(op, x, outer, reduce, inner, y)
Napi::Value ReduceOp(const Napi::CallbackInfo& info) {
  int op = static_cast<int>(ArgInt(info, 0));
  F32View x = ArgF32(info, 1, "x");
  const int64_t outer = ArgInt(info, 2), red = ArgInt(info, 3), inner = ArgInt(info, 4);
  F32View y = ArgF32(info, 5, "y");
  Require(info, static_cast<int64_t>(x.length) == outer * red * inner, "x: wrong length");
  Require(info, static_cast<int64_t>(y.length) == outer * inner, "y: wrong length");
  if (outer * inner == 0) return info.Env().Undefined();
  switch (op) {
    case kSum: ReduceAny<SumOp>(x.data, outer, red, inner, y.data, 1.0); break;
    case kMean: ReduceAny<SumOp>(x.data, outer, red, inner, y.data, 1.0 / static_cast<double>(red)); break;
    case kProd: ReduceAny<ProdOp>(x.data, outer, red, inner, y.data, 1.0); break;
    case kMax: ReduceAny<MaxOp>(x.data, outer, red, inner, y.data, 1.0); break;
    case kMin: ReduceAny<MinOp>(x.data, outer, red, inner, y.data, 1.0); break;
    default: throw Napi::RangeError::New(info.Env(), "unknown reduce op");
  }
  return info.Env().Undefined();
}

// softmax(x, y, rows, cols, log): softmax (or log-softmax) of each row.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  F32View x = ArgF32(info, 0, "x"), y = ArgF32(info, 1, "y");
  const int64_t rows = ArgInt(info, 2), cols = ArgInt(info, 3);
  const bool log = info[4].ToBoolean().Value();
  Require(info, static_cast<int64_t>(x.length) == rows * cols && y.length == x.length, "softmax: wrong length");
  const float* xs = x.data;
  float* ys = y.data;
#pragma omp parallel for if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = xs + r * cols;
    float* out = ys + r * cols;
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < cols; ++c) m = (in[c] > m || in[c] != in[c]) ? in[c] : m;
    double s = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
      float e = std::exp(in[c] - m);
      if (!log) out[c] = e;
      s += e;
    }
    if (log) {
      const float ls = static_cast<float>(std::log(s));
      for (int64_t c = 0; c < cols; ++c) out[c] = (in[c] - m) - ls;
    } else {
      const float inv = static_cast<float>(s);
      for (int64_t c = 0; c < cols; ++c) out[c] /= inv;
    }
  }
  return info.Env().Undefined();
}

}  // namespace

void InitReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New(env, ReduceOp));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
}

}  // namespace onednn_tfjs
