// NHWC max pooling and its gradient, with tfjs-cpu semantics: the first strictly
// greater element of a window (row-major scan) wins, padding never wins, and the
// gradient goes to the winner only. Hand-written: oneDNN's backward pooling needs the
// forward's workspace, which the tfjs MaxPoolGrad kernel does not receive.
#include <limits>

#include "common.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace onednn_tfjs {
namespace {

struct PoolDims {
  int64_t n, ih, iw, c, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl;
};

PoolDims ParsePool(const Napi::CallbackInfo& info, size_t i) {
  std::vector<int64_t> d = ArgInts(info, i, 14, "dims");
  return {d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13]};
}

// Window rows/cols of output (r, q) that fall inside the input: [lo, hi) in steps of d.
inline void WindowRange(int64_t out, int64_t stride, int64_t pad, int64_t k, int64_t d, int64_t in, int64_t& lo,
                        int64_t& hi) {
  int64_t corner = out * stride - pad;
  lo = corner;
  while (lo < 0) lo += d;
  hi = corner + (k - 1) * d + 1;
  if (hi > in) hi = in;
}

// The common case, 2x2 windows with stride 2 tiling the input exactly (no padding, no
// dilation), written out so that the compiler keeps everything in branch-free selects.
bool IsTiled2x2(const PoolDims& p) {
  return p.kh == 2 && p.kw == 2 && p.sh == 2 && p.sw == 2 && p.dh == 1 && p.dw == 1 && p.pt == 0 && p.pl == 0 &&
         p.ih == 2 * p.oh && p.iw == 2 * p.ow;
}

// The max as tfjs computes it: a strict > scan from -inf in window order (NaN never wins).
inline float Max4(float a, float b, float c, float d) {
  float m = -std::numeric_limits<float>::infinity();
  m = a > m ? a : m;
  m = b > m ? b : m;
  m = c > m ? c : m;
  m = d > m ? d : m;
  return m;
}

void MaxPool2x2(const PoolDims& p, const float* __restrict xs, float* __restrict ys) {
  const int64_t C = p.c, row = p.iw * C;
  ParallelFor(p.n * p.oh, 2 * row, [=](int64_t r0, int64_t r1) {
    for (int64_t br = r0; br < r1; ++br) {
      const float* __restrict top = xs + 2 * br * row;
      const float* __restrict bottom = top + row;
      float* __restrict out = ys + br * p.ow * C;
      for (int64_t q = 0; q < p.ow; ++q) {
        const float *a = top + 2 * q * C, *b = a + C, *c = bottom + 2 * q * C, *d = c + C;
        float* o = out + q * C;
#pragma omp simd
        for (int64_t ch = 0; ch < C; ++ch) o[ch] = Max4(a[ch], b[ch], c[ch], d[ch]);
      }
    }
  });
}

// dx gets dy at the first maximum of each window (row-major order) and 0 elsewhere.
// One channel at a time, branch-free; `first` is the scalar reference of the SSE2 path.
inline void Grad4(float a, float b, float c, float d, float g, float* da, float* db, float* dc, float* dd) {
  const float m = Max4(a, b, c, d);
  const bool live = m > -std::numeric_limits<float>::infinity();
  const bool ha = live && a == m;
  const bool hb = live && !ha && b == m;
  const bool hc = live && !ha && !hb && c == m;
  const bool hd = live && !ha && !hb && !hc && d == m;
  *da = ha ? g : 0.f;
  *db = hb ? g : 0.f;
  *dc = hc ? g : 0.f;
  *dd = hd ? g : 0.f;
}

#ifdef __SSE2__
// Four channels at once: compares give all-ones lanes, selects are and/andnot/or.
inline void Grad4x4(const float* a, const float* b, const float* c, const float* d, const float* g, float* da,
                    float* db, float* dc, float* dd) {
  const __m128 va = _mm_loadu_ps(a), vb = _mm_loadu_ps(b), vc = _mm_loadu_ps(c), vd = _mm_loadu_ps(d);
  __m128 m = _mm_set1_ps(-std::numeric_limits<float>::infinity());
  const __m128 live0 = m;
  auto take = [&m](__m128 v) {
    const __m128 gt = _mm_cmpgt_ps(v, m);
    m = _mm_or_ps(_mm_and_ps(gt, v), _mm_andnot_ps(gt, m));
  };
  take(va);
  take(vb);
  take(vc);
  take(vd);
  __m128 open = _mm_cmpgt_ps(m, live0);  // lanes still waiting for their first hit
  const __m128 vg = _mm_loadu_ps(g);
  auto hit = [&](__m128 v, float* out) {
    const __m128 h = _mm_and_ps(open, _mm_cmpeq_ps(v, m));
    _mm_storeu_ps(out, _mm_and_ps(h, vg));
    open = _mm_andnot_ps(h, open);
  };
  hit(va, da);
  hit(vb, db);
  hit(vc, dc);
  hit(vd, dd);
}
#endif

