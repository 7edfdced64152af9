// Live stream of routing state (/api/v1/stream): a snapshot on connect,
// then every change. Reconnects with back-off; each reconnect gets a fresh
// snapshot, so nothing is missed.
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
    ws.onclose = () => {
      this.onStatus(false);
      if (this.closed) return;
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
  }

  close() { this.closed = true; if (this.ws) this.ws.close(); }
}
