import { execa, type Result } from 'execa';
import { cpSync, lstatSync, mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (dist/test/helpers -> ../../..). */
export const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
/** The `mlcube` command as installed (package.json bin, a Node.js script); `node CLI ...` where a test needs the node process itself (signals, setpriv). */
export const CLI = join(REPO, 'dist', 'mlcube.cjs');
export const CORPUS = resolve(REPO, '..', 'shared', 'mlcube-corpus');
export const FIXTURES = join(REPO, 'test', 'fixtures');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI as a user would; settings isolated in `env.MLCUBE_SYSTEM_SETTINGS` unless given. */
export async function mlcube(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const r: Result = await execa(CLI, args, {
    ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    cwd: opts.cwd ?? REPO,
    env: { MLCUBE_SYSTEM_SETTINGS: join(tmpdir(), 'mlcube-test-no-settings.yaml'), ...opts.env },
    reject: false,
    stripFinalNewline: false,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A private copy of a fixture cube in a temp dir; removed by the returned cleanup. */
export function copyFixture(name: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `mlcube-${name}-`));
  cpSync(join(FIXTURES, 'cubes', name), dir, { recursive: true });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function tempDir(prefix = 'mlcube-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every file and directory under `dir` with size and mtime: compare before/after to prove nothing changed. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      const st = lstatSync(p, { throwIfNoEntry: false });
      out.push(`${relative(dir, p)} ${e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'link' : `${st?.size}:${st?.mtimeMs}`}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

export function readJson(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'));
}
