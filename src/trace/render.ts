/**
 * Text swimlanes: one column per actor, one row per step. The stepping actor's cell
 * names the kernel function and what the step does; the last column says what
 * changed in the world.
 */
import { traceLength, type Trace } from './trace.ts';

const WIDTH = 44;

function cell(text: string, width: number): string {
  return text.length > width ? text.slice(0, width - 1) + '…' : text.padEnd(width);
}

export function swimlanes(t: Trace, actors: readonly string[]): string {
  const lines: string[] = [];
  const header = ['  #', ...actors.map((a) => cell(a, WIDTH)), 'changes'];
  lines.push(header.join(' | '));
  lines.push(header.map((h) => '-'.repeat(Math.min(h.length, WIDTH))).join('-+-'));
  t.steps.forEach((s, i) => {
    if (i === t.loop) lines.push(`  ↻ | the loop starts here: the steps below come back to the state after step ${i}, and repeat for ever`);
    const what = s.event === 'step' ? `${s.fn}: ${s.desc}` : `${s.fn}: ${s.event}`;
    const row = [String(i + 1).padStart(3), ...actors.map((a) => cell(a === s.actor ? what : '', WIDTH)), s.changes.join('; ')];
    lines.push(row.join(' | ').trimEnd());
  });
  return lines.join('\n');
}

export function describeViolation(t: Trace): string {
  const v = t.violation;
  return `${v.kind} ${v.property}: ${v.message} (${traceLength(t.steps)} steps, ${t.preemptions} preemption${t.preemptions === 1 ? '' : 's'})`;
}
