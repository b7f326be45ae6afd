// Words for a failed file read, shared by every option that names a file (--ca-cert,
// --vault-token-file, the kubeconfig), so that their messages match.

const REASONS: Record<string, string> = {
  ENOENT: 'the file does not exist',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory, not a file',
};

/** Describe why a file could not be read: words for the common error codes, else the error's message. */
export function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (code && REASONS[code]) ?? (error instanceof Error ? error.message : String(error));
}
