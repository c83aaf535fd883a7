import { convKernels } from './conv.js';
import { elementwiseKernels } from './elementwise.js';
import { matMulKernels } from './matmul.js';
import { poolKernels } from './pool.js';
import { reduceKernels } from './reduce.js';
import type { NativeKernel } from './util.js';

/** Every kernel the onednn backend runs natively; the rest are the cpu backend's. */
export const NATIVE_KERNELS: readonly NativeKernel[] = [
  ...convKernels,
  ...poolKernels,
  ...matMulKernels,
  ...elementwiseKernels,
  ...reduceKernels,
];
