package routing

import (
	"errors"
	"testing"
	"time"
)

// FuzzEngine drives the engine with arbitrary operations and ids (known and
// unknown): it must never panic, must only return sentinel or config errors,
// and must keep its invariants.
func FuzzEngine(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte("enqueue accept reject complete cancel transfer tick"))
	f.Add([]byte{3, 3, 3, 0, 0, 0, 1, 1, 2, 9, 9, 9, 9, 4, 4, 200, 201, 202, 17, 18, 19, 20})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzBody(t, data) })
}

func fuzzBody(t testing.TB, data []byte) {
	{
		clk := newClock()
		e, err := New(Options{Now: clk.Now, SilentAfter: time.Second, CustomStates: []CustomState{{Name: "x", Routable: true}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range randomGroups(nil) {
			if _, err := e.UpsertGroup(g); err != nil {
				t.Fatal(err)
			}
		}
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		agent := func() AgentID { return []AgentID{"a0", "a1", "a2", "zz", ""}[next()%5] }
		task := func() TaskID { return TaskID([]string{"t0", "t1", "t2", "t3", "", "t\x00"}[next()%6]) }
		group := func() GroupID { return []GroupID{"g0", "g1", "g2", "g3", "g4", "g5", "nope"}[next()%7] }
		for _, id := range []AgentID{"a0", "a1", "a2"} {
			e.UpsertAgent(AgentConfig{ID: id, Groups: map[GroupID]int{"g0": 1, "g5": 2, "g4": 1}})
		}
		if len(data) > 4096 {
			data = data[:4096] // keep each input fast
		}
		for len(data) > 0 {
			var err error
			switch next() % 22 {
			case 0:
				_, _, err = e.Enqueue(TaskSpec{ID: task(), Channel: channels[next()%8], Group: group(), Priority: int(int8(next())), LastAgent: agent(), RequiredLevel: int(next() % 3)})
			case 1:
				_, err = e.Accept(agent(), task())
			case 2:
				_, err = e.Reject(agent(), task(), "r")
			case 3:
				_, err = e.SignIn(agent())
			case 4:
				_, err = e.Complete(task(), "")
			case 5:
				_, err = e.Cancel(task(), "")
			case 6:
				_, err = e.Transfer(task(), TransferTarget{Agent: agent(), Group: []GroupID{"", "g1"}[next()%2]}, "")
			case 7:
				e.Tick(clk.Advance(time.Duration(next()) * 100 * time.Millisecond))
			case 8:
				_, err = e.SetState(agent(), []AgentState{StateReady, StateNotReady, StateBreak, "x", "y", StateSignedOut}[next()%6], "")
			case 9:
				_, err = e.RequestBreak(agent(), "b", time.Duration(int8(next()))*time.Second)
			case 10:
				_, err = e.ApproveBreak(agent())
			case 11:
				_, err = e.ContinueWork(agent())
			case 12:
				_, err = e.SetDisposition(agent(), task(), "c")
			case 13:
				_, err = e.Disconnected(agent(), clk.Now())
			case 14:
				_, err = e.Connected(agent())
			case 15:
				_, err = e.Touch(task(), clk.Now().Add(-time.Duration(next())*time.Second))
			case 16:
				_, err = e.UpsertAgent(AgentConfig{ID: agent(), Capacity: int(int8(next())), Groups: map[GroupID]int{group(): int(int8(next()))}})
			case 17:
				_, err = e.RemoveAgent(agent())
			case 18:
				_, err = e.RemoveGroup(group())
			case 19:
				_, err = e.UpsertGroup(GroupConfig{ID: group(), Strategy: []Strategy{"", StrategyRingAll, StrategyLastAgent, "bad"}[next()%4], OfferTimeout: time.Duration(int8(next())) * time.Second})
			case 20:
				e.Agent(agent())
				e.Task(task())
				e.QueuePosition(task())
				e.EstimatedWait(task())
				e.GroupStats(group())
				e.Agents()
				e.Tasks()
			case 21:
				_, err = e.DenyBreak(agent(), "")
			}
			if err != nil && checkErr(err) != nil && !errors.Is(err, ErrUnknownChannel) {
				t.Fatalf("unexpected error %v", err)
			}
			if err := e.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
