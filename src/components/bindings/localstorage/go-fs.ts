// Go's os.PathError text for a Node fs error ("open /x: no such file or directory"), so messages
// inside ERR_INVOKE_OUTPUT_BINDING read as contrib's do.
const TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'file exists',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many levels of symbolic links',
  ENOSPC: 'no space left on device',
};

export function goFsError(op: string, path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const text = (code && TEXT[code]) ?? (e instanceof Error ? e.message : String(e));
  return `${op} ${path}: ${text}`;
}
