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
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omnihub/hub/history"
	"github.com/omnihub/hub/internal/ids"
	"github.com/omnihub/hub/internal/sqlitedb"
	"github.com/omnihub/hub/internal/store"
	"github.com/omnihub/hub/storage/sqlite"
)

// SeedSample is what `hubload seed` leaves in the data folder for the
// measurements that follow (`hubload history`): ids picked at random
// among what it wrote, never chosen for being fast.
type SeedSample struct {
	Tenant        string   `json:"tenant"`
	Contacts      []string `json:"contacts"`
	Agents        []string `json:"agents"`
	Conversations []string `json:"conversations"`
}

// SeedSampleFile is the sample's name in the data folder.
const SeedSampleFile = "seed-sample.json"

type seedConfig struct {
	dir                  string
	contacts, convs      int
	msgsPer              int
	agents, groups       int
	workers              int
	secondTenantFraction float64
}

// seed writes a realistic year of a busy contact center into the embedded
// store of a stopped hub's data folder, through the history store layer:
// contacts with phone identities, conversations on every channel spread
// over 365 days (some contacts call often, most rarely), each with its
// messages, handled by agents of skill groups; and a second, smaller
// tenant.
func seed(ctx context.Context, args []string, out, log io.Writer) error {
	var c seedConfig
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(log)
	fs.StringVar(&c.dir, "data", "", "the hub's data folder (the hub must be stopped)")
	fs.IntVar(&c.contacts, "contacts", 200_000, "contacts of the first tenant")
	fs.IntVar(&c.convs, "conversations", 1_000_000, "conversations of the first tenant")
	fs.IntVar(&c.msgsPer, "messages-per-conversation", 10, "messages in each conversation")
	fs.IntVar(&c.agents, "agents", 200, "agents who handled the conversations")
	fs.IntVar(&c.groups, "groups", 10, "skill groups")
	fs.IntVar(&c.workers, "workers", 256, "conversations written at once")
	fs.Float64Var(&c.secondTenantFraction, "second-tenant", 0.1, "size of the second tenant, as a fraction of the first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.dir == "" {
		return errors.New("seed: -data DIR is required")
	}
	db, err := sqlitedb.Open(ctx, sqlitedb.Options{Dir: c.dir, Sync: "normal"})
	if err != nil {
		return err
	}
	defer db.Close()
	h, err := sqlite.NewHistory(ctx, db)
	if err != nil {
		return err
	}
	start := time.Now()
	sample, n1, err := seedTenant(ctx, db, h, string(store.DefaultTenant), c, log)
	if err != nil {
		return err
	}
	c2 := c
	c2.contacts = max(1, int(float64(c.contacts)*c.secondTenantFraction))
	c2.convs = max(1, int(float64(c.convs)*c.secondTenantFraction))
	if _, _, err := seedTenant(ctx, db, h, "seed-second", c2, log); err != nil {
		return err
	}
	b, err := json.MarshalIndent(sample, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.dir, SeedSampleFile), b, 0o640); err != nil {
		return err
	}
	el := time.Since(start)
	fi, _ := os.Stat(db.Path())
	size := int64(0)
	if fi != nil {
		size = fi.Size()
	}
	fmt.Fprintf(out, "RESULT seed contacts=%d conversations=%d messages=%d second_tenant_conversations=%d seconds=%.0f db_bytes=%d\n",
		c.contacts, c.convs, n1, c2.convs, el.Seconds(), size)
	return nil
}

var seedTexts = []string{"您好，我家宽带从昨天开始就连不上了", "请问这个月的话费为什么多扣了二十元", "好的，我帮您查询一下，请稍等", "机顶盒一直显示无信号怎么办", "已经为您登记报修，师傅会在两小时内联系您", "谢谢", "还有其他问题吗？", "我想办理套餐变更", "请提供一下您的身份证后四位", "银行卡被锁了怎么解锁"}