void MaxPoolGrad2x2(const PoolDims& p, const float* __restrict dys, const float* __restrict xs, float* __restrict dxs) {
  const int64_t C = p.c, row = p.iw * C;
  ParallelFor(p.n * p.oh, 2 * row, [=](int64_t r0, int64_t r1) {
    for (int64_t br = r0; br < r1; ++br) {
      const float* top = xs + 2 * br * row;
      const float* bottom = top + row;
      float* dtop = dxs + 2 * br * row;
      float* dbottom = dtop + row;
      const float* g = dys + br * p.ow * C;
      for (int64_t q = 0; q < p.ow; ++q) {
        const int64_t o0 = 2 * q * C, o1 = o0 + C, go = q * C;
#ifdef __SSE2__
        if (C >= 4) {
          // Chunks of 4; the last one is shifted back to end at C (it may overlap the
          // previous chunk, which just rewrites the same values).
          for (int64_t ch = 0; ch < C; ch += 4) {
            const int64_t k = ch + 4 <= C ? ch : C - 4;
            Grad4x4(top + o0 + k, top + o1 + k, bottom + o0 + k, bottom + o1 + k, g + go + k, dtop + o0 + k,
                    dtop + o1 + k, dbottom + o0 + k, dbottom + o1 + k);
          }
          continue;
        }
#endif
        for (int64_t ch = 0; ch < C; ++ch) {
          Grad4(top[o0 + ch], top[o1 + ch], bottom[o0 + ch], bottom[o1 + ch], g[go + ch], dtop + o0 + ch,
                dtop + o1 + ch, dbottom + o0 + ch, dbottom + o1 + ch);
        }
      }
    }
  });
}

// maxPool(x, y, dims)
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  F32View x = ArgF32(info, 0, "x"), y = ArgF32(info, 1, "y");
  PoolDims p = ParsePool(info, 2);
  Require(info, static_cast<int64_t>(x.length) == p.n * p.ih * p.iw * p.c, "x: wrong length");
  Require(info, static_cast<int64_t>(y.length) == p.n * p.oh * p.ow * p.c, "y: wrong length");
  const float* __restrict xs = x.data;
  float* __restrict ys = y.data;
  if (IsTiled2x2(p)) {
    MaxPool2x2(p, xs, ys);
    return info.Env().Undefined();
  }
  const int64_t C = p.c;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int64_t b = 0; b < p.n; ++b) {
    for (int64_t r = 0; r < p.oh; ++r) {
      int64_t r0, r1;
      WindowRange(r, p.sh, p.pt, p.kh, p.dh, p.ih, r0, r1);
      for (int64_t q = 0; q < p.ow; ++q) {
        int64_t c0, c1;
        WindowRange(q, p.sw, p.pl, p.kw, p.dw, p.iw, c0, c1);
        float* __restrict out = ys + ((b * p.oh + r) * p.ow + q) * C;
#pragma omp simd
        for (int64_t ch = 0; ch < C; ++ch) out[ch] = neg_inf;
        for (int64_t xr = r0; xr < r1; xr += p.dh) {
          for (int64_t xc = c0; xc < c1; xc += p.dw) {
            const float* __restrict in = xs + ((b * p.ih + xr) * p.iw + xc) * C;
#pragma omp simd
            for (int64_t ch = 0; ch < C; ++ch) out[ch] = in[ch] > out[ch] ? in[ch] : out[ch];
          }
        }
      }
    }
  }
  return info.Env().Undefined();
}

