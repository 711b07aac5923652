/**
 * What every client-running command does around its own work (`client`, `member`, `config fetch`,
 * `status`): read the cluster file, connect with a key file, turn a bad file or an unreachable
 * cluster into one usage line, and close the client however the command ends.
 */
import { ClusterFileError, readClusterFile, type Cluster } from '../cluster/cluster-file.ts';
import { GenerateError } from '../cluster/generate.ts';
import { KeyFileError, readKeyFile, type KeyRole } from '../cluster/key-file.ts';
import { Client, ClientError } from '../client/client.ts';
import { UsageError } from './options.ts';

/** Connects with the key in `keyFile` (of `role`, if given); the connection waits at most 5 s. */
export type Connect = (keyFile: string, role?: KeyRole) => Promise<Client>;

export async function withCluster<T>(clusterFile: string, timeoutMs: number, run: (cluster: Cluster, connect: Connect) => Promise<T>): Promise<T> {
  const clients: Client[] = [];
  try {
    const cluster = readClusterFile(clusterFile);
    const connect: Connect = async (keyFile, role) => {
      const key = readKeyFile(keyFile, cluster, role);
      const client = await Client.connect({ cluster, key, connectTimeoutMs: Math.min(timeoutMs, 5000), operationTimeoutMs: timeoutMs });
      clients.push(client);
      return client;
    };
    return await run(cluster, connect);
  } catch (e) {
    if (e instanceof ClusterFileError || e instanceof KeyFileError || e instanceof ClientError || e instanceof GenerateError) throw new UsageError(e.message);
    throw e;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}
