// One-time tickets: browsers cannot put `X-API-Key` on a WebSocket upgrade, so a page that holds the key
// trades it for a ticket (POST /terminal/tickets) and passes that as `?ticket=` instead.
// A ticket opens one connection, within a short time; a leaked URL is useless soon after.
import { randomBytes } from 'node:crypto';

export class TicketStore {
  /** ticket → expiry (ms since epoch). */
  private readonly tickets = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh ticket, or undefined when `max` unexpired tickets are already out. */
  issue(): { ticket: string; expiresAt: number } | undefined {
    this.purge();
    if (this.tickets.size >= this.max) return undefined;
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.tickets.set(ticket, expiresAt);
    return { ticket, expiresAt };
  }

  /** True once for a ticket that was issued and has not expired; it is gone afterwards either way. */
  consume(ticket: string): boolean {
    const expiresAt = this.tickets.get(ticket);
    if (expiresAt === undefined) return false;
    this.tickets.delete(ticket);
    return expiresAt > this.now();
  }

  get size(): number {
    this.purge();
    return this.tickets.size;
  }

  private purge(): void {
    const now = this.now();
    for (const [ticket, expiresAt] of this.tickets) if (expiresAt <= now) this.tickets.delete(ticket);
  }
}
