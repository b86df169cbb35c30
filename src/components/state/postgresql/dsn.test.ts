import { connectionConfig } from './dsn';

describe('connectionConfig', () => {
  it('passes URLs through', () => {
    expect(connectionConfig('postgres://u:p@h:5433/db')).toEqual({ connectionString: 'postgres://u:p@h:5433/db' });
  });

  it('translates keyword/value strings, quoted values included', () => {
    const c = connectionConfig("host=localhost user=postgres password='a b\\'c' port=5432 connect_timeout=10 database=my_dapr sslmode=require");
    expect(c).toMatchObject({ host: 'localhost', user: 'postgres', password: "a b'c", port: 5432, database: 'my_dapr', ssl: { rejectUnauthorized: false } });
  });

  it('rejects garbage', () => {
    expect(() => connectionConfig('not a dsn')).toThrow('neither');
  });
});
