/** Exit codes of every command, as README documents them. */
export const EXIT_OK = 0;
export const EXIT_LEAK = 1;
export const EXIT_BAD_INPUT = 2;
