package store

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Options selects the database the hub uses.
type Options struct {
	// URI of a MongoDB deployment. Empty starts the embedded server.
	URI string
	// DataDir holds the embedded server's files (in DataDir/db).
	DataDir string
	// EmbeddedSync is the embedded server's durability: "full" or "normal"
	// (see StartEmbedded).
	EmbeddedSync string
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
// 180 connections that were never closed. The embedded server admits one
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
	embedded *Embedded
	metrics  *opMetrics
	pool     *poolStats
	gate     *writeGate // one write at a time into the embedded server
	Embedded bool       // true when the embedded server is in use
}

// Open connects to MongoDB (or starts the embedded server) and checks that
// it answers.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	d := &DB{metrics: newOpMetrics(o.Registerer), pool: newPoolStats(o.Registerer)}
	uri := o.URI
	maxPool := uint64(MongoDBMaxPoolSize)
	if uri == "" {
		e, err := StartEmbedded(filepath.Join(o.DataDir, "db"), o.EmbeddedSync, o.Logger)
		if err != nil {
			return nil, err
		}
		d.embedded, d.Embedded, uri = e, true, e.URI()
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
		d.closeEmbedded()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	d.client, d.db = client, client.Database(name)
	if err := d.Ping(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		d.closeEmbedded()
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

// Close disconnects and stops the embedded server if one runs.
func (d *DB) Close(ctx context.Context) error {
	err := d.client.Disconnect(ctx)
	d.closeEmbedded()
	return err
}

func (d *DB) closeEmbedded() {
	if d.embedded != nil {
		d.embedded.Close()
	}
}

// Collection returns the tenant-scoped collection name.
func (d *DB) Collection(name string) *Collection {
	return &Collection{c: d.db.Collection(name), name: name, m: d.metrics, gate: d.gate}
}

// Optimize brings the embedded server's id indexes up to date (a no-op on
// MongoDB); call it after start-up has created the collections.
func (d *DB) Optimize(ctx context.Context) error {
	if d.embedded == nil {
		return nil
	}
	return d.embedded.IndexNow(ctx)
}

// Global returns an unscoped collection. Only the few records that exist
// before a tenant is known use it: tenants themselves and login sessions.
func (d *DB) Global(name string) *mongo.Collection { return d.db.Collection(name) }

// Database returns the underlying database, for GridFS buckets whose access
// is checked through a scoped collection first.
func (d *DB) Database() *mongo.Database { return d.db }
