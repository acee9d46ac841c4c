import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cover, ScratchLayout } from '../src/params/mounts.js';

/** A directory private to one task run (0700, in the host's temp directory) for what a runtime binds besides the parameters. */
export function makeScratch(): string {
  return mkdtempSync(join(tmpdir(), 'mlcube-scratch-'));
}

/** Makes what a plan asks for, then takes write permission off its directories (a task running as you cannot fill them). */
export function prepareScratch(layout: ScratchLayout, covers: readonly Cover[] = []): void {
  // A cover's target must exist: the runtime binds onto it through the mount that shows it.
  for (const c of covers) mkdirSync(c.host, { recursive: true });
  for (const d of layout.dirs) mkdirSync(d, { recursive: true });
  for (const f of layout.files) writeFileSync(f, '', { flag: 'wx', mode: 0o444 });
  for (const d of [...layout.dirs].reverse()) chmodSync(d, 0o555);
}

/** Removes the scratch directory, whatever the task left in it. */
export function removeScratch(dir: string): void {
  const writable = (d: string) => {
    try {
      chmodSync(d, 0o700);
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) writable(join(d, e.name));
    } catch {
      // gone already, or not ours: rmSync reports nothing either way
    }
  };
  writable(dir);
  rmSync(dir, { recursive: true, force: true });
}
