// For attach: a program whose own async_hooks init hook takes a while (as an
// APM agent's can), so most of its JavaScript time is spent inside async
// hooks and an inspector message often arrives there. Each iteration leaks
// four null-resource contexts (native-fixtures/null-resource), each init
// hook call busy for 0.4 ms.
import { createHook } from 'node:async_hooks';
import { createRequire } from 'node:module';

const binding = createRequire(import.meta.url)('../../native-fixtures/null-resource/build/Release/null_resource.node');

createHook({
  init() {
    const until = process.hrtime.bigint() + 400_000n;
    while (process.hrtime.bigint() < until);
  },
}).enable();

export function iteration() {
  for (let i = 0; i < 4; i++) binding.leak();
}
