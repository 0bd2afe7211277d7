import { expect, it } from 'vitest';
import { withoutParameters } from '../../src/native-ledger/sites.js';

it('a demangled C++ name loses its parameter list (and cv-qualifier), keeps template arguments and a symbol offset', () => {
  expect([
    'Napi::details::CallbackData<Napi::Value (*)(Napi::CallbackInfo const&), Napi::Value>::Wrapper(napi_env__*, napi_callback_info__*)+0xd8',
    'Napi::AsyncWorker::OnAsyncWorkComplete(napi_env__*, napi_status, void*)',
    'a::b() const',
    'operator()(int)',
    'plain_c_function',
    'napi_rs::bindgen::call+0x1f',
  ].map(withoutParameters)).toEqual([
    'Napi::details::CallbackData<Napi::Value (*)(Napi::CallbackInfo const&), Napi::Value>::Wrapper+0xd8',
    'Napi::AsyncWorker::OnAsyncWorkComplete',
    'a::b',
    'operator()',
    'plain_c_function',
    'napi_rs::bindgen::call+0x1f',
  ]);
});
