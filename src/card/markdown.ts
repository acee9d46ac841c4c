import type { PlotPlan } from './plots.js';
import { NOT_REPORTED, type Block, type Section } from './sections.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function block(b: Block): string {
  if (b.kind === 'code') {
    const fence = '`'.repeat(Math.max(3, ...[...b.text.matchAll(/`+/g)].map((m) => m[0].length + 1)));
    return `${fence}\n${b.text.replace(/\n$/, '')}\n${fence}`;
  }
  if (b.kind === 'text') return b.strong ? `**${b.text}**` : b.text;
  const rows = b.rows.map((r) => r.cells.map((c, i) => (r.failed && i === b.head.length - 1 ? `**${c}**` : c)));
  return [b.head, b.head.map(() => '---'), ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n');
}

/** model-card.md: the sections, then the plots as PNG files beside it. */
export function cardMarkdown(title: string, sections: Section[], plots: PlotPlan[]): string {
  const parts = [`# ${title}`];
  for (const s of sections) parts.push(`## ${s.heading}`, ...s.blocks.map(block));
  parts.push('## Plots');
  for (const p of plots) parts.push(p.spec ? `![${p.title}](${p.file})` : `${p.title}: ${NOT_REPORTED} (${p.missing})`);
  return `${parts.join('\n\n')}\n`;
}
