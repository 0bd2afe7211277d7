import { expect, it } from 'vitest';
import type { NativeLedger } from '../../src/native-ledger/read-ledger.js';
import { ledgerShortfalls, withoutParameters } from '../../src/native-ledger/sites.js';

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

it('what the ledger could not book is said, with the number and the setting that raises it; nothing when it booked everything', () => {
  const ledger = (noSite: Record<string, number>, untracked: Record<string, number>) =>
    ({ totals: { noSite, untracked, unmatchedReleases: {}, failedCalls: {} }, stats: { siteCapacity: 4096 } }) as unknown as NativeLedger;
  expect(ledgerShortfalls(ledger({}, {}))).toEqual([]);
  expect(ledgerShortfalls(ledger({ 'async_init/async_destroy': 3, 'create_reference/delete_reference': 2 }, { 'wrap/delete_reference': 7 }))).toEqual([
    'native ledger: 5 acquisition(s) found no room in its site table (4096 sites; NAPI_HEAPDIFF_NATIVE_SITES raises it): their call sites are missing above.',
    'native ledger: 7 handle(s) found no room in its open-handle tables (NAPI_HEAPDIFF_NATIVE_OPEN raises it): they count as open at their site, released or not.',
  ]);
});
