/**
 * A kernel assertion that fired: VM_BUG_ON_PAGE, BUG_ON, WARN_ON and bad_page()
 * all end a run of the model here, carrying the kernel's own text.
 *
 * The kernel core throws it from inside an atomic step; the walker turns it into a
 * "kernel-bug" violation whose trace ends with the step that fired it.
 */
export class KernelBug extends Error {
  constructor(
    /** The assertion as the kernel writes it, e.g. `VM_BUG_ON_PAGE(!PageLocked(page))`. */
    readonly assertion: string,
    /** Kernel function that holds the assertion, e.g. `__SetPageMovable`. */
    readonly where: string,
    /** The page the assertion is about, or -1. */
    readonly pfn: number,
  ) {
    super(`${assertion} in ${where}${pfn >= 0 ? ` (pfn ${pfn})` : ''}`);
    this.name = 'KernelBug';
  }
}

/** VM_BUG_ON_PAGE(cond, page): include/linux/mmdebug.h (CONFIG_DEBUG_VM=y). */
export function VM_BUG_ON_PAGE(cond: boolean, text: string, where: string, pfn: number): void {
  if (cond) throw new KernelBug(`VM_BUG_ON_PAGE(${text})`, where, pfn);
}

/** WARN_ON / WARN_ON_ONCE: a warning is a finding for a model checker, so it stops the run. */
export function WARN_ON(cond: boolean, text: string, where: string, pfn = -1, once = false): void {
  if (cond) throw new KernelBug(`${once ? 'WARN_ON_ONCE' : 'WARN_ON'}(${text})`, where, pfn);
}

/** BUG_ON(cond). */
export function BUG_ON(cond: boolean, text: string, where: string, pfn = -1): void {
  if (cond) throw new KernelBug(`BUG_ON(${text})`, where, pfn);
}
