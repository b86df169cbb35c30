// The `direction` metadata of a binding manifest ("input", "output", "input, output"), read as
// daprd's binding processor reads it: names match case-insensitively, entries are comma-separated
// and trimmed. Without the field a binding is whatever its component can be, and the runtime asks
// the app whether it listens; naming "input" starts reading without asking.
export interface BindingDirection {
  input: boolean;
  output: boolean;
  /** "input" is listed: read without probing the app (OPTIONS / ListInputBindings). */
  explicitInput: boolean;
}

export function bindingDirection(properties: Record<string, string>): BindingDirection {
  const entry = Object.entries(properties).find(([k]) => k.toLowerCase() === 'direction');
  if (!entry) return { input: true, output: true, explicitInput: false };
  const listed = new Set(entry[1].split(',').map((d) => d.trim().toLowerCase()));
  return { input: listed.has('input'), output: listed.has('output'), explicitInput: listed.has('input') };
}
