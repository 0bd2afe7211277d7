// helper-sites: per iteration startA() (leak), startB() (ok) twice, startC() (leak).
// Expected per iteration: site [open_context<StartA] +1 open, [open_context<StartB] +2 acquired
// +2 released, [open_context<middle<StartC] +1 open.
import { createRequire } from 'node:module';
const binding = createRequire(import.meta.url)('./build/Release/helper_sites.node');
export const meta = { scenario: 'helper-sites', twin: 'leak' };
export function iteration(i) {
  binding.startA();
  binding.startB();
  binding.startB();
  binding.startC();
}