// maxPoolGrad(dy, x, dx, dims); dx may hold stale data (pooled storage). The argmax of
// each window is found branch-free across channels (compare + select), then dy is
// scattered to it.
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  F32View dy = ArgF32(info, 0, "dy"), x = ArgF32(info, 1, "x"), dx = ArgF32(info, 2, "dx");
  PoolDims p = ParsePool(info, 3);
  Require(info, static_cast<int64_t>(x.length) == p.n * p.ih * p.iw * p.c, "x: wrong length");
  Require(info, dx.length == x.length, "dx: wrong length");
  Require(info, static_cast<int64_t>(dy.length) == p.n * p.oh * p.ow * p.c, "dy: wrong length");
  Require(info, x.length < (1u << 31), "maxPoolGrad: tensor too large");
  const float* __restrict xs = x.data;
  const float* __restrict dys = dy.data;
  float* __restrict dxs = dx.data;
  if (IsTiled2x2(p)) {
    MaxPoolGrad2x2(p, dys, xs, dxs);
    return info.Env().Undefined();
  }
  std::memset(dxs, 0, dx.length * sizeof(float));
  const int64_t C = p.c;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  std::vector<float> best_storage(C);
  std::vector<int32_t> where_storage(C);
  float* __restrict best = best_storage.data();
  int32_t* __restrict where = where_storage.data();
  for (int64_t b = 0; b < p.n; ++b) {
    for (int64_t r = 0; r < p.oh; ++r) {
      int64_t r0, r1;
      WindowRange(r, p.sh, p.pt, p.kh, p.dh, p.ih, r0, r1);
      for (int64_t q = 0; q < p.ow; ++q) {
        int64_t c0, c1;
        WindowRange(q, p.sw, p.pl, p.kw, p.dw, p.iw, c0, c1);
#pragma omp simd
        for (int64_t ch = 0; ch < C; ++ch) {
          best[ch] = neg_inf;
          where[ch] = -1;
        }
        for (int64_t xr = r0; xr < r1; xr += p.dh) {
          for (int64_t xc = c0; xc < c1; xc += p.dw) {
            const int32_t off = static_cast<int32_t>(((b * p.ih + xr) * p.iw + xc) * C);
            const float* __restrict in = xs + off;
#pragma omp simd
            for (int64_t ch = 0; ch < C; ++ch) {
              const bool gt = in[ch] > best[ch];
              best[ch] = gt ? in[ch] : best[ch];
              where[ch] = gt ? off + static_cast<int32_t>(ch) : where[ch];
            }
          }
        }
        const float* __restrict g = dys + ((b * p.oh + r) * p.ow + q) * C;
        for (int64_t ch = 0; ch < C; ++ch) {
          if (where[ch] >= 0) dxs[where[ch]] += g[ch];
        }
      }
    }
  }
  return info.Env().Undefined();
}

// avgPool(x, y, dims): tfjs averages over the in-bounds window elements only.
Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  F32View x = ArgF32(info, 0, "x"), y = ArgF32(info, 1, "y");
  PoolDims p = ParsePool(info, 2);
  Require(info, static_cast<int64_t>(x.length) == p.n * p.ih * p.iw * p.c, "x: wrong length");
  Require(info, static_cast<int64_t>(y.length) == p.n * p.oh * p.ow * p.c, "y: wrong length");
  const float* xs = x.data;
  float* ys = y.data;
  const int64_t rows = p.n * p.oh;
#pragma omp parallel if (static_cast <int64_t>(y.length) >= kParallelMin)
  {
    std::vector<double> acc(p.c);
#pragma omp for
    for (int64_t nr = 0; nr < rows; ++nr) {
      const int64_t b = nr / p.oh, r = nr % p.oh;
      int64_t r0, r1;
      WindowRange(r, p.sh, p.pt, p.kh, p.dh, p.ih, r0, r1);
      for (int64_t q = 0; q < p.ow; ++q) {
        int64_t c0, c1;
        WindowRange(q, p.sw, p.pl, p.kw, p.dw, p.iw, c0, c1);
        std::fill(acc.begin(), acc.end(), 0.0);
        int64_t count = 0;
        for (int64_t xr = r0; xr < r1; xr += p.dh) {
          for (int64_t xc = c0; xc < c1; xc += p.dw) {
            const float* in = xs + ((b * p.ih + xr) * p.iw + xc) * p.c;
            for (int64_t ch = 0; ch < p.c; ++ch) acc[ch] += in[ch];
            ++count;
          }
        }
        float* out = ys + ((b * p.oh + r) * p.ow + q) * p.c;
        for (int64_t ch = 0; ch < p.c; ++ch) out[ch] = static_cast<float>(acc[ch] / count);
      }
    }
  }
  return info.Env().Undefined();
}

}  // namespace

void InitPool(Napi::Env env, Napi::Object exports) {
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
  exports.Set("avgPool", Napi::Function::New(env, AvgPool));
}

}  // namespace onednn_tfjs
