// Runs out of heap in iteration 3 (run it with a small --max-old-space-size):
// keeps allocating arrays it holds on to.
const hoard = [];

export function iteration(i) {
  if (i !== 3) return;
  for (;;) hoard.push(new Array(100_000).fill(i));
}
