package store

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// opMetrics times every store call in one place (the scoped Collection), in
// the manner of mattermost's timer layer.
type opMetrics struct {
	dur *prometheus.HistogramVec
}

func newOpMetrics(r prometheus.Registerer) *opMetrics {
	m := &opMetrics{dur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "hub",
		Subsystem: "store",
		Name:      "operation_duration_seconds",
		Help:      "Duration of store operations by collection, operation and outcome.",
		Buckets:   []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"collection", "op", "outcome"})}
	if r != nil {
		r.MustRegister(m.dur)
	}
	return m
}

func (m *opMetrics) observe(coll, op string, start time.Time, errp *error) {
	err := *errp
	outcome := "ok"
	switch {
	case err == nil:
	case errors.Is(err, mongo.ErrNoDocuments):
		outcome = "not_found"
	case mongo.IsDuplicateKeyError(err):
		outcome = "duplicate"
	default:
		outcome = "error"
	}
	m.dur.WithLabelValues(coll, op, outcome).Observe(time.Since(start).Seconds())
}
