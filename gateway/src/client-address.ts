import { BlockList, isIP } from 'node:net';

/** Whether an entry of TRUSTED_PROXIES is an address or a CIDR block (`10.0.0.0/8`, `fd00::/8`). */
export function isAddressOrCidr(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  const version = isIP(address ?? '');
  if (version === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const prefix = Number(bits);
  return /^\d+$/.test(bits) && prefix <= (version === 4 ? 32 : 128);
}

/**
 * The proxies whose `x-forwarded-for` is believed: Node's own BlockList (exact addresses and CIDR
 * blocks, IPv4 and IPv6, IPv4-mapped IPv6 matched as IPv4).
 */
export function trustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

/** `::ffff:10.0.0.1` (IPv4 on a dual-stack socket) and `10.0.0.1` are one client. */
const normalise = (address: string) =>
  /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;

const isTrusted = (list: BlockList, address: string) => {
  const version = isIP(address);
  return version !== 0 && list.check(address, version === 6 ? 'ipv6' : 'ipv4');
};

/**
 * The address a request comes from, for rate limits and logs. The socket peer, unless it is a
 * trusted proxy: then `x-forwarded-for` is read from the right (each proxy appends the address it
 * got the request from), skipping the trusted proxies, and the first other address is the client.
 * Anything left of it was written by the client itself and is ignored, so a client cannot pick its
 * own rate-limit bucket. Without a peer (an in-process call) the header is not believed either.
 */
export function clientAddress(
  forwardedFor: string | undefined,
  peer: string | undefined,
  trusted: BlockList,
): string {
  if (!peer) return 'unknown';
  let client = normalise(peer);
  if (!isTrusted(trusted, client) || !forwardedFor) return client;
  const hops = forwardedFor.split(',').map((hop) => normalise(hop.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    // A hop that is not an address was not written by one of our proxies: stop at the last good one.
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!isTrusted(trusted, hop)) return hop;
  }
  return client; // every hop is a trusted proxy: the furthest one is as close to the client as we know
}
