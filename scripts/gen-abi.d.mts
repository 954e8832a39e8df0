/** The path of the generated file, from the repository's root. */
export const ABI_FILE: string;
/** The text scripts/gen-abi.mjs writes to ABI_FILE for the sources under assembly/. */
export function abiSource(): string;
