// The general convolution kernels without oneDNN: im2col + Gemm (gemm_portable.cc).
//
// Images are processed in chunks of about kChunkRows output pixels (one im2col buffer
// per thread stays cache-sized), and chunks are split statically across the threads.
// The chunking depends on the shape only and every output element is computed by one
// thread in a fixed order (backward weights: per-chunk partial sums, added in chunk
// order), so results are the same bits on any thread count.
#include "common.h"
#include "conv.h"
#include "gemm.h"

#include <stdexcept>

namespace onednn_tfjs {
namespace {

constexpr int64_t kChunkRows = 4096;

int64_t ImagesPerChunk(const ConvDims& c) {
  return std::max<int64_t>(1, std::min<int64_t>(c.n, kChunkRows / std::max<int64_t>(1, c.oh * c.ow)));
}

// Input row / column of output pixel o and kernel tap k, or out of range (padding).
inline int64_t InputAt(int64_t o, int64_t k, int64_t stride, int64_t dilation, int64_t pad) {
  return o * stride - pad + k * (dilation + 1);
}

// col[(image, oh, ow), (kh, kw, ic)] for images [n0, n1): HWIO filters are [K, OC] in
// this K order, so y = col . w.
void Im2col(const ConvDims& c, const float* x, int64_t n0, int64_t n1, float* col) {
  const int64_t k = c.kh * c.kw * c.ic;
  for (int64_t n = n0; n < n1; ++n) {
    const float* image = x + n * c.ih * c.iw * c.ic;
    for (int64_t oh = 0; oh < c.oh; ++oh) {
      for (int64_t ow = 0; ow < c.ow; ++ow, col += k) {
        float* dst = col;
        for (int64_t kh = 0; kh < c.kh; ++kh) {
          const int64_t ih = InputAt(oh, kh, c.sh, c.dh, c.pt);
          for (int64_t kw = 0; kw < c.kw; ++kw, dst += c.ic) {
            const int64_t iw = InputAt(ow, kw, c.sw, c.dw, c.pl);
            if (ih < 0 || ih >= c.ih || iw < 0 || iw >= c.iw) {
              std::memset(dst, 0, c.ic * sizeof(float));
            } else {
              std::memcpy(dst, image + (ih * c.iw + iw) * c.ic, c.ic * sizeof(float));
            }
          }
        }
      }
    }
  }
}

// The reverse: dx[images n0..n1) = sum of dcol's entries over the taps that read them.
void Col2im(const ConvDims& c, const float* col, int64_t n0, int64_t n1, float* dx) {
  const int64_t k = c.kh * c.kw * c.ic;
  std::memset(dx + n0 * c.ih * c.iw * c.ic, 0, (n1 - n0) * c.ih * c.iw * c.ic * sizeof(float));
  for (int64_t n = n0; n < n1; ++n) {
    float* image = dx + n * c.ih * c.iw * c.ic;
    for (int64_t oh = 0; oh < c.oh; ++oh) {
      for (int64_t ow = 0; ow < c.ow; ++ow, col += k) {
        const float* src = col;
        for (int64_t kh = 0; kh < c.kh; ++kh) {
          const int64_t ih = InputAt(oh, kh, c.sh, c.dh, c.pt);
          for (int64_t kw = 0; kw < c.kw; ++kw, src += c.ic) {
            const int64_t iw = InputAt(ow, kw, c.sw, c.dw, c.pl);
            if (ih < 0 || ih >= c.ih || iw < 0 || iw >= c.iw) continue;
            float* __restrict d = image + (ih * c.iw + iw) * c.ic;
#pragma omp simd
            for (int64_t i = 0; i < c.ic; ++i) d[i] += src[i];
          }
        }
      }
    }
  }
}

// Runs body(chunk, n0, n1) for every chunk of images, on one thread or split statically
// over the team; the first exception is rethrown here.
template <typename Body>
void ForChunks(const ConvDims& c, bool single, Body body) {
  const int64_t per = ImagesPerChunk(c), chunks = (c.n + per - 1) / per;
  std::string failure;
#pragma omp parallel for schedule(static) num_threads(single ? 1 : MaxThreads()) if (!single && chunks > 1)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    try {
      body(chunk, chunk * per, std::min(c.n, (chunk + 1) * per));
    } catch (const std::exception& e) {
#pragma omp critical(onednn_tfjs_portable_conv)
      failure = e.what();
    }
  }
  if (!failure.empty()) throw std::runtime_error(failure);
}

std::vector<float>& ThreadColumns(size_t size) {
  thread_local std::vector<float> col;
  if (col.size() < size) col.resize(size);
  return col;
}

}  // namespace

void ConvForwardGeneral(const ConvDims& c, const float* x, const float* w, const float* bias, float* y, int act,
                        float alpha, bool single) {
  const int64_t pixels = c.oh * c.ow, k = c.kh * c.kw * c.ic;
  ForChunks(c, single, [&](int64_t, int64_t n0, int64_t n1) {
    const int64_t rows = (n1 - n0) * pixels;
    float* col = ThreadColumns(rows * k).data();
    Im2col(c, x, n0, n1, col);
    float* out = y + n0 * pixels * c.oc;
    if (bias) {
      for (int64_t r = 0; r < rows; ++r) std::memcpy(out + r * c.oc, bias, c.oc * sizeof(float));
    }
    Gemm(false, false, rows, c.oc, k, col, k, w, c.oc, bias ? 1.f : 0.f, out, c.oc, false);
    ActivateRange(out, rows * c.oc, act, alpha);
  });
}

void ConvBackwardDataGeneral(const ConvDims& c, const float* dy, const float* w, float* dx, bool single) {
  const int64_t pixels = c.oh * c.ow, k = c.kh * c.kw * c.ic;
  ForChunks(c, single, [&](int64_t, int64_t n0, int64_t n1) {
    const int64_t rows = (n1 - n0) * pixels;
    float* col = ThreadColumns(rows * k).data();
    // dcol[rows, K] = dy[rows, OC] . w[K, OC]^T
    Gemm(false, true, rows, k, c.oc, dy + n0 * pixels * c.oc, c.oc, w, c.oc, 0.f, col, k, false);
    Col2im(c, col, n0, n1, dx);
  });
}

void ConvBackwardWeightsGeneral(const ConvDims& c, const float* x, const float* dy, float* dw, bool single) {
  const int64_t pixels = c.oh * c.ow, k = c.kh * c.kw * c.ic, size = k * c.oc;
  const int64_t per = ImagesPerChunk(c), chunks = (c.n + per - 1) / per;
  static std::vector<float> partials;
  if (partials.size() < static_cast<size_t>(chunks * size)) partials.resize(chunks * size);
  ForChunks(c, single, [&](int64_t chunk, int64_t n0, int64_t n1) {
    const int64_t rows = (n1 - n0) * pixels;
    float* col = ThreadColumns(rows * k).data();
    Im2col(c, x, n0, n1, col);
    // dw_chunk[K, OC] = col[rows, K]^T . dy[rows, OC]
    Gemm(true, false, k, c.oc, rows, col, k, dy + n0 * pixels * c.oc, c.oc, 0.f, partials.data() + chunk * size, c.oc,
         false);
  });
  std::memcpy(dw, partials.data(), size * sizeof(float));
  for (int64_t chunk = 1; chunk < chunks; ++chunk) {
    const float* __restrict p = partials.data() + chunk * size;
#pragma omp simd
    for (int64_t i = 0; i < size; ++i) dw[i] += p[i];
  }
}

std::string ConvGeneralImpl(const ConvDims&, int) { return "im2col+gemm (portable)"; }

}  // namespace onednn_tfjs
