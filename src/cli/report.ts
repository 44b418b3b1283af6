/**
 * Reports for CI: JUnit XML (test result panels), SARIF 2.1.0 (code scanning), and
 * GitHub Actions workflow commands (`::error`), from one list of checked rows.
 */
import { version } from './io.ts';

/** One checked thing: a system at a scope, with or without a variant, and how it came out. */
export interface Row {
  /** `nonlru` or `nonlru/no-isolated-check`. */
  readonly name: string;
  /** The command that reproduces it. */
  readonly command: string;
  readonly expected: string;
  readonly got: string;
  /** Did it come out as expected (a pass for a system, the committed violation for a variant)? */
  readonly ok: boolean;
  readonly seconds: number;
  /** Why not, or the violation found, in a line. */
  readonly message?: string;
  readonly property?: { readonly name: string; readonly rule?: string };
  readonly trace?: string | null;
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function junit(rows: readonly Row[], suite = 'pagerace'): string {
  const failures = rows.filter((r) => !r.ok).length;
  const time = rows.reduce((t, r) => t + r.seconds, 0);
  const L = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pagerace" tests="${rows.length}" failures="${failures}" time="${time.toFixed(3)}">`,
    `  <testsuite name="${xml(suite)}" tests="${rows.length}" failures="${failures}" errors="0" skipped="0" time="${time.toFixed(3)}">`,
  ];
  for (const r of rows) {
    L.push(`    <testcase classname="pagerace.${xml(r.name.split('/')[0])}" name="${xml(r.name)}" time="${r.seconds.toFixed(3)}">`);
    if (!r.ok) {
      L.push(`      <failure message="${xml(r.message ?? `expected ${r.expected}, got ${r.got}`)}" type="${xml(r.got)}">${xml(`expected: ${r.expected}\ngot: ${r.got}\n${r.trace ? `trace: ${r.trace}\n` : ''}reproduce: ${r.command}`)}</failure>`);
    }
    L.push(`      <system-out>${xml(`${r.command}: ${r.got}`)}</system-out>`, '    </testcase>');
  }
  L.push('  </testsuite>', '</testsuites>');
  return L.join('\n');
}

export function sarif(rows: readonly Row[]): string {
  const bad = rows.filter((r) => !r.ok);
  const rules = new Map<string, { id: string; shortDescription: { text: string } }>();
  for (const r of bad) {
    const id = r.property?.name ?? 'unexpected-verdict';
    if (!rules.has(id)) rules.set(id, { id, shortDescription: { text: r.property?.rule ?? (id === 'unexpected-verdict' ? 'A check did not come out as expected.' : id) } });
  }
  const doc = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'pagerace', version: version(), informationUri: 'https://github.com/pagerace/pagerace', rules: [...rules.values()] } },
      results: bad.map((r) => ({
        ruleId: r.property?.name ?? 'unexpected-verdict',
        level: 'error',
        message: { text: `${r.name}: ${r.message ?? `expected ${r.expected}, got ${r.got}`} (reproduce: ${r.command})` },
        ...(r.trace ? { locations: [{ physicalLocation: { artifactLocation: { uri: r.trace } } }] } : {}),
      })),
    }],
  };
  return JSON.stringify(doc, null, 2);
}

/** GitHub Actions workflow command escaping (data, then property values). */
const ghData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const ghProp = (s: string) => ghData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** `::error` lines for the rows that did not come out as expected (printed when GITHUB_ACTIONS is set). */
export function githubAnnotations(rows: readonly Row[]): string[] {
  return rows.filter((r) => !r.ok).map((r) =>
    `::error ${r.trace ? `file=${ghProp(r.trace)},` : ''}title=${ghProp(`pagerace ${r.name}`)}::${ghData(`${r.message ?? `expected ${r.expected}, got ${r.got}`}; reproduce: ${r.command}`)}`);
}

export const inGithubActions = (): boolean => process.env.GITHUB_ACTIONS === 'true';
