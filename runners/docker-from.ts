/** The base images a Dockerfile starts from (pure): its FROM lines, with the build args the build would use. */

export interface DockerfileBase {
  /** The image, build args substituted. */
  image: string;
  /** 1-based line of its FROM. */
  line: number;
  /** The build arg the whole image name comes from (`FROM ${BASE}`), which `-Pdocker.build_args.NAME=` sets. */
  arg?: string;
}

/** Substitutes `$N`, `${N}` and `${N:-default}` (Dockerfile rules; an unset variable is empty). */
function substitute(word: string, vars: Record<string, string>): string {
  return word.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, braced?: string, dflt?: string, bare?: string) => {
    const v = vars[(braced ?? bare)!];
    return v !== undefined && v !== '' ? v : (dflt ?? '');
  });
}

const unquote = (s: string) => s.replace(/^(["'])(.*)\1$/, '$2');

/**
 * Every image the Dockerfile's stages start from, in order; stages built on an earlier stage (`FROM build`) and
 * `scratch` are left out. Only ARGs declared before the first FROM apply to FROM lines, and a build arg counts only
 * for an ARG the Dockerfile declares, as in docker build.
 */
export function dockerfileBases(text: string, buildArgs: Record<string, string>): DockerfileBase[] {
  const globals: Record<string, string> = {};
  const stages = new Set<string>();
  const bases: DockerfileBase[] = [];
  let seenFrom = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let instruction = lines[i];
    // A trailing backslash continues the instruction on the next line.
    while (/\\\s*$/.test(instruction) && i + 1 < lines.length) instruction = instruction.replace(/\\\s*$/, ' ') + lines[++i];
    const words = instruction.trim().split(/\s+/);
    const keyword = words[0]?.toUpperCase();
    if (!keyword || keyword.startsWith('#')) continue;
    if (keyword === 'ARG' && !seenFrom) {
      for (const w of words.slice(1)) {
        const eq = w.indexOf('=');
        const name = eq < 0 ? w : w.slice(0, eq);
        const value = name in buildArgs ? buildArgs[name] : eq < 0 ? undefined : unquote(w.slice(eq + 1));
        if (value !== undefined) globals[name] = value;
      }
    } else if (keyword === 'FROM') {
      seenFrom = true;
      const rest = words.slice(1).filter((w) => !w.startsWith('--'));
      const raw = rest[0];
      if (raw === undefined) continue;
      const image = substitute(raw, globals);
      const fromStage = image === '' || image.toLowerCase() === 'scratch' || stages.has(image.toLowerCase());
      if (rest[1]?.toUpperCase() === 'AS' && rest[2]) stages.add(rest[2].toLowerCase());
      if (fromStage) continue;
      const arg = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}?$/.exec(raw)?.[1];
      bases.push({ image, line: start + 1, ...(arg ? { arg } : {}) });
    }
  }
  return bases;
}
