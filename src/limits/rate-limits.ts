/**
 * Abuse limits, with rate-limiter-flexible. Per-socket event bursts are local (a socket
 * lives on one instance); new connections, failed joins (room-code guessing) and creates
 * are counted per client address in Redis in cluster mode, since a load balancer spreads
 * one client over every instance (counted per instance, N instances gave N× the budget).
 * A Redis outage falls back to in-memory counting, never to "no limit".
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import { AppError } from '../contract/errors.js';
import type { RedisClient } from '../redis/redis-keys.js';

/** Reconnects one seat may make per minute without paying the address's connection budget. */
export const SEAT_RECONNECTS_PER_MIN = 20;

export class RateLimits {
  private readonly socketEvents: RateLimiterMemory;
  private readonly connections: RateLimiterAbstract;
  private readonly joinFailures: RateLimiterAbstract;
  private readonly tokenFailures: RateLimiterAbstract;
  private readonly seatReconnects: RateLimiterAbstract;
  private readonly creates: RateLimiterAbstract;
  private readonly roomControls: RateLimiterMemory;
  private readonly meIdentity: RateLimiterAbstract;
  private readonly meAddress: RateLimiterAbstract;

  constructor(
    private readonly limits: Config['rateLimits'],
    redis: RedisClient | null,
    /** The deployment's Redis key prefix (AppDeps.redisPrefix), so deployments sharing a Redis keep separate budgets. */
    redisPrefix = 'fr:',
  ) {
    this.socketEvents = new RateLimiterMemory({ points: limits.socketEventsPerSec, duration: 1 });
    // Per room, on this instance: a room's host is one socket, on one instance.
    this.roomControls = new RateLimiterMemory({ keyPrefix: 'ctl', points: limits.roomControlsPerMin, duration: 60 });
    const shared = (keyPrefix: string, points: number) =>
      redis
        ? new RateLimiterRedis({
            storeClient: redis,
            keyPrefix: `${redisPrefix}rl:${keyPrefix}`,
            points,
            duration: 60,
            insuranceLimiter: new RateLimiterMemory({ points, duration: 60 }),
          })
        : new RateLimiterMemory({ keyPrefix, points, duration: 60 });
    this.connections = shared('conn', limits.connectionsPerMin);
    this.joinFailures = shared('join', limits.joinFailuresPerMin);
    // Wrong tokens for a room that exists, per address AND room: they neither lock the
    // address out of other rooms nor make the room's right tokens fail.
    this.tokenFailures = shared('tok', limits.joinFailuresPerMin);
    // Connections exempt from the connection budget because they carry a live seat, per seat.
    this.seatReconnects = shared('seat', SEAT_RECONNECTS_PER_MIN);
    this.creates = shared('create', limits.createsPerMin);
    // /me/* reads in cost points (limits/read-cost.ts), per identity and per address, cluster-wide.
    this.meIdentity = shared('me', limits.mePointsPerMin);
    this.meAddress = shared('mea', limits.meAddressPointsPerMin);
  }

  /** A /me/* request from `address` (before the caller is known): `cost` points of the address's minute. */
  async meAddressRequest(address: string, cost: number): Promise<void> {
    await this.take(this.meAddress, address, 'too many /me requests from your network; try again in a minute', Math.min(cost, this.limits.meAddressPointsPerMin));
  }

  /** A /me/* request of `identity`: `cost` points of its minute, shared by every address it uses. */
  async meIdentityRequest(identity: string, cost: number): Promise<void> {
    await this.take(this.meIdentity, identity, 'too many /me requests for this identity; try again in a minute', Math.min(cost, this.limits.mePointsPerMin));
  }

  /** One client event from a socket that holds no seat. */
  async event(socketId: string): Promise<void> {
    await this.take(this.socketEvents, socketId, 'too many events; slow down');
  }

  /**
   * One change by a seat, over its socket or over REST: one budget per seat, so REST is
   * no way around the socket's limit (counted per instance, like socket events).
   */
  async seatEvent(participantId: string, cost = 1): Promise<void> {
    // A costly read takes at most the seat's whole second, never more than it could ever have.
    await this.take(this.socketEvents, `seat:${participantId}`, 'too many events; slow down', Math.min(cost, this.limits.socketEventsPerSec));
  }

  /** Returns false when the address opened too many connections. */
  async connection(ip: string): Promise<boolean> {
    // take() refuses only over the budget; a store failure (Redis and its insurance) lets it in.
    return this.take(this.connections, ip, 'too many connections').then(
      () => true,
      () => false,
    );
  }

  async create(ip: string): Promise<void> {
    await this.take(this.creates, ip, 'too many sessions created; try again in a minute');
  }

  /**
   * Host controls (start, pause, resume, settings) re-broadcast the whole snapshot to the
   * room; a host toggling pause/resume at the per-socket limit made every member's output
   * grow without bound. Checked before the change and charged after a successful one, so
   * other members' refused attempts (`not_host`) do not use up the host's budget.
   */
  async checkRoomControl(code: string): Promise<void> {
    const res = await this.roomControls.get(code).catch(() => null);
    if (res && res.consumedPoints >= this.limits.roomControlsPerMin) {
      throw new AppError('rate_limited', 'too many pauses, resumes or settings changes in this session; wait a minute');
    }
  }

  async roomControlDone(code: string): Promise<void> {
    await this.roomControls.consume(code).catch(() => undefined);
  }

  /** Refuses a join/resume attempt from an address that has failed too often. */
  async checkJoin(ip: string): Promise<void> {
    const res = await this.joinFailures.get(ip).catch(() => null);
    if (res && res.consumedPoints >= this.limits.joinFailuresPerMin) {
      throw new AppError('rate_limited', 'too many failed join attempts; try again in a minute');
    }
  }

  /** Counts a join/resume that named no live room. */
  async joinFailed(ip: string): Promise<void> {
    await this.joinFailures.consume(ip).catch(() => undefined);
  }

  /**
   * Whether a resume that FAILED (no such room, or a wrong token) is answered
   * `rate_limited` instead of what was wrong: when the address is over its failed-join
   * budget (so an over-budget guesser still cannot tell a live room from a dead one), or
   * over the wrong-token budget for this room. A resume with the right token never asks.
   */
  async resumeRefused(ip: string, code: string): Promise<boolean> {
    const [perAddress, perRoom] = await Promise.all([this.joinFailures.get(ip).catch(() => null), this.tokenFailures.get(`${ip}|${code}`).catch(() => null)]);
    const max = this.limits.joinFailuresPerMin;
    return (perAddress?.consumedPoints ?? 0) >= max || (perRoom?.consumedPoints ?? 0) >= max;
  }

  /** Counts a resume with a wrong token (or unknown participant) for a room that exists. */
  async tokenFailed(ip: string, code: string): Promise<void> {
    await this.tokenFailures.consume(`${ip}|${code}`).catch(() => undefined);
  }

  /**
   * A handshake that carries a verified live seat skips the connection budget, so a whole
   * instance's clients behind one address can come back at once; one seat may do so
   * SEAT_RECONNECTS_PER_MIN times a minute, so a seat is not a way around the budget.
   */
  async seatReconnect(code: string, participantId: string): Promise<boolean> {
    return this.take(this.seatReconnects, `${code}|${participantId}`, 'too many reconnects').then(
      () => true,
      () => false,
    );
  }

  private async take(limiter: RateLimiterAbstract, key: string, message: string, points = 1): Promise<void> {
    try {
      await limiter.consume(key, points);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw new AppError('rate_limited', message);
      // The limiter's store failed and its insurance too: let the request through.
    }
  }
}
