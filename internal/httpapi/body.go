package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Request bodies.
//
// Left to itself fasthttp reads a request's whole body into memory before
// any handler runs (up to fiber's BodyLimit), so a limit a handler checks is
// checked too late: 100 anonymous 24 MB bodies cost the hub 3.3 GB before a
// single one was refused. The hub therefore runs fiber with
// StreamRequestBody (fasthttp then reads the headers and at most 8 KB of the
// body) and DisablePreParseMultipartForm (otherwise fasthttp reads a whole
// multipart body to memory and temporary files before the handler, with no
// limit at all when streaming), and Bodies is its first middleware:
//
//   - a body with a Content-Encoding is refused (fiber's Ctx.Body inflates
//     gzip, deflate and brotli with no limit: a 1 MB body became 1 GB);
//   - a route listed in BodyLimits.Streams reads its body as a stream
//     (BodyReader, FormFile), bounded by its own limit and by a number of
//     slots shared by all streamed bodies;
//   - every other body is read into memory up to BodyLimits.JSON, so
//     Ctx.Body and DecodeJSON stay bounded whoever calls them.
//
// A body that is too large is refused by its Content-Length before a byte of
// it is read, or (chunked) as soon as the count passes the limit. A refused
// or partly read body is never left for the connection's next request:
// fasthttp would parse its remaining bytes as one, so such a response closes
// the connection.

// BodyLimits configures Bodies.
type BodyLimits struct {
	// JSON bounds every body that is not streamed (default MaxJSONBody).
	JSON int64
	// Streams maps the paths of the routes whose handlers read their body
	// as a stream (uploads, imports) to the limit of that body. Paths match
	// as fiber routes them: without case and without a trailing slash.
	Streams map[string]int64
	// Slots is how many streamed bodies are received at once (default 8).
	Slots int
	// SlotWait is how long a streamed body waits for a slot before it is
	// answered 503 (default 3s).
	SlotWait time.Duration
}

// ErrNoSlot is the answer to a streamed body that found no free slot.
var ErrNoSlot = &Error{Status: fiber.StatusServiceUnavailable, Code: "busy", Message: "too many uploads at once: retry in a few seconds"}

// TooLarge is the 413 answer to a body larger than limit bytes.
func TooLarge(limit int64) *Error {
	return &Error{Status: fiber.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("request body is too large (limit %d bytes)", limit)}
}

const bodyKey = "httpapi.body"

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Bodies returns the middleware that bounds request bodies (see above). It
// must run before any handler reads a body.
func Bodies(l BodyLimits) fiber.Handler {
	if l.JSON <= 0 {
		l.JSON = MaxJSONBody
	}
	if l.Slots <= 0 {
		l.Slots = 8
	}
	if l.SlotWait <= 0 {
		l.SlotWait = 3 * time.Second
	}
	streams := make(map[string]int64, len(l.Streams))
	for p, n := range l.Streams {
		streams[routeKey(p)] = n
	}
	slots := make(chan struct{}, l.Slots)
	return func(c *fiber.Ctx) error {
		cl := c.Request().Header.ContentLength() // -1 chunked, -2 none
		if cl == 0 || cl == -2 {
			return c.Next()
		}
		if ce := strings.TrimSpace(c.Get(fiber.HeaderContentEncoding)); ce != "" && !strings.EqualFold(ce, "identity") {
			return refuse(c, &Error{Status: fiber.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: fmt.Sprintf("Content-Encoding %q is not accepted: send the body uncompressed", ce)})
		}
		stream := c.Context().RequestBodyStream()
		limit, streamed := streams[routeKey(c.Path())]
		if !streamed {
			if int64(cl) > l.JSON {
				return refuse(c, TooLarge(l.JSON))
			}
			if stream == nil { // not streaming: fasthttp applied BodyLimit
				return c.Next()
			}
			buf := bufPool.Get().(*bytes.Buffer)
			buf.Reset()
			defer bufPool.Put(buf)
			n, err := buf.ReadFrom(io.LimitReader(stream, l.JSON+1))
			switch {
			case n > l.JSON:
				return refuse(c, TooLarge(l.JSON))
			case err != nil:
				return refuse(c, BadRequest("", "reading the request body: "+err.Error()))
			}
			c.Request().SetBody(buf.Bytes()) // copies; the stream is done
			return c.Next()
		}
		if int64(cl) > limit {
			return refuse(c, TooLarge(limit))
		}
		select {
		case slots <- struct{}{}:
		default:
			t := time.NewTimer(l.SlotWait)
			select {
			case slots <- struct{}{}:
				t.Stop()
			case <-t.C:
				c.Set(fiber.HeaderRetryAfter, "3")
				return refuse(c, ErrNoSlot)
			}
		}
		defer func() { <-slots }()
		if stream == nil {
			stream = bytes.NewReader(c.Request().Body())
		}
		b := &limitedBody{r: stream, left: limit, limit: limit}
		c.Locals(bodyKey, b)
		err := c.Next()
		if !b.eof {
			c.Response().Header.SetConnectionClose()
		}
		return err
	}
}

// refuse answers err without reading the body, and closes the connection
// after the answer (the unread body must not become the next request).
func refuse(c *fiber.Ctx, err *Error) error {
	c.Response().Header.SetConnectionClose()
	return err
}

func routeKey(p string) string {
	p = strings.ToLower(p)
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	return p
}

// limitedBody reads a streamed body and fails with a 413 once it passes its
// limit.
type limitedBody struct {
	r           io.Reader
	left, limit int64
	eof         bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a larger one.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			return 0, TooLarge(b.limit)
		}
		if err == io.EOF {
			b.eof = true
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// BodyReader returns the request body as a stream: bounded by its route's
// limit when Bodies streams it, otherwise the body fasthttp or Bodies read.
// Reading past the limit fails with a 413 *Error.
func BodyReader(c *fiber.Ctx) io.Reader {
	if b, ok := c.Locals(bodyKey).(*limitedBody); ok {
		return b
	}
	return bytes.NewReader(c.Request().Body())
}

// FormFile returns the multipart/form-data part named field, read as a
// stream from BodyReader (nothing is spooled to memory or disk): parts
// before it are skipped, parts after it are never read. It answers 415 when
// the body is not multipart/form-data and 400 naming field when the part is
// missing.
func FormFile(c *fiber.Ctx, field string) (*multipart.Part, error) {
	mt, params, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if mt != fiber.MIMEMultipartForm || params["boundary"] == "" {
		return nil, &Error{Status: fiber.StatusUnsupportedMediaType, Code: "unsupported_media_type", Field: field, Message: fmt.Sprintf("body must be multipart/form-data with the file in the field %q", field)}
	}
	mr := multipart.NewReader(BodyReader(c), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			var he *Error
			if errors.As(err, &he) {
				return nil, he
			}
			return nil, BadRequest(field, fmt.Sprintf("multipart field %q is required", field))
		}
		if p.FormName() == field {
			return p, nil
		}
		if _, err := io.Copy(io.Discard, p); err != nil {
			var he *Error
			if errors.As(err, &he) {
				return nil, he
			}
			return nil, BadRequest(field, "malformed multipart body: "+err.Error())
		}
	}
}
