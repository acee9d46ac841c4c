import type { SchemaOptions, Tags } from 'yaml';

/**
 * YAML 1.1 as PyYAML reads it (the Python MLCube's parser), for every YAML mlcube reads or edits. The `yaml`
 * package's 1.1 float rules also match plain scalars without a digit (`.`, `+.`, `._`, `e5`), which it reads as
 * NaN: `build_context: .` became NaN, and was written back as `.nan`. PyYAML reads those as strings; so do we.
 * Every scalar with a digit keeps its reading (the corpus goldens pin that).
 */
const DIGITLESS_FLOATS: Record<string, RegExp> = {
  [String(/^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/)]: /^[-+]?(?=[0-9_.]*[0-9])(?:[0-9][0-9_]*)?\.[0-9_]*$/,
  [String(/^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/)]: /^[-+]?(?=[0-9_.]*[0-9])(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/,
};

function withDigitFloats(tags: Tags): Tags {
  let replaced = 0;
  const out = tags.map((t) => {
    const test = typeof t === 'object' && 'test' in t && t.test ? DIGITLESS_FLOATS[String(t.test)] : undefined;
    if (!test) return t;
    replaced++;
    return { ...(t as object), test } as typeof t;
  });
  // A `yaml` release that changed these rules must be looked at, not silently half-fixed.
  if (replaced !== Object.keys(DIGITLESS_FLOATS).length)
    throw new Error(`internal: the yaml package's YAML 1.1 float rules changed (${replaced} of ${Object.keys(DIGITLESS_FLOATS).length} found): review src/config/yaml-schema.ts`);
  return out;
}

export const YAML_11: SchemaOptions & { version: '1.1' } = { version: '1.1', customTags: withDigitFloats };
