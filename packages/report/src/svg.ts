/** Just enough SVG building to keep the chart code declarative and the output escaped. */

export type Attrs = Record<string, string | number | undefined>;

export const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Coordinates to 0.1 px: finer digits only bloat the file. */
export const px = (n: number): string => String(Math.round(n * 10) / 10);

function attrs(a: Attrs): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? px(v) : escapeXml(v as string)}"`)
    .join('');
}

/** An element; children are already-rendered markup. */
export function el(tag: string, a: Attrs, children: readonly string[] = []): string {
  return children.length === 0 ? `<${tag}${attrs(a)}/>` : `<${tag}${attrs(a)}>${children.join('')}</${tag}>`;
}

export function text(content: string, a: Attrs): string {
  return `<text${attrs(a)}>${escapeXml(content)}</text>`;
}

export const polyline = (points: ReadonlyArray<readonly [number, number]>): string =>
  points.map(([x, y]) => `${px(x)},${px(y)}`).join(' ');
