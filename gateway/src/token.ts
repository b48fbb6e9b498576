import { parseArgs } from 'node:util';
import type { Role } from '@waooaw/shared';
import { parseConfig, ROLES } from '@waooaw/shared';
import { signDevToken } from './auth';
import { environmentSchema } from './environment';

/** `npm run token -- --role operator --sub ops-1 [--role admin] [--ttl 8h]`: a dev token, last line. */
const { values } = parseArgs({
  options: {
    role: { type: 'string', multiple: true },
    sub: { type: 'string' },
    ttl: { type: 'string' },
  },
});
const roles = values.role ?? [];
const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
if (roles.length === 0 || unknown.length > 0 || !values.sub) {
  process.stderr.write(`usage: npm run token -- --role <${ROLES.join('|')}> --sub <user id> [--ttl 8h]\n`);
  if (unknown.length) process.stderr.write(`unknown role(s): ${unknown.join(', ')}\n`);
  process.exit(2);
}
const config = parseConfig(environmentSchema, process.env);
signDevToken({ sub: values.sub, roles: roles as Role[] }, config, values.ttl ?? '8h').then(
  (token) => {
    process.stdout.write(
      `# ${values.sub} as ${roles.join(', ')}; send as Authorization: Bearer <token>\n${token}\n`,
    );
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  },
);
