// The scenario `npm start` captures: one iteration of a small "service" that
// uses three native addons from this folder. Two of them leak async contexts
// (one on every call, one only when a call fails), one is correct. The
// attribution names each by the name the addon gave napi_async_init.
import * as correct from './null-resource/ok.mjs';
import * as leakyEveryCall from './null-resource/leak.mjs';
import * as leakyOnErrors from './error-path/leak.mjs';

export function iteration(i) {
  leakyEveryCall.iteration(i);
  leakyOnErrors.iteration(i);
  correct.iteration(i);
}
