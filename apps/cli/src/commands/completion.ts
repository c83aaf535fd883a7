import { UsageError } from '../errors.js';
import type { Output } from '../output.js';

export const COMPLETION_HELP = `Usage: mnist completion bash|zsh

Prints a shell completion script for the commands and their flags. Load it with
  eval "$(npx mnist completion bash)"     # in ~/.bashrc
  eval "$(npx mnist completion zsh)"      # in ~/.zshrc`;

/** Bash: the command first, then that command's flags. */
function bashScript(flags: Record<string, string[]>): string {
  const cases = Object.entries(flags)
    .map(([c, f]) => `    ${c}) opts="${f.join(' ')}" ;;`)
    .join('\n');
  return `# mnist completion (bash)
_mnist() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${Object.keys(flags).join(' ')} completion help --help --version" -- "$cur") )
    return
  fi
  case "$cmd" in
${cases}
    help) opts="${Object.keys(flags).join(' ')}" ;;
    completion) opts="bash zsh" ;;
    *) opts="" ;;
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -F _mnist mnist
`;
}

/** Zsh: through bashcompinit, so both shells complete the same words. */
function zshScript(flags: Record<string, string[]>): string {
  return `# mnist completion (zsh)
autoload -U +X bashcompinit && bashcompinit
${bashScript(flags)}`;
}

export async function completionCommand(
  args: string[],
  out: Output,
  flagsOf: () => Promise<Record<string, string[]>>,
): Promise<number> {
  const [shell, ...rest] = args;
  if (shell === '--help' || shell === '-h') return (out.result(COMPLETION_HELP), 0);
  if (rest.length > 0 || (shell !== 'bash' && shell !== 'zsh'))
    throw new UsageError(`mnist completion takes bash or zsh${shell ? `, got '${shell}'` : ''}`);
  const flags = await flagsOf();
  out.result(shell === 'bash' ? bashScript(flags) : zshScript(flags));
  return 0;
}
