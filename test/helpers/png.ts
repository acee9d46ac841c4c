import { PNG } from 'pngjs';

/** Size and number of distinct colours of a PNG: a chart or a page with text has many, a blank image one. */
export function distinctColours(png: Buffer): { width: number; height: number; colours: number } {
  const img = PNG.sync.read(png);
  const seen = new Set<number>();
  for (let i = 0; i < img.data.length; i += 4) seen.add(img.data.readUInt32BE(i));
  return { width: img.width, height: img.height, colours: seen.size };
}
