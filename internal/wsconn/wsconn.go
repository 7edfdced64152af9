// Package wsconn keeps the hub's WebSocket connections alive and lets a
// handler stop its reader.
//
// Two properties of fasthttp's hijacked connections shape it. fasthttp
// clears every deadline when it hands a connection to a WebSocket handler,
// so a peer that vanished without closing (a phone that lost its network)
// would hold its socket and goroutines forever. And Close on a hijacked
// connection does nothing until the handler returns, so a handler that
// waits for its reader after Close waits until the peer hangs up. A Reader
// sets a read deadline that every frame and every pong pushes forward (a
// peer that answers nothing for ReadIdle, more than two pings, is dead),
// and Stop wakes a blocked reader at once.
package wsconn

import (
	"errors"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gofiber/contrib/websocket"
)

const (
	// PingEvery is how often handlers ping their peer.
	PingEvery = 25 * time.Second
	// ReadIdle is how long a connection may stay silent (no frame, no
	// pong) before it is considered dead: more than two pings.
	ReadIdle = 60 * time.Second
)

// ErrStopped is returned by Read after Stop.
var ErrStopped = errors.New("wsconn: reader stopped")

// ErrInvalidUTF8 is returned by Read for a text message that is not valid
// UTF-8; the connection has been closed with 1007.
var ErrInvalidUTF8 = errors.New("wsconn: text message is not valid UTF-8")

// Reader reads one connection with a rolling deadline.
type Reader struct {
	conn    *websocket.Conn
	idle    time.Duration
	stopped atomic.Bool
}

// NewReader sets the first deadline and the pong handler; only the
// connection's reading goroutine may call Read.
func NewReader(conn *websocket.Conn) *Reader { return NewReaderIdle(conn, ReadIdle) }

// NewReaderIdle is NewReader with another silence limit.
func NewReaderIdle(conn *websocket.Conn, idle time.Duration) *Reader {
	r := &Reader{conn: conn, idle: idle}
	r.extend()
	conn.SetPongHandler(func(string) error {
		r.extend()
		return nil
	})
	return r
}

// extend pushes the deadline forward unless Stop ran: Stop sets its flag
// before its deadline, so whichever of the two runs last, the reader wakes.
func (r *Reader) extend() {
	_ = r.conn.SetReadDeadline(time.Now().Add(r.idle))
	if r.stopped.Load() {
		_ = r.conn.SetReadDeadline(time.Now())
	}
}

// Read returns the next data message. A text message that is not valid
// UTF-8 fails the connection: RFC 6455 section 8.1 requires the endpoint to
// close with 1007 (invalid frame payload data), which Read sends before it
// returns ErrInvalidUTF8 (the handler then ends as for any read error).
func (r *Reader) Read() (messageType int, data []byte, err error) {
	messageType, data, err = r.conn.ReadMessage()
	if err != nil {
		return 0, nil, err
	}
	r.extend()
	if r.stopped.Load() {
		return 0, nil, ErrStopped
	}
	if messageType == websocket.TextMessage && !utf8.Valid(data) {
		// WriteControl may run beside the handler's writer goroutine.
		_ = r.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseInvalidFramePayloadData, "text message is not valid UTF-8"),
			time.Now().Add(WriteWait))
		return 0, nil, ErrInvalidUTF8
	}
	return messageType, data, nil
}

// Stop makes a blocked or later Read return.
func (r *Reader) Stop() {
	r.stopped.Store(true)
	_ = r.conn.SetReadDeadline(time.Now())
}

// WriteWait bounds one write to a peer: a peer that stops reading is
// dropped rather than holding its handler.
const WriteWait = 10 * time.Second

// Write sends one message of type messageType (text, ping) within
// WriteWait. Only the connection's writing goroutine may call it.
func Write(conn *websocket.Conn, messageType int, data []byte) error {
	_ = conn.SetWriteDeadline(time.Now().Add(WriteWait))
	return conn.WriteMessage(messageType, data)
}

// Close tells the peer why the connection ends (best effort, within
// WriteWait).
func Close(conn *websocket.Conn, code int, reason string) {
	_ = Write(conn, websocket.CloseMessage, websocket.FormatCloseMessage(code, reason))
}