func seedTenant(ctx context.Context, db *sqlitedb.DB, h *sqlite.History, tenant string, c seedConfig, log io.Writer) (SeedSample, int64, error) {
	ctx = store.WithTenant(ctx, store.TenantID(tenant))
	year := 365 * 24 * time.Hour
	begin := time.Now().Add(-year)
	sample := SeedSample{Tenant: tenant}
	rng := rand.New(rand.NewPCG(1, uint64(len(tenant))))
	agents := make([]string, c.agents)
	for i := range agents {
		agents[i] = fmt.Sprintf("seed-agent-%03d", i)
	}
	// Contacts, in batches of 500 per transaction.
	contacts := make([]history.ContactID, c.contacts)
	for lo := 0; lo < c.contacts; lo += 500 {
		hi := min(lo+500, c.contacts)
		err := db.Write(ctx, func(tx *sqlitedb.Tx) error {
			for i := lo; i < hi; i++ {
				at := begin.Add(time.Duration(float64(year) * float64(i) / float64(c.contacts)))
				id := history.Identity{Kind: history.IdentityPhone, Value: fmt.Sprintf("1%02d%08d", 30+len(tenant)%9, i)}
				ct, _, err := h.FindOrCreateContact(tx.Context(), id, &history.Contact{ID: history.ContactID(ids.NewAt(at)),
					Name: fmt.Sprintf("客户%06d", i), Identities: []history.Identity{id}, CreatedAt: at, UpdatedAt: at})
				if err != nil {
					return err
				}
				contacts[i] = ct.ID
			}
			return nil
		})
		if err != nil {
			return sample, 0, fmt.Errorf("contacts: %w", err)
		}
	}
	fmt.Fprintf(log, "seed %s: %d contacts\n", tenant, c.contacts)
	// Conversations in time order, written by workers, each with its
	// messages in one transaction.
	channels := []history.Channel{history.ChannelVoice, history.ChannelVoice, history.ChannelWebChat, history.ChannelWeChat, history.ChannelWebChat, history.ChannelWeChat, history.ChannelVoice, history.ChannelSMS}
	type job struct {
		at              time.Time
		contact         history.ContactID
		agent, group    string
		channel         history.Channel
		open            bool
		textA, textB, n int
	}
	jobs := make(chan job, 1024)
	var written atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				// Each step is its own write (the history batches appends
				// itself); the workers' writes share commits.
				err := func() error {
					conv := &history.Conversation{ID: history.ConversationID(ids.NewAt(j.at)), ContactID: j.contact, Channel: j.channel,
						Status: history.StatusClosed, GroupID: j.group, AssigneeID: j.agent, Tags: []string{},
						CreatedAt: j.at, QueuedAt: j.at, AssignedAt: j.at.Add(20 * time.Second), UpdatedAt: j.at.Add(10 * time.Minute),
						EndedAt: j.at.Add(10 * time.Minute), ClosedAt: j.at.Add(10 * time.Minute)}
					if j.open {
						conv.Status, conv.EndedAt, conv.ClosedAt = history.StatusAssigned, time.Time{}, time.Time{}
					}
					if err := h.CreateConversation(wctx, conv); err != nil {
						return err
					}
					for k := range j.n {
						in := history.NewMessage{ConversationID: conv.ID, Direction: history.DirectionIn, Kind: history.KindText,
							Body: seedTexts[(j.textA+k)%len(seedTexts)], Sender: history.Sender{Type: history.SenderCustomer},
							ClientMsgID: fmt.Sprintf("c-%d", k), At: j.at.Add(time.Duration(k) * 30 * time.Second)}
						if k%2 == 1 {
							in.Direction, in.Sender = history.DirectionOut, history.Sender{Type: history.SenderAgent, ID: j.agent}
							in.Body = seedTexts[(j.textB+k)%len(seedTexts)]
						}
						if _, _, err := h.AppendMessage(wctx, conv, in); err != nil {
							return err
						}
					}
					return nil
				}()
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				written.Add(int64(j.n))
			}
		}()
	}
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	t0 := time.Now()
	for i := 0; i < c.convs && wctx.Err() == nil; i++ {
		at := begin.Add(time.Duration(float64(year) * float64(i) / float64(c.convs)))
		// A few contacts call often, most rarely: the square of a uniform
		// number picks the low indexes more.
		u := rng.Float64()
		ci := int(u * u * float64(c.contacts))
		j := job{at: at, contact: contacts[ci], agent: agents[rng.IntN(len(agents))], group: fmt.Sprintf("seed-group-%02d", rng.IntN(c.groups)),
			channel: channels[rng.IntN(len(channels))], open: i >= c.convs-c.agents, textA: rng.IntN(10), textB: rng.IntN(10), n: c.msgsPer}
		select {
		case jobs <- j:
		case <-wctx.Done():
		}
		if rng.IntN(max(1, c.convs/400)) == 0 && len(sample.Conversations) < 400 {
			// The id is made in the worker; sample contacts and agents here,
			// conversations through a contact's history later.
			sample.Contacts = append(sample.Contacts, string(contacts[ci]))
		}
		select {
		case <-progress.C:
			fmt.Fprintf(log, "seed %s: %d/%d conversations, %.0f messages/s\n", tenant, i, c.convs, float64(written.Load())/time.Since(t0).Seconds())
		default:
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return sample, written.Load(), firstErr
	}
	sample.Agents = agents
	// Conversations: the newest of sampled contacts (what an agent opens).
	for _, ct := range sample.Contacts {
		convs, _, err := h.ListConversations(ctx, history.ConversationQuery{ContactID: history.ContactID(ct), Limit: 1})
		if err != nil {
			return sample, written.Load(), err
		}
		if len(convs) > 0 {
			sample.Conversations = append(sample.Conversations, string(convs[0].ID))
		}
	}
	fmt.Fprintf(log, "seed %s: %d conversations, %d messages in %s\n", tenant, c.convs, written.Load(), time.Since(t0).Round(time.Second))
	return sample, written.Load(), nil
}
