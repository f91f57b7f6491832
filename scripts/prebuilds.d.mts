/** Types of scripts/prebuilds.mjs, for the tests that import it. */
export declare const ADDON: string;
export declare const HELPERS: string[];
export declare function prebuildDir(packageRoot: string, platform?: string, arch?: string): string;
export declare function isStaticElf(path: string): boolean;
export declare function whyNotFitting(dir: string): string | undefined;
