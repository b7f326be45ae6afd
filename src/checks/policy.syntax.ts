import type { CheckContext } from '../context/context.js';
import { parsePolicy, PolicyParseError } from '../policy/index.js';
import type { Result } from '../report/types.js';
import { ResultBuilder, type Check, type CheckMeta } from './types.js';

const meta: CheckMeta = {
  id: 'policy.syntax',
  title: 'Policy files parse as Vault parses them',
  description: 'Every policy file given to lint parses with the HCL v1 or JSON rules Vault applies, with the position of the first error',
  group: 'policy',
  needs: [],
  modes: ['lint'],
  messages: {
    ok: 'Policy "{policy}" parses as Vault would parse it.',
    invalid: 'Policy "{policy}" is invalid: {reason}.',
  },
};

export const check: Check = {
  meta,
  async run(context: CheckContext): Promise<Result[]> {
    const out = new ResultBuilder(meta);
    for (const [name, file] of context.offline?.policies ?? []) {
      try {
        parsePolicy(file.text, { name, file: file.file });
        out.add('pass', 'ok', { kind: 'VaultPolicy', name, location: file.file }, `Policy "${name}" parses as Vault would parse it.`);
      } catch (error) {
        const location = error instanceof PolicyParseError ? `${file.file}:${error.line}:${error.column}` : file.file;
        const reason = error instanceof PolicyParseError ? error.reason : (error as Error).message;
        out.add('fail', 'invalid', { kind: 'VaultPolicy', name, location }, `Policy "${name}" is invalid: ${reason}. Vault rejects it with "failed to parse policy".`, {
          fix: { summary: 'Correct the policy at the position shown, then check it with: vault policy fmt FILE.', commands: [`vault policy fmt ${file.file}`] },
        });
      }
    }
    return out.results;
  },
};
