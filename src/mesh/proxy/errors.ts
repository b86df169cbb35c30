// A problem in a MeshProxy resource found while building the proxy (an unknown cluster, a bad
// regex, an unknown filter type, a port taken): `path` is the field's path inside the resource, so
// the wiring can name the file and line as it does for schema errors.
export class ProxyConfigError extends Error {
  constructor(
    readonly path: (string | number)[],
    message: string,
    /** Which of the resources given to startMeshProxy (set by the proxy as it builds each one). */
    public resource = -1,
  ) {
    super(message);
    this.name = 'ProxyConfigError';
  }
}
