package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"
)

// historyLoad measures, through the hub's HTTP API as a supervisor's page
// calls it, the reads a seeded store must serve fast: a contact's history
// (last 20 conversations), an agent's handled conversations newest first,
// and opening a conversation with its last 50 messages. Ids come from the
// seed's sample file, picked at random. It prints one RESULT line with the
// p50 and p99 of each.
func historyLoad(ctx context.Context, args []string, out, log io.Writer) error {
	var c config
	var samplePath string
	var n, conc int
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(log)
	fs.StringVar(&c.addr, "addr", "http://127.0.0.1:8080", "hub URL")
	fs.StringVar(&c.user, "admin-user", "admin", "admin username")
	fs.StringVar(&c.pw, "admin-password", "", "admin password")
	fs.StringVar(&samplePath, "sample", "", "seed-sample.json written by hubload seed")
	fs.IntVar(&n, "n", 2000, "requests of each kind")
	fs.IntVar(&conc, "concurrency", 4, "requests at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(samplePath)
	if err != nil {
		return err
	}
	var s SeedSample
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if len(s.Contacts) == 0 || len(s.Agents) == 0 || len(s.Conversations) == 0 {
		return errors.New("history: the sample is empty")
	}
	l := &load{c: c, log: log}
	if err := l.adminLogin(); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(7, 7))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	kinds := []struct {
		name string
		path func() []string
	}{
		{"contact_history", func() []string { return []string{"/api/v1/contacts/" + pick(s.Contacts) + "/conversations?limit=20"} }},
		{"agent_handled", func() []string { return []string{"/api/v1/conversations?assignee=" + pick(s.Agents) + "&limit=20"} }},
		{"open_conversation", func() []string {
			id := pick(s.Conversations)
			return []string{"/api/v1/conversations/" + id, "/api/v1/conversations/" + id + "/messages?limit=50"}
		}},
	}
	line := "RESULT history"
	for _, k := range kinds {
		paths := make([][]string, n)
		for i := range paths {
			paths[i] = k.path()
		}
		lat := make([]time.Duration, n)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		next := make(chan int)
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					t0 := time.Now()
					for _, p := range paths[i] {
						if err := l.api(ctx, "GET", p, l.admin, nil, nil); err != nil {
							mu.Lock()
							if firstErr == nil {
								firstErr = fmt.Errorf("%s %s: %w", k.name, p, err)
							}
							mu.Unlock()
						}
					}
					lat[i] = time.Since(t0)
				}
			}()
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
		slices.Sort(lat)
		line += fmt.Sprintf(" %s_p50_ms=%.2f %s_p99_ms=%.2f", k.name, percentileMS(lat, 0.50), k.name, percentileMS(lat, 0.99))
	}
	fmt.Fprintln(out, line)
	return nil
}
