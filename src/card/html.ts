import type { PlotPlan } from './plots.js';
import { NOT_REPORTED, type Block, type Section } from './sections.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function block(b: Block): string {
  if (b.kind === 'code') return `<pre><code>${esc(b.text)}</code></pre>`;
  if (b.kind === 'text') return `<p${b.alert ? ' class="alert"' : ''}>${b.strong ? `<strong>${esc(b.text)}</strong>` : esc(b.text)}</p>`;
  const head = `<tr>${b.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const rows = b.rows.map((r) => `<tr${r.failed ? ' class="failed"' : ''}>${r.cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`);
  return `<table>${head}${rows.join('')}</table>`;
}

const STYLE = `body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;font-size:.9em;word-break:break-all}
tr.failed td{background:#fde2e2;color:#a00;font-weight:bold}.alert{color:#a00}pre{background:#f6f6f6;padding:.5em;overflow:auto}
figure{display:inline-block;margin:.5em}img{max-width:100%;border:1px solid #ddd}`;

/** model-card.html: self-contained, the plots inlined as data: URIs (one file to send or archive). */
export function cardHtml(title: string, sections: Section[], plots: PlotPlan[], pngs: ReadonlyMap<string, Buffer>): string {
  const body = [`<h1>${esc(title)}</h1>`];
  for (const s of sections) body.push(`<h2>${esc(s.heading)}</h2>`, ...s.blocks.map(block));
  body.push('<h2>Plots</h2>');
  for (const p of plots) {
    const png = p.spec ? pngs.get(p.file) : undefined;
    body.push(
      png
        ? `<figure><img src="data:image/png;base64,${png.toString('base64')}" alt="${esc(p.title)}"><figcaption>${esc(p.title)}</figcaption></figure>`
        : `<p>${esc(p.title)}: ${NOT_REPORTED} (${esc(p.missing ?? '')})</p>`,
    );
  }
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head>\n<body>\n${body.join('\n')}\n</body></html>\n`;
}
