/**
 * Counts in messages people read: "1 task", "3 tasks".
 *
 * @example
 * plural(1, 'task'); // "1 task"
 * plural(3, 'file has', 'files have'); // "3 files have"
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
