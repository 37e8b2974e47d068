/** Commander's collector for an option given more than once: `.option('--x <v>', '…', repeatable, [])`. */
export const repeatable = (v: string, all: string[]): string[] => [...all, v];
