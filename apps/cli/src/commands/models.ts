import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu'; // building a model needs a backend; counting needs no speed
import { MODEL_NAMES } from '@mnist/protocol';
import { summarizeModel } from '@mnist/models';
import { formatInt } from '@mnist/report';
import { parseFlags } from '../flags.js';
import type { Output } from '../output.js';

export const MODELS_HELP = `Usage: mnist models [--json]

Lists the models with their layers and parameter counts.
  --json   print [{name, params, trainableParams, layers: [{name, params}]}]`;

export async function modelsCommand(args: string[], out: Output): Promise<number> {
  const { values } = parseFlags(args, { json: { type: 'boolean' } });
  if (values.help) return (out.result(MODELS_HELP), 0);
  tf.enableProdMode(); // building models here is bookkeeping: no per-op checks, no tfjs-node advert
  const summaries = MODEL_NAMES.map((name) => summarizeModel(name));
  if (values.json) {
    const json = summaries.map((s) => ({
      name: s.name,
      params: s.params,
      trainableParams: s.trainableParams,
      layers: s.layers.map((l) => ({ name: l.name, params: l.params })),
    }));
    out.result(JSON.stringify(json, null, 2));
    return 0;
  }
  for (const s of summaries) {
    const trainable = s.trainableParams === s.params ? '' : ` (${formatInt(s.trainableParams)} trainable)`;
    out.result(`${s.name} — ${s.title}: ${formatInt(s.params)} parameters${trainable}`);
    const width = Math.max(...s.layers.map((l) => l.name.length));
    for (const l of s.layers) {
      const params = formatInt(l.params).padStart(7);
      out.result(`  ${l.name.padEnd(width)}  ${l.type.padEnd(18)} ${l.outputShape.padEnd(18)} ${params}`);
    }
    out.result('');
  }
  return 0;
}
