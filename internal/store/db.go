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
}

// DB is the hub's database handle.
type DB struct {
	client   *mongo.Client
	db       *mongo.Database
	embedded *Embedded
	metrics  *opMetrics
	gate     *writeGate // one write at a time into the embedded server
	Embedded bool       // true when the embedded server is in use
}

// Open connects to MongoDB (or starts the embedded server) and checks that
// it answers.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	d := &DB{metrics: newOpMetrics(o.Registerer)}
	uri := o.URI
	if uri == "" {
		e, err := StartEmbedded(filepath.Join(o.DataDir, "db"), o.EmbeddedSync, o.Logger)
		if err != nil {
			return nil, err
		}
		d.embedded, d.Embedded, uri = e, true, e.URI()
		d.gate = newWriteGate()
	}
	name := o.Database
	if name == "" {
		name = "hub"
		if u, err := url.Parse(uri); err == nil && strings.Trim(u.Path, "/") != "" {
			name = strings.Trim(u.Path, "/")
		}
	}
	client, err := mongo.Connect(options.Client().ApplyURI(uri).
		SetAppName("hub").
		SetMaxPoolSize(200).
		SetServerSelectionTimeout(5 * time.Second))
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
