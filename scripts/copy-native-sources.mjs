// Part of `npm run build`: the C helpers in src/native/ are compiled on the
// user's machine at first use (src/native/compile.ts), so their sources ship
// beside the compiled JavaScript, in dist/native/.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const from = join(root, 'src', 'native');
const to = join(root, 'dist', 'native');
mkdirSync(to, { recursive: true });
for (const name of readdirSync(from)) if (name.endsWith('.c')) copyFileSync(join(from, name), join(to, name));
