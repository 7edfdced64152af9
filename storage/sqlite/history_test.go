package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/history/historytest"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/storage/sqlite"
)

func newHistory(t testing.TB, db *sqlitedb.DB) *sqlite.History {
	t.Helper()
	h, err := sqlite.NewHistory(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// histRestartable opens a new backend on the same file for each restart.
type histRestartable struct {
	*sqlite.History
	t  testing.TB
	db *sqlitedb.DB
}

func (r histRestartable) Restarted() history.Backend { return newHistory(r.t, r.db) }

func TestHistoryContract(t *testing.T) {
	historytest.Run(t, func(t *testing.T) history.Backend {
		db := openTestDB(t)
		return histRestartable{newHistory(t, db), t, db}
	})
}

func histRows(t testing.TB, db *sqlitedb.DB, table string) int {
	t.Helper()
	var n int
	// Test-only: every tenant's rows, through the primary key.
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM "+table+" WHERE tenant >= ''").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

type histFailAfter struct {
	r   io.Reader
	err error
}

func (f *histFailAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, f.err
	}
	return n, err
}

// TestHistoryAttachmentsLeaveNothing: a failed upload (read error,
// oversized, cancelled) leaves no chunk, no metadata and no upload record;
// an upload interrupted by a stop is removed at the next start.
func TestHistoryAttachmentsLeaveNothing(t *testing.T) {
	db := openTestDB(t)
	s := history.New(newHistory(t, db))
	ctx := store.WithTenant(context.Background(), "t1")
	big := bytes.Repeat([]byte("0123456789abcdef"), 50000) // 800 KB: 4 chunks
	if _, err := s.PutAttachment(ctx, "big.bin", "application/octet-stream", bytes.NewReader(big), 500<<10); !errors.Is(err, history.ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	if _, err := s.PutAttachment(ctx, "cut.bin", "application/octet-stream", &histFailAfter{bytes.NewReader(big), io.ErrUnexpectedEOF}, 1<<20); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(big[:600<<10]) // two chunks stored, then the request goes away
		cancel()
		pw.CloseWithError(context.Canceled)
	}()
	if _, err := s.PutAttachment(cctx, "gone.bin", "application/octet-stream", pr, 1<<20); err == nil {
		t.Fatal("cancelled upload stored")
	}
	for _, tb := range []string{"attachments", "attachment_chunks", "attachment_uploads"} {
		if n := histRows(t, db, tb); n != 0 {
			t.Errorf("%s: %d rows left by failed uploads", tb, n)
		}
	}
	a, err := s.PutAttachment(ctx, "ok.bin", "application/octet-stream", bytes.NewReader(big), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n := histRows(t, db, "attachment_chunks"); n != 4 {
		t.Fatalf("%d chunks for 800 KB", n)
	}
	// An upload cut by a stop of the hub: its record and chunks remain
	// until the next start.
	err = db.Write(ctx, func(tx *sqlitedb.Tx) error {
		if _, err := tx.Exec("INSERT INTO attachment_uploads(tenant, attachment_id, started_at) VALUES('t1', 'x1', 1)"); err != nil {
			return err
		}
		_, err := tx.Exec("INSERT INTO attachment_chunks(tenant, attachment_id, n, data) VALUES('t1', 'x1', 0, x'00')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s = history.New(newHistory(t, db))
	if n, u := histRows(t, db, "attachment_chunks"), histRows(t, db, "attachment_uploads"); n != 4 || u != 0 {
		t.Fatalf("after restart: %d chunks, %d uploads", n, u)
	}
	_, rd, err := s.OpenAttachment(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if b, err := io.ReadAll(rd); err != nil || !bytes.Equal(b, big) {
		t.Fatalf("read back: %d bytes, %v", len(b), err)
	}
}

// TestHistoryCountersInTheMessageTransaction: the counters move with the
// message, in the same transaction; an append undone (a resend) moves
// nothing.
func TestHistoryCountersInTheMessageTransaction(t *testing.T) {
	db := openTestDB(t)
	s := history.New(newHistory(t, db))
	ctx := store.WithTenant(context.Background(), "t1")
	c, _, _ := s.FindOrCreateContact(ctx, history.Identity{Kind: history.IdentityPhone, Value: "1"}, "")
	conv, err := s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: history.ChannelSMS})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, _, err := s.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionIn, Body: "x", ClientMsgID: "same", Sender: history.Sender{Type: history.SenderCustomer}}); err != nil {
			t.Fatal(err)
		}
	}
	var n, seq int64
	if err := db.QueryRow(ctx, "SELECT message_count, last_seq FROM conversations WHERE tenant = ? AND id = ?", "t1", string(conv.ID)).Scan(&n, &seq); err != nil {
		t.Fatal(err)
	}
	if n != 1 || seq != 1 {
		t.Fatalf("after one message and two resends: message_count %d, last_seq %d", n, seq)
	}
}

// benchHistory makes n conversations in a fresh store.
func benchHistory(b *testing.B, n int) (context.Context, *sqlitedb.DB, *history.Store, []*history.Conversation) {
	db, err := sqlitedb.Open(context.Background(), sqlitedb.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	s := history.New(newHistory(b, db))
	ctx := store.WithTenant(context.Background(), "bench")
	convs := make([]*history.Conversation, n)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				c, _, err := s.FindOrCreateContact(ctx, history.Identity{Kind: history.IdentityWebVisitor, Value: fmt.Sprint("v", i)}, "")
				if err != nil {
					b.Error(err)
					return
				}
				if convs[i], err = s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: history.ChannelWebChat}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return ctx, db, s, convs
}

// BenchmarkHistoryAppend: messages from 2,000 concurrent conversations
// (one writer each, as many customers typing at once), each acknowledged
// after its commit (synchronous=FULL). Reports messages/s.
func BenchmarkHistoryAppend(b *testing.B) {
	const conversations = 2000
	ctx, db, s, convs := benchHistory(b, conversations)
	commits := db.Stats().Commits
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conversations {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, _, err := s.AppendMessageTo(ctx, convs[w], history.NewMessage{Direction: history.DirectionIn, Body: "您好，我家宽带没信号了",
					ClientMsgID: fmt.Sprint("c", i), Sender: history.Sender{Type: history.SenderCustomer}}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/float64(max(db.Stats().Commits-commits, 1)), "msgs/commit")
}

// BenchmarkHistoryContactLast20: a contact's last 20 conversations, among
// 200,000 conversations of 2,000 contacts (100 each) in the tenant.
func BenchmarkHistoryContactLast20(b *testing.B) {
	db, err := sqlitedb.Open(context.Background(), sqlitedb.Options{Dir: b.TempDir(), Sync: "normal"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	s := history.New(newHistory(b, db))
	ctx := store.WithTenant(context.Background(), "bench")
	const contacts, each = 2000, 100
	ids := make([]history.ContactID, contacts)
	for i := range ids {
		c, _, err := s.FindOrCreateContact(ctx, history.Identity{Kind: history.IdentityPhone, Value: fmt.Sprint(i)}, "")
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = c.ID
	}
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			for k := w; k < contacts*each; k += 32 {
				if _, err := s.CreateConversation(ctx, history.NewConversation{ContactID: ids[k%contacts], Channel: history.ChannelWebChat, GroupID: "g"}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		cs, _, err := s.ListConversations(ctx, history.ConversationQuery{ContactID: ids[(i*7919)%contacts], Limit: 20})
		if err != nil || len(cs) != 20 {
			b.Fatal(len(cs), err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
