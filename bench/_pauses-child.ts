/**
 * Imported into a server a benchmark starts from its real entry point (`node --import`), so the
 * benchmark can read that process's pauses (bench/_pauses.ts) without a hook in the app itself.
 */
import { answerPauses } from './_pauses.ts';

if (process.send) answerPauses();
