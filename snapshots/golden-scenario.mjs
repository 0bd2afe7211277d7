// The scenario behind the golden captures in this folder (see README.md):
// several native fixtures in one process, so that one small capture per Node
// version holds every kind of leak the analysis names.
//
// Per iteration i:
//   null-resource  leak: 1 context, ok: 1 context opened and destroyed
//   js-resource    leak: 1 context with a FixtureResource (weak on ≤24, strong on 26)
//   error-path     leak: 1 context when i % 4 === 3 (the call throws; caught here)
//   shared-context leak: 3 inits, 1 destroy → 2 contexts
//   async-work     leak: 1 async work, queued, completed, never deleted
//   tsfn           leak: 1 thread-safe function (unref'ed) holding fixtureTsfnCallback
//   reference      leak: 1 strong napi_ref to fixtureLeakedCallback (no async context)
// callback-scope (stops microtasks for the whole process) and worker-teardown
// (one Worker per iteration) are left out: they need a process of their own.
import * as asyncWork from '../native-fixtures/async-work/leak.mjs';
import * as errorPath from '../native-fixtures/error-path/leak.mjs';
import * as jsResource from '../native-fixtures/js-resource/leak.mjs';
import * as nullResource from '../native-fixtures/null-resource/leak.mjs';
import * as nullResourceOk from '../native-fixtures/null-resource/ok.mjs';
import * as reference from '../native-fixtures/reference/leak.mjs';
import * as sharedContext from '../native-fixtures/shared-context/leak.mjs';
import * as tsfn from '../native-fixtures/tsfn/leak.mjs';

const synchronous = [nullResource, nullResourceOk, jsResource, errorPath, sharedContext, tsfn, reference];

export function iteration(i) {
  for (const fixture of synchronous) fixture.iteration(i);
  return asyncWork.iteration(i);
}
