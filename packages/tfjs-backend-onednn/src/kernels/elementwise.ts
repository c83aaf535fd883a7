import {
  Abs,
  Add,
  AddN,
  Ceil,
  Elu,
  Exp,
  Floor,
  LeakyRelu,
  Log,
  Log1p,
  Maximum,
  Minimum,
  Multiply,
  Neg,
  Pow,
  RealDiv,
  Reciprocal,
  Relu,
  Relu6,
  Rsqrt,
  Sigmoid,
  Sqrt,
  Square,
  SquaredDifference,
  Step,
  Sub,
  Tanh,
  Tile,
  broadcast_util,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { BinaryOp, packParams, UnaryOp } from '../native.js';
import { alloc, defineKernel, f32, MIN_NATIVE_SIZE, output, sizeOf, type NativeKernel } from './util.js';

const MAX_RANK = 8;

function binary(kernelName: string, op: number): NativeKernel {
  return defineKernel<{ a: TensorInfo; b: TensorInfo }, object>(kernelName, ({ inputs: { a, b }, backend, addon }) => {
    const as = f32(backend, a),
      bs = f32(backend, b);
    if (!as || !bs) return null;
    const outShape = broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const n = sizeOf(outShape);
    if (outShape.length > MAX_RANK || n < MIN_NATIVE_SIZE) return null;
    const y = alloc(backend, n);
    packParams([a.shape.length, b.shape.length, outShape.length]);
    packParams(a.shape, 3);
    packParams(b.shape, 3 + a.shape.length);
    addon.binary(op, as, bs, y, packParams(outShape, 3 + a.shape.length + b.shape.length));
    return output(backend, outShape, y);
  });
}

type UnaryAttrs = { alpha?: number };

function unary(kernelName: string, op: number, alphaOf: (attrs: UnaryAttrs) => number = () => 0): NativeKernel {
  return defineKernel<{ x: TensorInfo }, UnaryAttrs>(kernelName, ({ inputs: { x }, attrs, backend, addon }) => {
    const xs = f32(backend, x);
    if (!xs || xs.length < MIN_NATIVE_SIZE) return null;
    const y = alloc(backend, xs.length);
    addon.unary(op, xs, y, alphaOf(attrs));
    return output(backend, x.shape, y);
  });
}

export const addNKernel: NativeKernel = {
  kernelName: AddN,
  run: ({ inputs, backend, addon }) => {
    const tensors = Object.values(inputs) as TensorInfo[];
    const arrays = tensors.map((t) => f32(backend, t));
    const first = tensors[0];
    if (first == null || arrays.some((v) => v == null || v.length !== arrays[0]!.length)) return null;
    if (arrays[0]!.length < MIN_NATIVE_SIZE) return null;
    const y = alloc(backend, arrays[0]!.length);
    addon.addN(y, ...(arrays as Float32Array[]));
    return output(backend, first.shape, y);
  },
};

/** Tile (the FusedBatchNorm gradient tiles per-channel values to the input's shape). */
export const tileKernel = defineKernel<{ x: TensorInfo }, { reps: number[] }>(
  Tile,
  ({ inputs: { x }, attrs, backend, addon }) => {
    const xs = f32(backend, x);
    const { reps } = attrs;
    if (!xs || x.shape.length === 0 || x.shape.length > MAX_RANK || reps.length !== x.shape.length) return null;
    const outShape = x.shape.map((d, i) => d * reps[i]!);
    const n = sizeOf(outShape);
    if (n < MIN_NATIVE_SIZE) return null;
    const y = alloc(backend, n);
    packParams([x.shape.length]);
    packParams(x.shape, 1);
    addon.tile(xs, y, packParams(reps, 1 + x.shape.length));
    return output(backend, outShape, y);
  },
);

export const elementwiseKernels: NativeKernel[] = [
  tileKernel,
  binary(Add, BinaryOp.add),
  binary(Sub, BinaryOp.sub),
  binary(Multiply, BinaryOp.mul),
  binary(RealDiv, BinaryOp.div),
  binary(Maximum, BinaryOp.max),
  binary(Minimum, BinaryOp.min),
  binary(SquaredDifference, BinaryOp.squaredDifference),
  binary(Pow, BinaryOp.pow),
  addNKernel,
  unary(Relu, UnaryOp.relu),
  unary(Relu6, UnaryOp.relu6),
  unary(Step, UnaryOp.step, (a) => a.alpha ?? 0),
  unary(LeakyRelu, UnaryOp.leakyRelu, (a) => a.alpha ?? 0.2),
  unary(Elu, UnaryOp.elu),
  unary(Exp, UnaryOp.exp),
  unary(Log, UnaryOp.log),
  unary(Log1p, UnaryOp.log1p),
  unary(Neg, UnaryOp.neg),
  unary(Sqrt, UnaryOp.sqrt),
  unary(Rsqrt, UnaryOp.rsqrt),
  unary(Square, UnaryOp.square),
  unary(Abs, UnaryOp.abs),
  unary(Sigmoid, UnaryOp.sigmoid),
  unary(Tanh, UnaryOp.tanh),
  unary(Reciprocal, UnaryOp.reciprocal),
  unary(Floor, UnaryOp.floor), // dropout masks
  unary(Ceil, UnaryOp.ceil),
];
