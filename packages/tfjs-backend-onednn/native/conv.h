// 2-D convolution shared between conv.cc (argument checks, the matrix-product special
// cases, thread choice) and the general kernels: oneDNN primitives (conv_dnnl.cc) or,
// without oneDNN, im2col + Gemm (conv_portable.cc). NHWC activations, HWIO filters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace onednn_tfjs {

// dims as src/native.ts packs them, with oneDNN's conventions applied by ParseDims:
// dilation counted from 0 (dh = 0: dense), and bottom/right pads such that
// (in - (1 + (k - 1) * (d + 1)) + pads) / stride + 1 == out.
struct ConvDims {
  int64_t n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
};

std::vector<int64_t> ConvKey(int kind, const ConvDims& c, int64_t extra1 = 0, int64_t extra2 = 0);

// The general kernels. `single`: run on the calling thread only, else on the OpenMP team.
// Each gives the same bits either way.
void ConvForwardGeneral(const ConvDims& c, const float* x, const float* w, const float* bias, float* y, int act,
                        float alpha, bool single);
void ConvBackwardDataGeneral(const ConvDims& c, const float* dy, const float* w, float* dx, bool single);
void ConvBackwardWeightsGeneral(const ConvDims& c, const float* x, const float* dy, float* dw, bool single);
// The implementation used for these dims (kind 0 forward, 1 backward data, 2 backward weights).
std::string ConvGeneralImpl(const ConvDims& c, int kind);

}  // namespace onednn_tfjs
