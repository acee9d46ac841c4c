import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFixture, mlcube, tempDir } from './cli.js';

/** A copy of the secret fixture cube with its ciphertexts and keys written (test/fixtures/cubes/secret/mlcube.yaml). */
export interface SecretCube {
  dir: string;
  ws: string;
  /** A random string in every plaintext: found anywhere afterwards, plaintext leaked. */
  marker: string;
  /** What the task must be given in its environment: the note's key. */
  env: Record<string, string>;
  /** The consumer's X25519 private key (opens out/result.enc). */
  identity: string;
  /** The test's own plaintext (outside the cube): left out of the searches. */
  plainDir: string;
  /** Where the test keeps its keys and plaintext (outside the cube). */
  keysDir: string;
  cleanup: () => void;
}

export async function secretCube(opts: { hold?: boolean } = {}): Promise<SecretCube> {
  const cube = copyFixture('secret');
  const keys = tempDir('mlcube-secret-keys-');
  const ws = join(cube.dir, 'workspace');
  const marker = `PLAINTEXT-MARKER-${randomBytes(8).toString('hex')}`;
  mkdirSync(join(ws, 'keys'), { recursive: true });
  writeFileSync(join(ws, 'keys', 'data.key'), randomBytes(32), { mode: 0o600 });
  const plain = join(keys.dir, 'plain');
  mkdirSync(plain, { recursive: true });
  writeFileSync(join(plain, 'a.txt'), `${marker} a\n`);
  writeFileSync(join(plain, 'b.txt'), `${marker} b\n`);
  const enc = (args: string[]) => mlcube(['encrypt', ...args]).then((r) => expect(r.exitCode, r.stderr).to.equal(0));
  await enc([`--key-file=${join(ws, 'keys', 'data.key')}`, plain, join(ws, 'data.enc')]);
  const noteKey = randomBytes(32);
  writeFileSync(join(keys.dir, 'note.key'), noteKey);
  writeFileSync(join(keys.dir, 'note.txt'), `${marker} note${opts.hold ? ' HOLD' : ''}\n`);
  await enc([`--key-file=${join(keys.dir, 'note.key')}`, join(keys.dir, 'note.txt'), join(ws, 'note.enc')]);
  const g = await mlcube(['keys', 'generate', '--kind=x25519', `--dir=${join(keys.dir, 'consumer')}`]);
  expect(g.exitCode, g.stderr).to.equal(0);
  copyFileSync(join(keys.dir, 'consumer', 'recipient.pub'), join(ws, 'keys', 'recipient.pub'));
  return {
    dir: cube.dir,
    ws,
    marker,
    env: { MLCUBE_TEST_NOTE_KEY: noteKey.toString('hex') },
    identity: join(keys.dir, 'consumer', 'identity.key'),
    cleanup: () => {
      cube.cleanup();
      keys.cleanup();
    },
    plainDir: plain,
    keysDir: keys.dir,
  };
}

/** Every file under `dirs` that holds `marker` (symbolic links not followed; unreadable entries skipped). */
export function filesHolding(marker: string, dirs: readonly string[], skip: readonly string[] = []): string[] {
  const found: string[] = [];
  const needle = Buffer.from(marker);
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (skip.some((s) => p === s || p.startsWith(`${s}/`))) continue;
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && st.size < 64 * 1024 * 1024) {
        try {
          if (readFileSync(p).includes(needle)) found.push(p);
        } catch {
          // Unreadable: not this user's, not the run's.
        }
      }
    }
  };
  for (const d of dirs) if (existsSync(d)) walk(d);
  return found;
}

/** Where plaintext could be left: the workspace, the temp directory, /dev/shm. */
export const plaintextSearchRoots = (ws: string) => [ws, tmpdir(), '/dev/shm'];
