import { bindingDirection } from './direction';

test.each([
  [{}, { input: true, output: true, explicitInput: false }],
  [{ direction: 'input' }, { input: true, output: false, explicitInput: true }],
  [{ Direction: ' Output ' }, { input: false, output: true, explicitInput: false }],
  [{ direction: 'input, output' }, { input: true, output: true, explicitInput: true }],
  [{ direction: '' }, { input: false, output: false, explicitInput: false }],
])('%j', (props, want) => {
  expect(bindingDirection(props)).toEqual(want);
});
