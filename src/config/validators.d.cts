// Types of dist/validators.generated.cjs (package.json "imports" #validators), written by src/build/compile-schemas.ts.
import type { ValidateFunction } from 'ajv';

declare const validators: Record<string, ValidateFunction>;
export = validators;
