import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';

/**
 * Vega-Lite spec -> SVG (vega's headless View) -> PNG (resvg). The libraries are loaded here, when a card is made,
 * so that no other command pays for them (resvg is a native module; all three stay out of the CLI bundle).
 * Text is drawn with DejaVu Sans from the dejavu-fonts-ttf package, never system fonts: the same PNG everywhere,
 * also on machines without any font installed.
 */
export async function renderPng(spec: TopLevelSpec): Promise<Buffer> {
  const [vega, vl, { Resvg }] = await Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG(2);
    const font = { loadSystemFonts: false, fontFiles: fontFiles(), defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' };
    return new Resvg(svg, { background: 'white', font }).render().asPng();
  } finally {
    view.finalize();
  }
}

function fontFiles(): string[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => join(dir, f));
}
