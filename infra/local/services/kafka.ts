import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { localStack } from '../endpoints.ts';
import { InstallError, type ServiceDef, type StackContext } from '../types.ts';
import { lastLines, run } from '../process.ts';

/** Keep in step with <kafka.version> in infra/local/kafka/pom.xml (passed to mvn, so this one wins). */
export const KAFKA_VERSION = '4.2.2';

const SERVICE = 'kafka';
const MIN_JAVA = 17;
const POM = fileURLToPath(new URL('../kafka/pom.xml', import.meta.url));
const { host, port, controllerPort } = localStack.kafka;

const installDir = (ctx: StackContext) => join(ctx.cacheDir, `kafka-${KAFKA_VERSION}`);
const libsDir = (ctx: StackContext) => join(installDir(ctx), 'libs');
const markerFile = (ctx: StackContext) => join(installDir(ctx), '.installed');
const homeDir = (ctx: StackContext) => join(ctx.stateDir, 'kafka');
const dataDir = (ctx: StackContext) => join(homeDir(ctx), 'data');
const serverProperties = (ctx: StackContext) => join(homeDir(ctx), 'server.properties');
const log4jConfig = (ctx: StackContext) => join(homeDir(ctx), 'log4j2.properties');

async function checkJava(): Promise<void> {
  const { code, output } = await run(SERVICE, 'java', ['-version']);
  const major = /version "(\d+)(?:\.(\d+))?/.exec(output);
  if (code !== 0 || !major) throw new InstallError(SERVICE, `java -version failed: ${lastLines(output, 5)}`);
  // Java 8 reports itself as "1.8".
  const version = major[1] === '1' ? Number(major[2]) : Number(major[1]);
  if (version < MIN_JAVA) {
    throw new InstallError(
      SERVICE,
      `Kafka ${KAFKA_VERSION} needs Java ${MIN_JAVA}+, but java on PATH is ${version}`,
    );
  }
}

/** What the install was made from: a changed pom or version makes the cached jars stale. */
async function installFingerprint(): Promise<string> {
  const pom = await readFile(POM);
  return createHash('sha256').update(KAFKA_VERSION).update('\0').update(pom).digest('hex');
}

function serverPropertiesText(ctx: StackContext): string {
  return [
    '# Written by infra/local/services/kafka.ts on every start; edit that file, not this one.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.bootstrap.servers=${host}:${controllerPort}`,
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir(ctx)}`,
    // One broker: every internal topic must settle for a single replica.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'auto.create.topics.enable=true',
    'num.partitions=3',
    // Tests start consumers and expect assignments immediately, not after the 3 s default.
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n');
}

const LOG4J2_PROPERTIES = [
  '# stdout only: the stack manager redirects it to the service log file.',
  'status = warn',
  // Kafka stops in its own shutdown hook; log4j's hook would close the appender before that ends.
  'shutdownHook = disable',
  'appender.stdout.type = Console',
  'appender.stdout.name = STDOUT',
  'appender.stdout.layout.type = PatternLayout',
  'appender.stdout.layout.pattern = [%d] %p %m (%c)%n',
  'rootLogger.level = INFO',
  'rootLogger.appenderRef.stdout.ref = STDOUT',
  'logger.request.name = kafka.request.logger',
  'logger.request.level = WARN',
  // Each start dumps every config value (~1,700 lines); server.properties sits next to the log instead.
  'logger.config.name = org.apache.kafka.common.config.AbstractConfig',
  'logger.config.level = WARN',
  '',
].join('\n');

/** A KRaft cluster id: 16 random bytes, base64url without padding (what `kafka-storage random-uuid` prints). */
function randomClusterId(): string {
  return randomBytes(16).toString('base64url');
}

export const kafka: ServiceDef = {
  name: SERVICE,
  ports: [port, controllerPort],
  startupTimeoutSeconds: 60,

  async install(ctx) {
    const fingerprint = await installFingerprint();
    const marker = markerFile(ctx);
    if (existsSync(marker) && (await readFile(marker, 'utf8')).trim() === fingerprint) return;

    await checkJava();
    ctx.log(
      `kafka: resolving Kafka ${KAFKA_VERSION} jars from Maven Central (first run only, ~10 s to 1 min)`,
    );
    const started = Date.now();
    const libs = libsDir(ctx);
    const staging = `${libs}.partial-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(installDir(ctx), { recursive: true });
    const { code, output } = await run(
      SERVICE,
      'mvn',
      [
        '-B',
        '-q',
        '-f',
        POM,
        // Full coordinates: no plugin-prefix lookup, and the same plugin whatever Maven is installed.
        'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
        `-Dkafka.version=${KAFKA_VERSION}`,
        '-DincludeScope=runtime',
        `-DoutputDirectory=${staging}`,
      ],
      { cwd: installDir(ctx) },
    );
    if (code !== 0) {
      await rm(staging, { recursive: true, force: true });
      throw new InstallError(SERVICE, `mvn exited ${code}: ${lastLines(output)}`);
    }
    if (!existsSync(join(staging, `kafka_2.13-${KAFKA_VERSION}.jar`))) {
      throw new InstallError(SERVICE, `mvn succeeded but ${staging} has no kafka_2.13-${KAFKA_VERSION}.jar`);
    }
    await rm(libs, { recursive: true, force: true });
    await rename(staging, libs);
    await writeFile(marker, `${fingerprint}\n`);
    ctx.log(`kafka: jars installed in ${libs} (${Math.round((Date.now() - started) / 1000)} s)`);
  },

  async prepare(ctx) {
    await mkdir(homeDir(ctx), { recursive: true });
    // Rewritten every time so config changes here reach existing stacks; the data stays.
    await writeFile(serverProperties(ctx), serverPropertiesText(ctx));
    await writeFile(log4jConfig(ctx), LOG4J2_PROPERTIES);

    if (existsSync(join(dataDir(ctx), 'meta.properties'))) return;
    // No meta.properties means a format never finished: start the directory over.
    await rm(dataDir(ctx), { recursive: true, force: true });
    ctx.log('kafka: formatting KRaft storage');
    const { code, output } = await run(
      SERVICE,
      'java',
      [
        `-Dlog4j2.configurationFile=${log4jConfig(ctx)}`,
        '-cp',
        `${libsDir(ctx)}/*`,
        'kafka.tools.StorageTool',
        'format',
        '--cluster-id',
        randomClusterId(),
        '--config',
        serverProperties(ctx),
        // Single-node dynamic quorum (KIP-853): this node is the only voter.
        '--standalone',
      ],
      { cwd: homeDir(ctx) },
    );
    if (code !== 0)
      throw new InstallError(SERVICE, `kafka storage format exited ${code}: ${lastLines(output)}`);
  },

  launch(ctx) {
    return {
      command: 'java',
      args: [
        '-Xms128m',
        '-Xmx512m',
        // The JVM flags of Kafka's own kafka-server-start.sh / kafka-run-class.sh.
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:InitiatingHeapOccupancyPercent=35',
        '-XX:+ExplicitGCInvokesConcurrent',
        '-XX:+ExitOnOutOfMemoryError',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${log4jConfig(ctx)}`,
        '-cp',
        `${libsDir(ctx)}/*`,
        'kafka.Kafka',
        serverProperties(ctx),
      ],
      cwd: homeDir(ctx),
    };
  },

  async healthy() {
    const client = new Kafka({
      clientId: 'shepherd-stack-health',
      brokers: [`${host}:${port}`],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      requestTimeout: 2_000,
      retry: { retries: 0 },
    });
    const admin = client.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.some((b) => b.nodeId === 1);
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
};
