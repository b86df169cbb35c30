import { mysqlConnection } from '.';

describe('mysql sequencer connectionString', () => {
  it.each([
    ['root:@tcp(127.0.0.1:3306)/test', { user: 'root', password: undefined, host: '127.0.0.1', port: 3306, database: 'test' }],
    ['u:p@tcp(db:3307)/seq?parseTime=true', { user: 'u', password: 'p', host: 'db', port: 3307, database: 'seq' }],
    ['mysql://u:p%40ss@db:3308/seq', { user: 'u', password: 'p@ss', host: 'db', port: 3308, database: 'seq' }],
  ])('%s', (s, expected) => expect(mysqlConnection(s)).toEqual(expected));

  it('refuses anything else, and a URL without a database', () => {
    expect(() => mysqlConnection('nonsense')).toThrow('neither a mysql:// URL');
    expect(() => mysqlConnection('mysql://u@db:3306/')).toThrow('must be mysql://');
  });
});
