package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Options selects the database the hub uses.
type Options struct {
	// URI of a MongoDB deployment.
	URI string
	// Embedded says the server at URI is an in-process stand-in that only
	// this process writes and that takes one writer at a time (FerretDB
	// over SQLite, which the tests use): writes then queue in this package
	// (see writeGate) and the pool is bounded lower.
	Embedded bool
	// Database name; default "hub", or the path of URI when it names one.
	Database string
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Registerer receives the store's metrics; nil registers none.
	Registerer prometheus.Registerer
	// MaxConnIdleTime closes a pooled connection idle that long (default
	// DefaultMaxConnIdleTime); the pool shrinks back after a burst.
	MaxConnIdleTime time.Duration
}

// Connection pool bounds. A burst of sockets once grew the pool to about
// 180 connections that were never closed. An embedded server admits one
// writer at a time (the write gate queues writers before they take a
// connection) and runs on the hub's own cores, so a few dozen connections
// serve every read it can run at once; a MongoDB deployment gets the
// driver's usual bound. A call that finds every connection busy waits for
// one within the server selection timeout (5 s), then fails. Idle
// connections are closed after a minute (the driver checks every 10 s),
// down to MinPoolSize kept warm.
const (
	EmbeddedMaxPoolSize    = 64
	MongoDBMaxPoolSize     = 100
	MinPoolSize            = 2
	DefaultMaxConnIdleTime = time.Minute
)

// DB is the hub's database handle.
type DB struct {
	client   *mongo.Client
	db       *mongo.Database
	metrics  *opMetrics
	pool     *poolStats
	gate     *writeGate // one write at a time into an embedded server
	Embedded bool       // Options.Embedded
}

// Open connects to MongoDB and checks that it answers.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	d := &DB{metrics: newOpMetrics(o.Registerer), pool: newPoolStats(o.Registerer)}
	uri := o.URI
	if uri == "" {
		return nil, errors.New("store: no MongoDB URI")
	}
	maxPool := uint64(MongoDBMaxPoolSize)
	if o.Embedded {
		d.Embedded = true
		d.gate = newWriteGate()
		maxPool = EmbeddedMaxPoolSize
	}
	name := o.Database
	if name == "" {
		name = "hub"
		if u, err := url.Parse(uri); err == nil && strings.Trim(u.Path, "/") != "" {
			name = strings.Trim(u.Path, "/")
		}
	}
	if o.MaxConnIdleTime <= 0 {
		o.MaxConnIdleTime = DefaultMaxConnIdleTime
	}
	// Pool bounds set here win over the URI's (maxPoolSize=...) only when
	// the URI names none: ApplyURI runs first, the setters after.
	co := options.Client().
		SetAppName("hub").
		SetMaxPoolSize(maxPool).
		SetMinPoolSize(MinPoolSize).
		SetMaxConnIdleTime(o.MaxConnIdleTime).
		SetServerSelectionTimeout(5 * time.Second).
		ApplyURI(uri).
		SetPoolMonitor(d.pool.monitor())
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	d.client, d.db = client, client.Database(name)
	if err := d.Ping(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("store: %w", err)
	}
	return d, nil
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Close disconnects.
func (d *DB) Close(ctx context.Context) error { return d.client.Disconnect(ctx) }

// Collection returns the tenant-scoped collection name.
func (d *DB) Collection(name string) *Collection {
	return &Collection{c: d.db.Collection(name), name: name, m: d.metrics, gate: d.gate}
}

// Global returns an unscoped collection. Only the few records that exist
// before a tenant is known use it: tenants themselves and login sessions.
func (d *DB) Global(name string) *mongo.Collection { return d.db.Collection(name) }

// Database returns the underlying database, for GridFS buckets whose access
// is checked through a scoped collection first.
func (d *DB) Database() *mongo.Database { return d.db }
