// Gemm without oneDNN: the classic blocked scheme (Goto / BLIS). op(B) is packed into
// KC x NR panels and op(A) into MC x KC blocks of MR-row panels, and an MR x NR
// micro-kernel keeps its tile of C in vector registers over the KC loop.
//
// Vectors are GCC's generic 16-float vectors; on x86-64 the block routine is compiled
// for AVX-512, AVX2+FMA and baseline SSE2, and the one this CPU supports is picked
// when the addon loads. Each element of C is summed in the same order (KC blocks in turn,
// then within a block) whichever thread computes it, and threads only split C's rows,
// so results do not depend on the thread count.
#include <cstring>
#include <vector>

#include "common.h"
#include "gemm.h"

namespace onednn_tfjs {
namespace {

constexpr int kMR = 6, kNR = 16;
constexpr int64_t kKC = 256, kMC = 120, kNC = 2048;  // kMC % kMR == 0, kNC % kNR == 0
typedef float V16 __attribute__((vector_size(kNR * sizeof(float))));

struct Matrix {
  const float* data;
  int64_t ld;
  bool transposed;  // stored as its transpose
  float at(int64_t r, int64_t c) const { return transposed ? data[c * ld + r] : data[r * ld + c]; }
};

// A's rows [r0, r0 + mc) and columns [p0, p0 + kc) as MR-row panels: panel[p * MR + i].
void PackA(const Matrix& a, int64_t r0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
  for (int64_t ir = 0; ir < mc; ir += kMR, dst += kMR * kc) {
    const int64_t rows = std::min<int64_t>(kMR, mc - ir);
    for (int64_t i = 0; i < kMR; ++i) {
      if (i >= rows) {
        for (int64_t p = 0; p < kc; ++p) dst[p * kMR + i] = 0.f;
      } else if (a.transposed) {
        const float* src = a.data + p0 * a.ld + r0 + ir + i;
        for (int64_t p = 0; p < kc; ++p) dst[p * kMR + i] = src[p * a.ld];
      } else {
        const float* src = a.data + (r0 + ir + i) * a.ld + p0;
        for (int64_t p = 0; p < kc; ++p) dst[p * kMR + i] = src[p];
      }
    }
  }
}

// B's rows [p0, p0 + kc) and columns [c0, c0 + nc) as NR-column panels: panel[p * NR + j].
void PackB(const Matrix& b, int64_t p0, int64_t kc, int64_t c0, int64_t nc, float* dst) {
  for (int64_t jr = 0; jr < nc; jr += kNR, dst += kNR * kc) {
    const int64_t cols = std::min<int64_t>(kNR, nc - jr);
    for (int64_t p = 0; p < kc; ++p) {
      float* d = dst + p * kNR;
      if (!b.transposed && cols == kNR) {
        std::memcpy(d, b.data + (p0 + p) * b.ld + c0 + jr, kNR * sizeof(float));
        continue;
      }
      for (int64_t j = 0; j < kNR; ++j) d[j] = j < cols ? b.at(p0 + p, c0 + jr + j) : 0.f;
    }
  }
}

// C[mc x nc] (+)= packed A . packed B over one KC block. Inlined into one function per
// instruction set below, so the vector code is compiled for each.
inline __attribute__((always_inline)) void BlockBody(int64_t mc, int64_t nc, int64_t kc, const float* __restrict ap,
                                                     const float* __restrict bp, float* __restrict c, int64_t ldc,
                                                     bool accumulate) {
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const float* bpanel = bp + jr * kc;
    const int64_t cols = std::min<int64_t>(kNR, nc - jr);
    for (int64_t ir = 0; ir < mc; ir += kMR) {
      const float* apanel = ap + ir * kc;
      V16 acc[kMR] = {};
      for (int64_t p = 0; p < kc; ++p) {
        V16 bv;
        std::memcpy(&bv, bpanel + p * kNR, sizeof bv);
        for (int i = 0; i < kMR; ++i) acc[i] += apanel[p * kMR + i] * bv;
      }
      const int64_t rows = std::min<int64_t>(kMR, mc - ir);
      float* ct = c + ir * ldc + jr;
      if (cols == kNR) {
        for (int64_t i = 0; i < rows; ++i) {
          V16 v = acc[i];
          if (accumulate) {
            V16 old;
            std::memcpy(&old, ct + i * ldc, sizeof old);
            v += old;
          }
          std::memcpy(ct + i * ldc, &v, sizeof v);
        }
      } else {
        float tile[kMR][kNR];
        std::memcpy(tile, acc, sizeof tile);
        for (int64_t i = 0; i < rows; ++i) {
          for (int64_t j = 0; j < cols; ++j) ct[i * ldc + j] = accumulate ? ct[i * ldc + j] + tile[i][j] : tile[i][j];
        }
      }
    }
  }
}

using BlockFn = void (*)(int64_t, int64_t, int64_t, const float*, const float*, float*, int64_t, bool);

typedef float V8 __attribute__((vector_size(8 * sizeof(float))));

template <typename V>
inline __attribute__((always_inline)) V Load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// out[j] = (init ? init[j] : 0) + sum over t of a[t][j] * b[t][j], j < n: the terms'
// sums stay in registers (4 vectors at a time), never read past n.
inline __attribute__((always_inline)) void SumProductsBody(float* out, const float* init, const float* const* a,
                                                           const float* const* b, int64_t terms, int64_t n) {
  int64_t j = 0;
  for (; j + 4 * kNR <= n; j += 4 * kNR) {
    V16 s[4] = {};
    if (init)
      for (int i = 0; i < 4; ++i) s[i] = Load<V16>(init + j + i * kNR);
    for (int64_t t = 0; t < terms; ++t) {
      const float* at = a[t] + j;
      const float* bt = b[t] + j;
      for (int i = 0; i < 4; ++i) s[i] += Load<V16>(at + i * kNR) * Load<V16>(bt + i * kNR);
    }
    std::memcpy(out + j, s, sizeof s);
  }
  for (; j + kNR <= n; j += kNR) {
    V16 v = init ? Load<V16>(init + j) : V16{};
    for (int64_t t = 0; t < terms; ++t) v += Load<V16>(a[t] + j) * Load<V16>(b[t] + j);
    std::memcpy(out + j, &v, sizeof v);
  }
  for (; j + 8 <= n; j += 8) {
    V8 v = init ? Load<V8>(init + j) : V8{};
    for (int64_t t = 0; t < terms; ++t) v += Load<V8>(a[t] + j) * Load<V8>(b[t] + j);
    std::memcpy(out + j, &v, sizeof v);
  }
  for (; j < n; ++j) {
    float v = init ? init[j] : 0.f;
    for (int64_t t = 0; t < terms; ++t) v += a[t][j] * b[t][j];
    out[j] = v;
  }
}

// Each vector routine, compiled for one instruction set: Name##Suffix with target ISA.
#define TFJS_VECTOR_ROUTINES(SUFFIX, ...)                                                                           \
  __VA_ARGS__ void Block##SUFFIX(int64_t mc, int64_t nc, int64_t kc, const float* ap, const float* bp, float* c,    \
                                 int64_t ldc, bool accumulate) {                                                    \
    BlockBody(mc, nc, kc, ap, bp, c, ldc, accumulate);                                                              \
  }                                                                                                                 \
  __VA_ARGS__ void SumProducts##SUFFIX(float* out, const float* init, const float* const* a, const float* const* b, \
                                       int64_t terms, int64_t n) {                                                  \
    SumProductsBody(out, init, a, b, terms, n);                                                                     \
  }

