package wsconn_test

import (
	"errors"
	"net"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/internal/wsconn"
)

// serve runs a fiber app and returns its ws:// URL.
func serve(t *testing.T, handler func(*websocket.Conn)) string {
	t.Helper()
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadTimeout: time.Second})
	app.Get("/ws", websocket.New(handler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return "ws://" + ln.Addr().String() + "/ws"
}

// A peer that keeps sending stays connected past the silence limit (each
// frame moves the deadline on); a silent one is dropped after it.
func TestSilentPeerIsDroppedBusyPeerIsKept(t *testing.T) {
	ended := make(chan time.Duration, 2)
	url := serve(t, func(conn *websocket.Conn) {
		start := time.Now()
		rd := wsconn.NewReaderIdle(conn, 500*time.Millisecond)
		for {
			_, b, err := rd.Read()
			if err != nil {
				ended <- time.Since(start)
				return
			}
			if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
				return
			}
		}
	})
	busy, _, err := fws.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	silent, _, err := fws.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// Four times the limit, a frame every 200 ms.
	for i := range 10 {
		if err := busy.WriteMessage(fws.TextMessage, []byte{byte('a' + i)}); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		_ = busy.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, b, err := busy.ReadMessage(); err != nil || string(b) != string(rune('a'+i)) {
			t.Fatalf("echo %d: %q %v", i, b, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// By now the silent peer's handler has ended, and only that one.
	select {
	case <-ended:
	default:
		t.Fatal("the silent peer is still connected")
	}
	select {
	case <-ended:
		t.Fatal("the busy peer was dropped")
	default:
	}
	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := silent.ReadMessage(); err == nil {
		t.Fatal("the silent peer's connection is still open")
	}
}

// Stop wakes a reader blocked on a silent peer, so the handler can return
// (and the server close the connection) without waiting for the peer.
func TestStopWakesBlockedReader(t *testing.T) {
	returned := make(chan error, 1)
	url := serve(t, func(conn *websocket.Conn) {
		// Keep the server's own deadline out of the way: only Stop may end
		// this read.
		rd := wsconn.NewReader(conn)
		_ = conn.SetReadDeadline(time.Time{})
		done := make(chan error, 1)
		go func() {
			_, _, err := rd.Read()
			done <- err
		}()
		time.Sleep(200 * time.Millisecond)
		rd.Stop()
		returned <- <-done
	})
	c, _, err := fws.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case err := <-returned:
		if err == nil {
			t.Fatal("Read returned no error after Stop")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader was still blocked 10 s after Stop")
	}
	// The handler returned, so the server closed the connection.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := c.ReadMessage(); err == nil {
		t.Fatal("connection still open after the handler returned")
	}
}

// A text message that is not valid UTF-8 fails the connection with 1007
// (RFC 6455 section 8.1) and Read reports it; binary messages and valid
// text pass.
func TestInvalidUTF8ClosesWith1007(t *testing.T) {
	readErr := make(chan error, 1)
	url := serve(t, func(conn *websocket.Conn) {
		rd := wsconn.NewReader(conn)
		for {
			mt, b, err := rd.Read()
			if err != nil {
				readErr <- err
				return
			}
			if err := wsconn.Write(conn, mt, b); err != nil {
				return
			}
		}
	})
	c, _, err := fws.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for _, m := range []struct {
		typ  int
		data string
	}{{fws.TextMessage, "你好"}, {fws.BinaryMessage, "\xff\xfe"}} {
		if err := c.WriteMessage(m.typ, []byte(m.data)); err != nil {
			t.Fatal(err)
		}
		if _, b, err := c.ReadMessage(); err != nil || string(b) != m.data {
			t.Fatalf("echo of %q: %q %v", m.data, b, err)
		}
	}
	if err := c.WriteMessage(fws.TextMessage, []byte("ok \xc3\x28 bad")); err != nil {
		t.Fatal(err)
	}
	_, b, err := c.ReadMessage()
	var ce *fws.CloseError
	if !errors.As(err, &ce) || ce.Code != fws.CloseInvalidFramePayloadData {
		t.Fatalf("after invalid UTF-8: %q %v, want close 1007", b, err)
	}
	if err := <-readErr; !errors.Is(err, wsconn.ErrInvalidUTF8) {
		t.Fatalf("Read: %v, want ErrInvalidUTF8", err)
	}
}
