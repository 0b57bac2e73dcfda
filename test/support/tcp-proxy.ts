import net from 'node:net';

/**
 * A TCP pass-through the test can cut: `kill()` drops every connection and refuses new ones, which
 * looks to the service exactly like its database host going away.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let dead = false;
  const server = net.createServer((client) => {
    if (dead) return client.destroy();
    const upstream = net.connect(target);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    kill() {
      dead = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    revive() {
      dead = false;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
