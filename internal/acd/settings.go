package acd

import (
	"fmt"
	"strings"
	"time"

	"github.com/omnihub/hub/routing"
)

// GroupSettings is a skill group's routing configuration as admins edit it
// (times in seconds, business hours as "HH:MM" spans in a named time zone).
// It is stored as is and converted to routing.GroupConfig.
type GroupSettings struct {
	Strategy           routing.Strategy       `json:"strategy" bson:"strategy"`
	OfferTimeoutS      int                    `json:"offer_timeout_s" bson:"offer_timeout_s"`
	MaxNoAnswer        int                    `json:"max_no_answer" bson:"max_no_answer"`
	AutoAccept         bool                   `json:"auto_accept" bson:"auto_accept"`
	WrapUpS            int                    `json:"wrap_up_s" bson:"wrap_up_s"`
	WrapUpOnTransfer   bool                   `json:"wrap_up_on_transfer" bson:"wrap_up_on_transfer"`
	RequireDisposition bool                   `json:"require_disposition" bson:"require_disposition"`
	BreakCap           int                    `json:"break_cap" bson:"break_cap"`
	InitialLevel       int                    `json:"initial_level" bson:"initial_level"`
	PriorityBoosts     []BoostSettings        `json:"priority_boosts" bson:"priority_boosts"`
	Escalation         []EscalationSettings   `json:"escalation" bson:"escalation"`
	MaxQueueLength     int                    `json:"max_queue_length" bson:"max_queue_length"`
	MaxWaitS           int                    `json:"max_wait_s" bson:"max_wait_s"`
	OnQueueFull        routing.OverflowAction `json:"on_queue_full" bson:"on_queue_full"`
	OnMaxWait          routing.OverflowAction `json:"on_max_wait" bson:"on_max_wait"`
	OnNoAgents         routing.OverflowAction `json:"on_no_agents" bson:"on_no_agents"`
	OnClosed           routing.OverflowAction `json:"on_closed" bson:"on_closed"`
	Hours              *HoursSettings         `json:"hours,omitempty" bson:"hours,omitempty"`
	LastAgentWaitS     int                    `json:"last_agent_wait_s" bson:"last_agent_wait_s"`
	AutoCloseAfterS    int                    `json:"auto_close_after_s" bson:"auto_close_after_s"`
	ChannelCost        map[string]int         `json:"channel_cost,omitempty" bson:"channel_cost,omitempty"`
}

// BoostSettings raises a waiting task's priority after AfterS seconds.
type BoostSettings struct {
	AfterS int `json:"after_s" bson:"after_s"`
	Add    int `json:"add" bson:"add"`
	To     int `json:"to" bson:"to"`
}

// EscalationSettings widens a waiting task after AfterS seconds.
type EscalationSettings struct {
	AfterS    int      `json:"after_s" bson:"after_s"`
	Level     int      `json:"level" bson:"level"`
	AnyLevel  bool     `json:"any_level" bson:"any_level"`
	AddGroups []string `json:"add_groups" bson:"add_groups"`
}

// HoursSettings are business hours: open spans per weekday ("mon".."sun" ->
// [{"from":"09:00","to":"18:00"}]) in a time zone, and closed dates
// ("2026-10-01").
type HoursSettings struct {
	TimeZone string                   `json:"time_zone" bson:"time_zone"`
	Weekly   map[string][]SpanSetting `json:"weekly" bson:"weekly"`
	Closed   []string                 `json:"closed" bson:"closed"`
}

// SpanSetting is an open span of a day, "HH:MM" to "HH:MM" (to may be 24:00).
type SpanSetting struct {
	From string `json:"from" bson:"from"`
	To   string `json:"to" bson:"to"`
}

// AgentSettings are an agent's routing limits.
type AgentSettings struct {
	Capacity   int            `json:"capacity" bson:"capacity"`
	ChannelMax map[string]int `json:"channel_max,omitempty" bson:"channel_max,omitempty"`
	GroupCap   map[string]int `json:"group_cap,omitempty" bson:"group_cap,omitempty"`
	AutoAccept bool           `json:"auto_accept" bson:"auto_accept"`
}

// FieldError names the bad field of a settings document.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// BadField names the field for the HTTP layer.
func (e *FieldError) BadField() string { return e.Field }

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func secs(field string, s int) (time.Duration, error) {
	if s < 0 {
		return 0, &FieldError{Field: field, Reason: "must not be negative"}
	}
	return time.Duration(s) * time.Second, nil
}

