package store

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/event"
)

// poolStats counts the driver's pooled connections from its pool events:
// open (created and not yet closed) and in use (checked out), exported as
// hub_store_pool_connections{state="open"|"in_use"}.
type poolStats struct {
	open, inUse, peak atomic.Int64
}

func newPoolStats(r prometheus.Registerer) *poolStats {
	p := &poolStats{}
	if r != nil {
		r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hub", Subsystem: "store", Name: "pool_connections",
			Help: "Connections in the store's pool.", ConstLabels: prometheus.Labels{"state": "open"}},
			func() float64 { return float64(p.open.Load()) }))
		r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hub", Subsystem: "store", Name: "pool_connections",
			Help: "Connections in the store's pool.", ConstLabels: prometheus.Labels{"state": "in_use"}},
			func() float64 { return float64(p.inUse.Load()) }))
	}
	return p
}

func (p *poolStats) monitor() *event.PoolMonitor {
	return &event.PoolMonitor{Event: func(e *event.PoolEvent) {
		switch e.Type {
		case event.ConnectionCreated:
			n := p.open.Add(1)
			for {
				m := p.peak.Load()
				if n <= m || p.peak.CompareAndSwap(m, n) {
					break
				}
			}
		case event.ConnectionClosed:
			p.open.Add(-1)
		case event.ConnectionCheckedOut:
			p.inUse.Add(1)
		case event.ConnectionCheckedIn:
			p.inUse.Add(-1)
		}
	}}
}

// PoolStats are the store's pooled connections.
type PoolStats struct {
	Open  int // created and not closed
	InUse int // checked out by a call
	Peak  int // most open at once since Open
}

// PoolStats reports the store's pooled connections.
func (d *DB) PoolStats() PoolStats {
	return PoolStats{Open: int(d.pool.open.Load()), InUse: int(d.pool.inUse.Load()), Peak: int(d.pool.peak.Load())}
}
