'use strict';
// A byte relay between a TCP port on 127.0.0.1 and a unix socket, one connection at a time per accepted socket.
// The node harness runs it inside the test's network namespace (`ip netns exec`): a unix socket is a file, so it
// is reachable from both sides of a namespace boundary, and nothing needs a bridge or leaves the machine.
//   node relay.js tcp-to-unix <port> <socket>   listen on 127.0.0.1:<port> here, connect to <socket>
//   node relay.js unix-to-tcp <socket> <port>   listen on <socket>, connect to 127.0.0.1:<port> here
// Prints "ready" once listening; exits when its stdin closes (the harness, or jest, went away).
const net = require('net');
const fs = require('fs');

const [mode, a, b] = process.argv.slice(2);
const pipe = (client, connect) => {
  const upstream = connect();
  client.pipe(upstream).pipe(client);
  const close = () => { client.destroy(); upstream.destroy(); };
  client.on('error', close);
  upstream.on('error', close);
};
let server;
if (mode === 'tcp-to-unix') {
  server = net.createServer((c) => pipe(c, () => net.connect(b)));
  server.listen(Number(a), '127.0.0.1', () => process.stdout.write('ready\n'));
} else if (mode === 'unix-to-tcp') {
  try { fs.unlinkSync(a); } catch { /* not there */ }
  server = net.createServer((c) => pipe(c, () => net.connect(Number(b), '127.0.0.1')));
  server.listen(a, () => { fs.chmodSync(a, 0o600); process.stdout.write('ready\n'); });
} else {
  process.stderr.write(`relay.js: unknown mode ${mode}\n`);
  process.exit(2);
}
server.on('error', (e) => { process.stderr.write(`relay.js: ${e.message}\n`); process.exit(1); });
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