func clock(field, s string) (time.Duration, error) {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, &FieldError{Field: field, Reason: fmt.Sprintf("%q is not a time of day HH:MM", s)}
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// toGroupConfig converts settings to the engine's configuration.
func (s GroupSettings) toGroupConfig(id routing.GroupID) (routing.GroupConfig, error) {
	c := routing.GroupConfig{ID: id, Strategy: s.Strategy, MaxNoAnswer: s.MaxNoAnswer, AutoAccept: s.AutoAccept,
		WrapUpOnTransfer: s.WrapUpOnTransfer, RequireDisposition: s.RequireDisposition, BreakCap: s.BreakCap,
		InitialLevel: s.InitialLevel, MaxQueueLength: s.MaxQueueLength, OnQueueFull: s.OnQueueFull, OnMaxWait: s.OnMaxWait,
		OnNoAgents: s.OnNoAgents, OnClosed: s.OnClosed}
	var err error
	for _, d := range []struct {
		field string
		v     int
		to    *time.Duration
	}{
		{"offer_timeout_s", s.OfferTimeoutS, &c.OfferTimeout}, {"wrap_up_s", s.WrapUpS, &c.WrapUp},
		{"max_wait_s", s.MaxWaitS, &c.MaxWait}, {"last_agent_wait_s", s.LastAgentWaitS, &c.LastAgentWait},
		{"auto_close_after_s", s.AutoCloseAfterS, &c.AutoCloseAfter},
	} {
		if *d.to, err = secs(d.field, d.v); err != nil {
			return c, err
		}
	}
	for i, b := range s.PriorityBoosts {
		after, err := secs(fmt.Sprintf("priority_boosts[%d].after_s", i), b.AfterS)
		if err != nil {
			return c, err
		}
		c.PriorityBoosts = append(c.PriorityBoosts, routing.PriorityBoost{After: after, Add: b.Add, To: b.To})
	}
	for i, e := range s.Escalation {
		after, err := secs(fmt.Sprintf("escalation[%d].after_s", i), e.AfterS)
		if err != nil {
			return c, err
		}
		st := routing.EscalationStep{After: after, Level: e.Level, AnyLevel: e.AnyLevel}
		for _, g := range e.AddGroups {
			st.AddGroups = append(st.AddGroups, routing.GroupID(g))
		}
		c.Escalation = append(c.Escalation, st)
	}
	if len(s.ChannelCost) > 0 {
		c.ChannelCost = map[routing.Channel]int{}
		for k, v := range s.ChannelCost {
			c.ChannelCost[routing.Channel(k)] = v
		}
	}
	if s.Hours != nil {
		h := &routing.BusinessHours{Weekly: map[time.Weekday][]routing.Span{}}
		loc, err := time.LoadLocation(s.Hours.TimeZone)
		if err != nil || s.Hours.TimeZone == "" {
			return c, &FieldError{Field: "hours.time_zone", Reason: fmt.Sprintf("%q is not a time zone such as Asia/Shanghai", s.Hours.TimeZone)}
		}
		h.Location = loc
		for day, spans := range s.Hours.Weekly {
			wd, ok := weekdays[strings.ToLower(day)]
			if !ok {
				return c, &FieldError{Field: "hours.weekly", Reason: fmt.Sprintf("%q is not a weekday (mon..sun)", day)}
			}
			for i, sp := range spans {
				f := fmt.Sprintf("hours.weekly.%s[%d]", day, i)
				from, err := clock(f+".from", sp.From)
				if err != nil {
					return c, err
				}
				to, err := clock(f+".to", sp.To)
				if err != nil {
					return c, err
				}
				h.Weekly[wd] = append(h.Weekly[wd], routing.Span{From: from, To: to})
			}
		}
		for i, d := range s.Hours.Closed {
			t, err := time.Parse("2006-01-02", d)
			if err != nil {
				return c, &FieldError{Field: fmt.Sprintf("hours.closed[%d]", i), Reason: fmt.Sprintf("%q is not a date YYYY-MM-DD", d)}
			}
			h.Closed = append(h.Closed, routing.Date{Year: t.Year(), Month: t.Month(), Day: t.Day()})
		}
		c.Hours = h
	}
	return c, nil
}

func (s AgentSettings) toAgentConfig(id routing.AgentID, groups map[routing.GroupID]int) routing.AgentConfig {
	c := routing.AgentConfig{ID: id, Capacity: s.Capacity, Groups: groups, AutoAccept: s.AutoAccept}
	if len(s.ChannelMax) > 0 {
		c.ChannelMax = map[routing.Channel]int{}
		for k, v := range s.ChannelMax {
			c.ChannelMax[routing.Channel(k)] = v
		}
	}
	if len(s.GroupCap) > 0 {
		c.GroupCap = map[routing.GroupID]int{}
		for k, v := range s.GroupCap {
			c.GroupCap[routing.GroupID(k)] = v
		}
	}
	return c
}
