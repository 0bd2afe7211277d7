import type { GateResult } from '../analysis/budget.js';
import type { AnalysisResult } from '../analysis/result.js';

/** What every report format renders. */
export interface ReportInput {
  /** The analysis; a capture's result may carry its `capture` outcome beside it, kept in result.json. */
  result: AnalysisResult & { capture?: unknown };
  gate: GateResult;
  /** Script paths in frames are shown relative to this directory (and annotated when under it); '' keeps them as they are. */
  cwd?: string;
}

/** One report format: a file name and a pure renderer. */
export interface Reporter {
  name: string;
  /** The file it writes in the report folder. */
  file: string;
  description: string;
  render(input: ReportInput): string;
}
