// js-yaml ships no types; the surface used here (spec-file.ts) is tiny.
declare module 'js-yaml' {
  export const JSON_SCHEMA: unknown;
  export function load(text: string, opts?: { schema?: unknown; filename?: string }): unknown;
}
