package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Limits of the test server: JSON bodies up to 1 KB, the upload routes up
// to 4 KB (larger than JSON, so a body between the two tells which limit a
// route got).
const (
	testJSONLimit   = 1024
	testUploadLimit = 4096
)

// bodyServer is a real hub-like server (streamed request bodies, no
// multipart pre-parsing, Bodies first) on 127.0.0.1.
type bodyServer struct {
	addr    string
	reached atomic.Int64 // requests that reached a handler
	entered chan struct{}
	release chan struct{}
}

func startBodyServer(t *testing.T, limits BodyLimits) *bodyServer {
	t.Helper()
	s := &bodyServer{entered: make(chan struct{}), release: make(chan struct{})}
	app := fiber.New(fiber.Config{
		DisableStartupMessage:        true,
		Immutable:                    true,
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		BodyLimit:                    MaxJSONBody,
		ErrorHandler:                 ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	app.Use(Bodies(limits))
	app.Use(func(c *fiber.Ctx) error {
		s.reached.Add(1)
		return c.Next()
	})
	// /json answers the length of the body it got.
	app.Post("/json", func(c *fiber.Ctx) error {
		return c.SendString(strconv.Itoa(len(c.Body())))
	})
	app.Post("/decode", func(c *fiber.Ctx) error {
		var v map[string]string
		if err := DecodeJSON(c, &v); err != nil {
			return err
		}
		return c.SendString(strconv.Itoa(len(v["s"])))
	})
	// /upload reads its streamed body and answers its length; with
	// ?hold=1 it first waits for the test to release it.
	app.Post("/upload", func(c *fiber.Ctx) error {
		if c.Query("hold") == "1" {
			s.entered <- struct{}{}
			<-s.release
		}
		n, err := io.Copy(io.Discard, BodyReader(c))
		if err != nil {
			return err
		}
		return c.SendString(strconv.FormatInt(n, 10))
	})
	// /form answers the name and length of the multipart part "file".
	app.Post("/form", func(c *fiber.Ctx) error {
		p, err := FormFile(c, "file")
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, p)
		if err != nil {
			var he *Error
			if errors.As(err, &he) {
				return he
			}
			return err
		}
		return c.SendString(fmt.Sprintf("%s %d", p.FileName(), n))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	s.addr = ln.Addr().String()
	return s
}

func defaultLimits() BodyLimits {
	return BodyLimits{
		JSON:    testJSONLimit,
		Streams: map[string]int64{"/upload": testUploadLimit, "/form": testUploadLimit},
	}
}

// rawResult is one response read off a raw connection.
type rawResult struct {
	resp *http.Response
	body []byte
	// closed: the server closed the connection after the response.
	closed bool
}

// rawRequest writes head and body bytes exactly as given on a new
// connection and reads one response. Every refusal test sends only bytes
// the server reads before it answers, so its close is a clean FIN (an
// unread byte would turn it into a reset that can destroy the answer).
func rawRequest(t *testing.T, addr, head string, body []byte) rawResult {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Only a guard against hanging for the whole test timeout.
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(append([]byte(head), body...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	r := rawResult{resp: resp, body: b}
	if resp.Close { // a kept connection would block this read
		var one [1]byte
		_, err = br.Read(one[:])
		r.closed = errors.Is(err, io.EOF)
	}
	return r
}

func head(path, contentType string, contentLength int, extra ...string) string {
	h := "POST " + path + " HTTP/1.1\r\nHost: hub.test\r\nContent-Type: " + contentType + "\r\n"
	if contentLength >= 0 {
		h += "Content-Length: " + strconv.Itoa(contentLength) + "\r\n"
	} else {
		h += "Transfer-Encoding: chunked\r\n"
	}
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "\r\n"
}

// chunked encodes body in chunks of at most size bytes, with the final
// zero chunk when terminate.
func chunked(body []byte, size int, terminate bool) []byte {
	var b bytes.Buffer
	for len(body) > 0 {
		n := min(size, len(body))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	if terminate {
		b.WriteString("0\r\n\r\n")
	}
	return b.Bytes()
}

func wantRaw(t *testing.T, r rawResult, status int, code string) {
	t.Helper()
	wantError(t, r.resp, r.body, status, code, "")
	if !r.closed {
		t.Errorf("the connection stays open after a refused body (Connection: close %v): its unread bytes would be parsed as the next request", r.resp.Close)
	}
}

func wantOK(t *testing.T, r rawResult, body string) {
	t.Helper()
	if r.resp.StatusCode != http.StatusOK || string(r.body) != body {
		t.Fatalf("status %d body %q, want 200 %q", r.resp.StatusCode, r.body, body)
	}
}

func TestBodiesJSONLimit(t *testing.T) {
	s := startBodyServer(t, defaultLimits())
	at := bytes.Repeat([]byte("a"), testJSONLimit)
	over := bytes.Repeat([]byte("a"), testJSONLimit+1)

	t.Run("at the limit", func(t *testing.T) {
		wantOK(t, rawRequest(t, s.addr, head("/json", "text/plain", len(at)), at), strconv.Itoa(testJSONLimit))
	})
	t.Run("chunked at the limit", func(t *testing.T) {
		wantOK(t, rawRequest(t, s.addr, head("/json", "text/plain", -1), chunked(at, 100, true)), strconv.Itoa(testJSONLimit))
	})
	t.Run("chunked JSON is decoded", func(t *testing.T) {
		body := []byte(`{"s":"` + strings.Repeat("x", 500) + `"}`)
		wantOK(t, rawRequest(t, s.addr, head("/decode", "application/json", -1), chunked(body, 64, true)), "500")
	})

	before := s.reached.Load()
	t.Run("over by Content-Length", func(t *testing.T) {
		wantRaw(t, rawRequest(t, s.addr, head("/json", "text/plain", len(over)), over), 413, "too_large")
	})
	t.Run("announced far over, refused before it is sent", func(t *testing.T) {
		// fasthttp reads the first 8 KB of a body before any handler
		// runs; the rest of the announced 512 KB is never sent, so a
		// server that waited for it would never answer.
		wantRaw(t, rawRequest(t, s.addr, head("/json", "text/plain", 512<<10), make([]byte, 8<<10)), 413, "too_large")
	})
	t.Run("chunked over", func(t *testing.T) {
		// No final chunk: the server must stop at the limit, not wait
		// for the end of the body.
		wantRaw(t, rawRequest(t, s.addr, head("/json", "text/plain", -1), chunked(over, 100, false)), 413, "too_large")
	})
	t.Run("chunked over, decoded", func(t *testing.T) {
		wantRaw(t, rawRequest(t, s.addr, head("/decode", "application/json", -1), chunked(over, 300, false)), 413, "too_large")
	})
	t.Run("compressed", func(t *testing.T) {
		body := []byte(`{"s":"x"}`)
		r := rawRequest(t, s.addr, head("/decode", "application/json", len(body), "Content-Encoding: gzip"), body)
		wantRaw(t, r, 415, "unsupported_media_type")
		if !strings.Contains(string(r.body), "gzip") {
			t.Errorf("the answer does not name the encoding: %s", r.body)
		}
	})
	t.Run("compressed upload", func(t *testing.T) {
		r := rawRequest(t, s.addr, head("/upload", "application/octet-stream", 3, "Content-Encoding: br"), []byte("abc"))
		wantRaw(t, r, 415, "unsupported_media_type")
	})
	if n := s.reached.Load() - before; n != 0 {
		t.Errorf("%d refused bodies reached a handler", n)
	}
	t.Run("identity encoding", func(t *testing.T) {
		body := []byte(`{"s":"xyz"}`)
		wantOK(t, rawRequest(t, s.addr, head("/decode", "application/json", len(body), "Content-Encoding: identity"), body), "3")
	})
}

func TestBodiesUploadLimit(t *testing.T) {
	s := startBodyServer(t, defaultLimits())
	// Between the JSON and the upload limit: only a streamed route takes it.
	mid := bytes.Repeat([]byte("u"), 2000)
	at := bytes.Repeat([]byte("u"), testUploadLimit)
	over := bytes.Repeat([]byte("u"), testUploadLimit+1)

	t.Run("over JSON limit, under upload limit", func(t *testing.T) {
		wantOK(t, rawRequest(t, s.addr, head("/upload", "application/octet-stream", len(mid)), mid), "2000")
	})
	t.Run("route matched without case and trailing slash", func(t *testing.T) {
		wantOK(t, rawRequest(t, s.addr, head("/Upload/", "application/octet-stream", len(mid)), mid), "2000")
	})
	t.Run("chunked at the limit", func(t *testing.T) {
		r := rawRequest(t, s.addr, head("/upload", "application/octet-stream", -1), chunked(at, 1000, true))
		wantOK(t, r, strconv.Itoa(testUploadLimit))
		if r.resp.Close {
			t.Errorf("a body read to its end closes the connection")
		}
	})
	t.Run("over by Content-Length", func(t *testing.T) {
		before := s.reached.Load()
		r := rawRequest(t, s.addr, head("/upload", "application/octet-stream", len(over)), over)
		wantRaw(t, r, 413, "too_large")
		if !strings.Contains(string(r.body), strconv.Itoa(testUploadLimit)) {
			t.Errorf("the answer does not give the upload limit: %s", r.body)
		}
		if s.reached.Load() != before {
			t.Errorf("the handler ran for a body refused by its Content-Length")
		}
	})
	t.Run("chunked over", func(t *testing.T) {
		// 4096 bytes, then one more in its own chunk; no final chunk.
		body := append(chunked(at, 1000, false), chunked([]byte("!"), 1, false)...)
		r := rawRequest(t, s.addr, head("/upload", "application/octet-stream", -1), body)
		wantRaw(t, r, 413, "too_large")
		if !strings.Contains(string(r.body), strconv.Itoa(testUploadLimit)) {
			t.Errorf("the answer does not give the upload limit: %s", r.body)
		}
	})
	t.Run("not streamed route keeps the JSON limit", func(t *testing.T) {
		wantRaw(t, rawRequest(t, s.addr, head("/json", "application/octet-stream", len(mid)), mid), 413, "too_large")
	})
}

func multipartBody(t *testing.T, parts map[string][]byte, order ...string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, name := range order {
		pw, err := w.CreateFormFile(name, name+".bin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Write(parts[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), w.FormDataContentType()
}

func TestFormFile(t *testing.T) {
	s := startBodyServer(t, defaultLimits())

	t.Run("skips the parts before it", func(t *testing.T) {
		body, ct := multipartBody(t, map[string][]byte{"note": []byte("hello"), "file": bytes.Repeat([]byte("f"), 1500)}, "note", "file")
		wantOK(t, rawRequest(t, s.addr, head("/form", ct, len(body)), body), "file.bin 1500")
	})
	t.Run("missing part names the field", func(t *testing.T) {
		body, ct := multipartBody(t, map[string][]byte{"note": []byte("hello")}, "note")
		r := rawRequest(t, s.addr, head("/form", ct, len(body)), body)
		wantError(t, r.resp, r.body, 400, "invalid_argument", "file")
	})
	t.Run("not multipart", func(t *testing.T) {
		r := rawRequest(t, s.addr, head("/form", "application/json", 2), []byte("{}"))
		wantError(t, r.resp, r.body, 415, "unsupported_media_type", "file")
	})
	t.Run("multipart without boundary", func(t *testing.T) {
		r := rawRequest(t, s.addr, head("/form", "multipart/form-data", 2), []byte("{}"))
		wantError(t, r.resp, r.body, 415, "unsupported_media_type", "file")
	})
	t.Run("file over the limit, chunked", func(t *testing.T) {
		body, ct := multipartBody(t, map[string][]byte{"file": bytes.Repeat([]byte("f"), testUploadLimit)}, "file")
		// Send exactly limit+1 bytes of the body: the server reads them
		// all and refuses at the next one.
		wantRaw(t, rawRequest(t, s.addr, head("/form", ct, -1), chunked(body[:testUploadLimit+1], 512, false)), 413, "too_large")
	})
	t.Run("part before the file over the limit", func(t *testing.T) {
		body, ct := multipartBody(t, map[string][]byte{"junk": bytes.Repeat([]byte("j"), testUploadLimit), "file": []byte("x")}, "junk", "file")
		wantRaw(t, rawRequest(t, s.addr, head("/form", ct, -1), chunked(body[:testUploadLimit+1], 512, false)), 413, "too_large")
	})
}

// TestBodiesUploadSlots: with every slot held by an upload in progress, the
// next upload is answered 503 busy with Retry-After, JSON requests are not
// held up, and a slot is free again once its upload ends.
func TestBodiesUploadSlots(t *testing.T) {
	limits := defaultLimits()
	limits.Slots = 1
	// The wait for a slot: it is spent in full by the refused request,
	// whatever its length.
	limits.SlotWait = time.Millisecond
	s := startBodyServer(t, limits)
	release := sync.OnceFunc(func() { close(s.release) })
	t.Cleanup(release) // before the server's shutdown, should the test fail early

	held := make(chan rawResult, 1)
	go func() {
		conn, err := net.Dial("tcp", s.addr)
		if err != nil {
			held <- rawResult{}
			return
		}
		defer conn.Close()
		_, _ = conn.Write(append([]byte(head("/upload?hold=1", "application/octet-stream", 3)), "abc"...))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			held <- rawResult{}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		held <- rawResult{resp: resp, body: b}
	}()
	<-s.entered // the held upload has the only slot

	r := rawRequest(t, s.addr, head("/upload", "application/octet-stream", 3), []byte("xyz"))
	wantRaw(t, r, 503, "busy")
	if got := r.resp.Header.Get(fiber.HeaderRetryAfter); got == "" {
		t.Errorf("503 busy without Retry-After")
	} else if n, err := strconv.Atoi(got); err != nil || n <= 0 {
		t.Errorf("Retry-After %q is not a number of seconds", got)
	}
	wantOK(t, rawRequest(t, s.addr, head("/json", "text/plain", 3), []byte("abc")), "3")

	release()
	first := <-held
	if first.resp == nil {
		t.Fatal("the held upload got no answer")
	}
	if first.resp.StatusCode != 200 || string(first.body) != "3" {
		t.Fatalf("the held upload: status %d body %q, want 200 3", first.resp.StatusCode, first.body)
	}
	wantOK(t, rawRequest(t, s.addr, head("/upload", "application/octet-stream", 3), []byte("xyz")), "3")
}
