// Runs out of V8 heap in iteration 3 (run it with NODE_OPTIONS=--max-old-space-size=32):
// keeps every array it allocates.
const hoard = [];

export function iteration(i) {
  if (i !== 3) return;
  for (;;) hoard.push(new Array(100_000).fill(i));
}
