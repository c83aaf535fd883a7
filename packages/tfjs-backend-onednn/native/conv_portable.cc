// The general convolution kernels without oneDNN: im2col + Gemm (gemm_portable.cc).
//
// Images are processed in chunks of about kChunkRows output pixels (one im2col buffer
// per thread stays cache-sized), and chunks are split statically across the threads.
// The chunking depends on the shape only and every output element is computed by one
// thread in a fixed order (backward weights: per-chunk partial sums, added in chunk
// order), so results are the same bits on any thread count.
#include <stdexcept>

#include "common.h"
#include "conv.h"
#include "gemm.h"

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
// this K order, so y = col . w. Where a kernel row lies wholly inside the input (and
// dilation is 1), its KW x IC values are one contiguous run of x. Copies are plain
// loops, kept from becoming libc calls: runs are a few floats (5 in LeNet-5's C1).
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void Im2col(const ConvDims& c, const float* x, int64_t n0,
                                                                          int64_t n1, float* col) {
  const int64_t k = c.kh * c.kw * c.ic, run = c.kw * c.ic;
  for (int64_t n = n0; n < n1; ++n) {
    const float* image = x + n * c.ih * c.iw * c.ic;
    for (int64_t oh = 0; oh < c.oh; ++oh) {
      for (int64_t ow = 0; ow < c.ow; ++ow, col += k) {
        const int64_t iw0 = InputAt(ow, 0, c.sw, c.dw, c.pl);
        const bool row_inside = c.dw == 0 && iw0 >= 0 && iw0 + c.kw <= c.iw;
        for (int64_t kh = 0; kh < c.kh; ++kh) {
          float* __restrict dst = col + kh * run;
          const int64_t ih = InputAt(oh, kh, c.sh, c.dh, c.pt);
          if (ih < 0 || ih >= c.ih) {
            for (int64_t i = 0; i < run; ++i) dst[i] = 0.f;
          } else if (row_inside) {
            const float* __restrict src = image + (ih * c.iw + iw0) * c.ic;
            for (int64_t i = 0; i < run; ++i) dst[i] = src[i];
          } else {
            for (int64_t kw = 0; kw < c.kw; ++kw, dst += c.ic) {
              const int64_t iw = InputAt(ow, kw, c.sw, c.dw, c.pl);
              const float* src = image + (ih * c.iw + iw) * c.ic;
              const bool inside = iw >= 0 && iw < c.iw;
              for (int64_t i = 0; i < c.ic; ++i) dst[i] = inside ? src[i] : 0.f;
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

// One input channel at horizontal stride 1 and no horizontal dilation (LeNet-5's C1).
// im2col would copy single floats 25 times over and the GEMM would waste most of its
// 16 lanes on 6 output channels. Instead each input row is spread once to OC lanes
// per pixel, E[q * OC + oc] = x[q - pl] (zero outside), and a kernel tap (kh, kw) adds
// E[kw * OC + j] * Wtap[j] to output row j = ow * OC + oc, a contiguous vector loop
// over OW x OC, where Wtap[j] = w[kh, kw, oc] repeats the tap's OC weights.
bool IsSingleChannelRows(const ConvDims& c) { return c.ic == 1 && c.sw == 1 && c.dw == 0; }

// E for every input row of one image: IH rows of (OW + KW - 1) * OC floats.
void SpreadRows(const ConvDims& c, const float* image, float* e) {
  const int64_t q_end = c.ow + c.kw - 1;
  for (int64_t ih = 0; ih < c.ih; ++ih) {
    const float* row = image + ih * c.iw;
    float* __restrict out = e + ih * q_end * c.oc;
    for (int64_t q = 0; q < q_end; ++q) {
      const int64_t iw = q - c.pl;
      const float v = iw >= 0 && iw < c.iw ? row[iw] : 0.f;
      for (int64_t oc = 0; oc < c.oc; ++oc) out[q * c.oc + oc] = v;
    }
  }
}

void SingleChannelForward(const ConvDims& c, const float* x, const float* w, const float* bias, float* y, int act,
                          float alpha, bool single) {
  const int64_t row = c.ow * c.oc, taps = c.kh * c.kw, e_row = (c.ow + c.kw - 1) * c.oc;
  std::vector<float> wtap(taps * row), bias_row(row);
  for (int64_t t = 0; t < taps; ++t) {
    for (int64_t j = 0; j < row; ++j) wtap[t * row + j] = w[t * c.oc + j % c.oc];
  }
  if (bias)
    for (int64_t j = 0; j < row; ++j) bias_row[j] = bias[j % c.oc];
  ForChunks(c, single, [&](int64_t, int64_t n0, int64_t n1) {
    float* e = ThreadColumns(c.ih * e_row).data();
    std::vector<const float*> in, wt;
    for (int64_t n = n0; n < n1; ++n) {
      SpreadRows(c, x + n * c.ih * c.iw, e);
      for (int64_t oh = 0; oh < c.oh; ++oh) {
        in.clear();
        wt.clear();
        for (int64_t kh = 0; kh < c.kh; ++kh) {
          const int64_t ih = InputAt(oh, kh, c.sh, c.dh, c.pt);
          if (ih < 0 || ih >= c.ih) continue;
          for (int64_t kw = 0; kw < c.kw; ++kw) {
            in.push_back(e + ih * e_row + kw * c.oc);
            wt.push_back(wtap.data() + (kh * c.kw + kw) * row);
          }
        }
        float* out = y + (n * c.oh + oh) * row;
        SumProducts(out, bias ? bias_row.data() : nullptr, in.data(), wt.data(), in.size(), row);
        ActivateRange(out, row, act, alpha);
      }
    }
  });
}

// dw[kh, kw, oc] = sum over images and output pixels of x[ih, ow + kw - pl] * dy[oh, ow, oc]:
// per chunk and tap, one vector sum over OW x OC of every output row's products, folded
// over OW at the end.
void SingleChannelBackwardWeights(const ConvDims& c, const float* x, const float* dy, float* dw, bool single) {
  const int64_t row = c.ow * c.oc, taps = c.kh * c.kw, e_row = (c.ow + c.kw - 1) * c.oc, e_image = c.ih * e_row;
  const int64_t size = taps * c.oc, per = ImagesPerChunk(c), chunks = (c.n + per - 1) / per;
  static std::vector<float> partials;
  if (partials.size() < static_cast<size_t>(chunks * size)) partials.resize(chunks * size);
  ForChunks(c, single, [&](int64_t chunk, int64_t n0, int64_t n1) {
    float* e = ThreadColumns((n1 - n0) * e_image + row).data();
    float* acc = e + (n1 - n0) * e_image;
    for (int64_t n = n0; n < n1; ++n) SpreadRows(c, x + n * c.ih * c.iw, e + (n - n0) * e_image);
    std::vector<const float*> in, g;
    float* out = partials.data() + chunk * size;
    for (int64_t kh = 0; kh < c.kh; ++kh) {
      for (int64_t kw = 0; kw < c.kw; ++kw) {
        in.clear();
        g.clear();
        for (int64_t n = n0; n < n1; ++n) {
          for (int64_t oh = 0; oh < c.oh; ++oh) {
            const int64_t ih = InputAt(oh, kh, c.sh, c.dh, c.pt);
            if (ih < 0 || ih >= c.ih) continue;
            in.push_back(e + (n - n0) * e_image + ih * e_row + kw * c.oc);
            g.push_back(dy + (n * c.oh + oh) * row);
          }
        }
        SumProducts(acc, nullptr, in.data(), g.data(), in.size(), row);
        for (int64_t oc = 0; oc < c.oc; ++oc) {
          float sum = 0.f;
          for (int64_t ow = 0; ow < c.ow; ++ow) sum += acc[ow * c.oc + oc];
          out[(kh * c.kw + kw) * c.oc + oc] = sum;
        }
      }
    }
  });
  std::memcpy(dw, partials.data(), size * sizeof(float));
  for (int64_t chunk = 1; chunk < chunks; ++chunk) {
    for (int64_t i = 0; i < size; ++i) dw[i] += partials[chunk * size + i];
  }
}

}  // namespace

void ConvForwardGeneral(const ConvDims& c, const float* x, const float* w, const float* bias, float* y, int act,
                        float alpha, bool single) {
  if (IsSingleChannelRows(c)) return SingleChannelForward(c, x, w, bias, y, act, alpha, single);
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
  if (IsSingleChannelRows(c)) return SingleChannelBackwardWeights(c, x, dy, dw, single);
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

std::string ConvGeneralImpl(const ConvDims& c, int kind) {
  return kind != 1 && IsSingleChannelRows(c) ? "single-channel rows (portable)" : "im2col+gemm (portable)";
}

}  // namespace onednn_tfjs
