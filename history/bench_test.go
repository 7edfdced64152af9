package history_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/internal/store/storetest"
)

// The store benchmarks run against the embedded server (or HUB_TEST_MONGODB_URI).
// Figures are in BENCHMARKS.md.

func benchStore(b *testing.B) (context.Context, *history.Store, *history.Conversation) {
	db := storetest.Backends()[len(storetest.Backends())-1].Open(b)
	s, err := history.New(context.Background(), db)
	if err != nil {
		b.Fatal(err)
	}
	ctx := store.WithTenant(context.Background(), "bench")
	c, _, err := s.FindOrCreateContact(ctx, history.Identity{Kind: history.IdentityWebVisitor, Value: "bench"}, "")
	if err != nil {
		b.Fatal(err)
	}
	conv, err := s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: history.ChannelWebChat})
	if err != nil {
		b.Fatal(err)
	}
	return ctx, s, conv
}

// BenchmarkAppendMessage: one durable message write (insert + conversation
// counters), from 8 concurrent writers.
func BenchmarkAppendMessage(b *testing.B) {
	ctx, s, conv := benchStore(b)
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, _, err := s.AppendMessageTo(ctx, conv, history.NewMessage{Direction: history.DirectionIn, Body: "您好，我家宽带没信号了",
				ClientMsgID: fmt.Sprint("c", i), Sender: history.Sender{Type: history.SenderCustomer}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkGetConversation: one document read by id.
func BenchmarkGetConversation(b *testing.B) {
	ctx, s, conv := benchStore(b)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetConversation(ctx, conv.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}

// BenchmarkListMessages50: the newest page of 50 messages of a conversation
// holding 500, among 20 conversations.
func BenchmarkListMessages50(b *testing.B) {
	ctx, s, conv := benchStore(b)
	c, _ := s.GetContact(ctx, conv.ContactID)
	for k := 0; k < 20; k++ {
		cv := conv
		if k > 0 {
			cv, _ = s.CreateConversation(ctx, history.NewConversation{ContactID: c.ID, Channel: history.ChannelWebChat})
		}
		for i := 0; i < 500; i++ {
			if _, _, err := s.AppendMessageTo(ctx, cv, history.NewMessage{Direction: history.DirectionIn, Body: fmt.Sprint("消息 ", i), Sender: history.Sender{Type: history.SenderCustomer}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ms, _, err := s.ListMessages(ctx, conv.ID, history.MessageQuery{Limit: 50})
			if err != nil || len(ms) != 50 {
				b.Fatal(err, len(ms))
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}
