package sqlitedb

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	commits  prometheus.Counter
	failed   prometheus.Counter
	batch    prometheus.Histogram
	duration prometheus.Histogram
	redo     prometheus.Counter
	// walRestart times the checkpoints the writer finishes itself.
	walRestart prometheus.Histogram
	// checkpoint times the checkpointer's copies.
	checkpoint prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		commits: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "hub", Subsystem: "store", Name: "commits_total",
			Help: "Write transactions committed by the embedded store."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "hub", Subsystem: "store", Name: "commit_failures_total",
			Help: "Write transactions of the embedded store that failed to commit."}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "hub", Subsystem: "store", Name: "commit_writes",
			Help: "Writes coalesced into one transaction (group commit).", Buckets: prometheus.ExponentialBuckets(1, 2, 11)}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "hub", Subsystem: "store", Name: "commit_seconds",
			Help: "Time from the start of a write transaction to its durable commit.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12)}),
		redo: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "hub", Subsystem: "store", Name: "commit_redos_total",
			Help: "Write transactions redone with a savepoint per write because one of their writes failed."}),
		walRestart: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "hub", Subsystem: "store", Name: "wal_restart_seconds",
			Help: "Checkpoints the writer finished between two transactions so that the write-ahead log starts over (writes wait meanwhile).", Buckets: prometheus.ExponentialBuckets(0.001, 2, 12)}),
		checkpoint: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "hub", Subsystem: "store", Name: "checkpoint_seconds",
			Help: "Checkpoints copying the write-ahead log into the store file, in the background (writes go on meanwhile).", Buckets: prometheus.ExponentialBuckets(0.001, 2, 12)}),
	}
	if reg != nil {
		reg.MustRegister(m.commits, m.failed, m.batch, m.duration, m.redo, m.walRestart, m.checkpoint)
	}
	return m
}

func (m *metrics) observe(n int, d time.Duration, err error) {
	if err != nil {
		m.failed.Inc()
		return
	}
	m.commits.Inc()
	m.batch.Observe(float64(n))
	m.duration.Observe(d.Seconds())
}
