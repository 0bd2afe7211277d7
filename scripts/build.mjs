// `npm run build`: dist/ from nothing (so no file of an earlier build, or of
// a module since deleted, ships in the package), the TypeScript compiled,
// and the C helpers of src/native/ copied beside it: they are compiled on
// the user's machine at first use (src/native/compile.ts).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);
const from = join(root, 'src', 'native');
const to = join(root, 'dist', 'native');
mkdirSync(to, { recursive: true });
for (const name of readdirSync(from)) if (name.endsWith('.c')) copyFileSync(join(from, name), join(to, name));
