// helper-sites, ok twin: only startB() (balanced through the shared helpers).
import { createRequire } from 'node:module';
const binding = createRequire(import.meta.url)('./build/Release/helper_sites.node');
export const meta = { scenario: 'helper-sites', twin: 'ok' };
export function iteration(i) {
  binding.startB();
  binding.startB();
}