TFJS_VECTOR_ROUTINES(Baseline)

struct VectorRoutines {
  BlockFn block;
  void (*sum_products)(float*, const float*, const float* const*, const float* const*, int64_t, int64_t);
};

#if defined(__x86_64__) && defined(__GNUC__)
// Features, not CPU models: GCC's target_clones("arch=...") dispatch matches model names,
// which AMD's CPUs never do.
TFJS_VECTOR_ROUTINES(Avx512, __attribute__((target("avx512f,fma"))))
TFJS_VECTOR_ROUTINES(Avx2, __attribute__((target("avx2,fma"))))

VectorRoutines Pick() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) return {BlockAvx512, SumProductsAvx512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {BlockAvx2, SumProductsAvx2};
  return {BlockBaseline, SumProductsBaseline};
}
#else
VectorRoutines Pick() { return {BlockBaseline, SumProductsBaseline}; }
#endif

const VectorRoutines kRoutines = Pick();
const BlockFn Block = kRoutines.block;

}  // namespace

void SumProducts(float* out, const float* init, const float* const* a, const float* const* b, int64_t terms,
                 int64_t n) {
  kRoutines.sum_products(out, init, a, b, terms, n);
}

void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a_data, int64_t lda, const float* b_data,
          int64_t ldb, float beta, float* c, int64_t ldc, bool team) {
  if (m <= 0 || n <= 0) return;
  if (beta != 0.f && beta != 1.f) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] *= beta;
    beta = 1.f;
  }
  if (k <= 0) {
    if (beta == 0.f)
      for (int64_t i = 0; i < m; ++i) std::memset(c + i * ldc, 0, n * sizeof(float));
    return;
  }
  const Matrix a{a_data, lda, ta}, b{b_data, ldb, tb};
  static std::vector<float> b_pack;  // shared by the team; calls are sequential on the JS thread
  thread_local std::vector<float> b_local, a_pack;
  std::vector<float>& bp = team ? b_pack : b_local;  // inside someone's parallel region: this thread's own
  const bool parallel = team && MaxThreads() > 1 && m * n * k >= kSmallGemm && m > kMC;
  for (int64_t jc = 0; jc < n; jc += kNC) {
    const int64_t nc = std::min(kNC, n - jc);
    for (int64_t pc = 0; pc < k; pc += kKC) {
      const int64_t kc = std::min(kKC, k - pc);
      const bool accumulate = pc > 0 || beta == 1.f;
      bp.resize(((nc + kNR - 1) / kNR) * kNR * kc);
      PackB(b, pc, kc, jc, nc, bp.data());
      const int64_t blocks = (m + kMC - 1) / kMC;
#pragma omp parallel for schedule(static) if (parallel)
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t ic = blk * kMC, mc = std::min(kMC, m - ic);
        a_pack.resize(((mc + kMR - 1) / kMR) * kMR * kc);
        PackA(a, ic, mc, pc, kc, a_pack.data());
        Block(mc, nc, kc, a_pack.data(), bp.data(), c + ic * ldc + jc, ldc, accumulate);
      }
    }
  }
}

}  // namespace onednn_tfjs
