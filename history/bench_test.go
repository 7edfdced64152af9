package history_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// convs creates n conversations of one contact.
func convs(b *testing.B, ctx context.Context, s *history.Store, first *history.Conversation, n int) []*history.Conversation {
	out := []*history.Conversation{first}
	for len(out) < n {
		cv, err := s.CreateConversation(ctx, history.NewConversation{ContactID: first.ContactID, Channel: history.ChannelWebChat})
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, cv)
	}
	return out
}

func benchMessage(i int64) history.NewMessage {
	return history.NewMessage{Direction: history.DirectionIn, Body: "您好，我家宽带没信号了",
		ClientMsgID: fmt.Sprint("c", i), Sender: history.Sender{Type: history.SenderCustomer}}
}

// BenchmarkAppendMessage: one durable message write, from 8 concurrent
// writers (4 per core on the 2-core machine) across 100 conversations.
func BenchmarkAppendMessage(b *testing.B) {
	ctx, s, conv := benchStore(b)
	cs := convs(b, ctx, s, conv, 100)
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, _, err := s.AppendMessageTo(ctx, cs[i%int64(len(cs))], benchMessage(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkAppendLoad: the chat load of the next issue at saturation. 200
// goroutines append to 2,000 conversations (each message to a random one)
// as fast as commits allow; reports throughput and the percentiles of the
// time AppendMessage takes (send to durable ack).
func BenchmarkAppendLoad(b *testing.B) { appendLoad(b, 0) }

// BenchmarkAppendLoad1000: the same 200 goroutines and 2,000 conversations
// offering 1,000 messages/s in all (each goroutine sends every 200 ms), the
// next issue's target rate: the latency of a durable send under that load.
func BenchmarkAppendLoad1000(b *testing.B) { appendLoad(b, 1000) }

func appendLoad(b *testing.B, rate int) {
	ctx, s, conv := benchStore(b)
	cs := convs(b, ctx, s, conv, 2000)
	const workers = 200
	var n atomic.Int64
	lat := make([][]time.Duration, workers)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			var tick *time.Ticker
			if rate > 0 {
				time.Sleep(time.Duration(w) * time.Second / time.Duration(rate)) // spread the senders
				tick = time.NewTicker(time.Second * workers / time.Duration(rate))
				defer tick.Stop()
			}
			for {
				i := n.Add(1)
				if i > int64(b.N) {
					return
				}
				if tick != nil {
					<-tick.C
				}
				t0 := time.Now()
				if _, _, err := s.AppendMessageTo(ctx, cs[r.IntN(len(cs))], benchMessage(i)); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99_ms")
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50_ms")
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "writes/s")
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
// holding 500, among 24 conversations (12,000 messages in the collection).
func BenchmarkListMessages50(b *testing.B) {
	ctx, s, conv := benchStore(b)
	cs := convs(b, ctx, s, conv, 24)
	var wg sync.WaitGroup
	for w := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if _, _, err := s.AppendMessageTo(ctx, cs[w], history.NewMessage{Direction: history.DirectionIn, Body: fmt.Sprint("消息 ", i), Sender: history.Sender{Type: history.SenderCustomer}}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
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
