/**
 * A live feed (API.md, "Live feeds"): `/v1/agencies/{code}/feed` or `/v1/feed`, that
 * misses nothing. It remembers the `seq` of the last event and, after any drop (network,
 * server restart, 4008 for a slow reader), reconnects with `since=<last seq>`: the server
 * replays what was missed, then goes on live. Reconnects back off (0.5 s doubling to 10 s,
 * with jitter); while the browser says it is offline it waits for the network to return.
 *
 *   const feed = new FeedClient(`/v1/agencies/${code}/feed`, session.token);
 *   feed.addEventListener('event', (e) => apply(e.detail));       // one feed event
 *   feed.addEventListener('open', (e) => e.detail.resumed || reloadSnapshot());
 *   feed.addEventListener('state', () => showState(feed.state));
 *   feed.start();
 *
 * States: 'connecting' (first time), 'connected', 'reconnecting', 'failed' (4403/4404: this
 * token may never read that feed). A 4401 (token refused or revoked) goes to the log-in page.
 *
 * Without a `seq` yet, a connection starts live: its 'open' event says `resumed: false`,
 * and the page (re)reads its snapshot (the queue) then, so the window between reading
 * and subscribing loses nothing either. A page applies events by `updated_at`, so an
 * event older than its snapshot changes nothing.
 */
import { goToLogin } from './auth.js';

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10000];
const CLOSE_UNAUTHORIZED = 4401;
const FATAL_CLOSES = new Set([4403, 4404]);

export class FeedClient extends EventTarget {
  constructor(path, token) {
    super();
    this.path = path;
    this.token = token;
    this.lastSeq = null;
    this.state = 'connecting';
    this.socket = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    window.addEventListener('offline', () => this.#drop());
    window.addEventListener('online', () => this.#reconnectNow());
  }

  start() {
    this.stopped = false;
    this.#connect();
  }

  stop() {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.socket?.close(1000, 'page closed');
    this.socket = null;
  }

  /** The URL of the next connection (ws: or wss: like the page, with since=). */
  url() {
    const url = new URL(this.path, window.location.href);
    url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', this.token);
    if (this.lastSeq !== null) url.searchParams.set('since', String(this.lastSeq));
    return url.href;
  }

  #connect() {
    window.clearTimeout(this.timer);
    if (this.stopped || this.socket) return;
    if (!navigator.onLine) {
      this.#setState('reconnecting');
      return; // the 'online' event reconnects
    }
    const resumed = this.lastSeq !== null;
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempt = 0;
      this.#setState('connected');
      this.dispatchEvent(new CustomEvent('open', { detail: { resumed } }));
    });
    socket.addEventListener('message', (message) => this.#receive(message.data));
    socket.addEventListener('close', (close) => {
      if (this.socket !== socket) return; // an old socket we dropped ourselves
      this.socket = null;
      this.#closed(close.code);
    });
  }

  #receive(text) {
    let event;
    try {
      event = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof event.seq === 'number') {
      if (this.lastSeq !== null && event.seq <= this.lastSeq) return; // already seen
      this.lastSeq = event.seq;
    }
    this.dispatchEvent(new CustomEvent('event', { detail: event }));
  }

  #closed(code) {
    if (this.stopped) return;
    if (code === CLOSE_UNAUTHORIZED) {
      this.stop();
      goToLogin('expired');
      return;
    }
    if (FATAL_CLOSES.has(code)) {
      this.stopped = true;
      this.#setState('failed');
      return;
    }
    this.#setState('reconnecting');
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.timer = window.setTimeout(() => this.#connect(), base * (0.8 + Math.random() * 0.4));
  }

  /** The network went away: do not wait for the socket to notice. */
  #drop() {
    const socket = this.socket;
    if (!socket || this.stopped) return;
    this.socket = null;
    socket.close(1000, 'offline');
    this.#setState('reconnecting');
  }

  #reconnectNow() {
    if (this.stopped || this.socket) return;
    this.attempt = 0;
    this.#connect();
  }

  #setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state } }));
  }
}
