// A real, prebuilt node-addon-api addon used correctly: bcrypt 6's async API.
// Each iteration generates a salt, hashes a password with it and compares the
// right and a wrong password, all through bcrypt's AsyncWorkers
// ("bcrypt:SaltAsyncWorker", "bcrypt:EncryptAsyncWorker",
// "bcrypt:CompareAsyncWorker"), each of which node-addon-api deletes after
// its completion callback. Nothing should grow.
import { createRequire } from 'node:module';

const bcrypt = createRequire(import.meta.url)('bcrypt');

/** The cheapest cost factor bcrypt accepts, so an iteration takes about a millisecond. */
const ROUNDS = 4;

export const meta = {
  scenario: 'bcrypt-loop',
  asyncNames: ['bcrypt:SaltAsyncWorker', 'bcrypt:EncryptAsyncWorker', 'bcrypt:CompareAsyncWorker'],
  /** Native calls per iteration, per async name. */
  callsPerIteration: { 'bcrypt:SaltAsyncWorker': 1, 'bcrypt:EncryptAsyncWorker': 1, 'bcrypt:CompareAsyncWorker': 2 },
  leakedAsyncPerIteration: 0,
};

export async function iteration(i) {
  const password = `correct horse battery staple ${i}`;
  const salt = await bcrypt.genSalt(ROUNDS);
  const hash = await bcrypt.hash(password, salt);
  if (!(await bcrypt.compare(password, hash))) throw new Error(`bcrypt: the right password did not match in iteration ${i}`);
  if (await bcrypt.compare(`${password}!`, hash)) throw new Error(`bcrypt: a wrong password matched in iteration ${i}`);
}
