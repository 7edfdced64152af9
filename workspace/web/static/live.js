// Live stream of routing state (/api/v1/stream): a snapshot on connect,
// then every change. Reconnects with back-off; each reconnect gets a fresh
// snapshot, so nothing is missed. A socket closed because the session ended
// or the user's rights changed is not reconnected (socketEnded).
import { socketEnded } from './api.js';

export class Live {
  constructor(onMessage, onStatus) {
    this.onMessage = onMessage;
    this.onStatus = onStatus || (() => {});
    this.delay = 500;
    this.closed = false;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/v1/stream`);
    this.ws = ws;
    ws.onopen = () => { this.delay = 500; this.onStatus(true); };
    ws.onmessage = (ev) => { try { this.onMessage(JSON.parse(ev.data)); } catch (e) { console.error(e); } };
    ws.onclose = (ev) => {
      this.onStatus(false);
      if (this.closed || socketEnded(ev)) return;
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
  }

  close() { this.closed = true; if (this.ws) this.ws.close(); }
}
