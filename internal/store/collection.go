package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// TenantField is the field every scoped document carries.
const TenantField = "tenant"

// Collection is a tenant-scoped MongoDB collection. Every method takes the
// tenant from ctx and:
//   - adds {tenant: T} to every filter (a filter naming another tenant is
//     refused with ErrTenantMismatch);
//   - stamps tenant T on every inserted or replacing document;
//   - prepends {$match: {tenant: T}} to every aggregation pipeline.
//
// Filters are bson.M, bson.D or nil. Indexes should start with the tenant
// field so scoped queries can use them.
type Collection struct {
	c    *mongo.Collection
	name string
	m    *opMetrics
	gate *writeGate // nil unless the embedded server
}

// Name is the collection's name.
func (c *Collection) Name() string { return c.name }

func tenantOf(ctx context.Context) (TenantID, error) {
	t, ok := Tenant(ctx)
	if !ok {
		return "", ErrNoTenant
	}
	return t, nil
}

// scope returns filter restricted to the context's tenant.
func scope(ctx context.Context, filter any) (bson.D, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	out := bson.D{{Key: TenantField, Value: string(t)}}
	switch f := filter.(type) {
	case nil:
	case bson.M:
		for k, v := range f {
			if k == TenantField {
				if s, ok := v.(string); !ok || s != string(t) {
					return nil, ErrTenantMismatch
				}
				continue
			}
			if k == "_id" && foreignID(ctx, v) {
				return nil, ErrTenantMismatch
			}
			out = append(out, bson.E{Key: k, Value: v})
		}
	case bson.D:
		for _, e := range f {
			if e.Key == TenantField {
				if s, ok := e.Value.(string); !ok || s != string(t) {
					return nil, ErrTenantMismatch
				}
				continue
			}
			if e.Key == "_id" && foreignID(ctx, e.Value) {
				return nil, ErrTenantMismatch
			}
			out = append(out, e)
		}
	default:
		return nil, fmt.Errorf("store: filter must be bson.M or bson.D, got %T", filter)
	}
	return out, nil
}

// idOnly returns the id when filter is exactly {_id: <value>}. Such
// filters are sent to the server as they are, without the tenant, and the
// tenant is checked on the document instead: FerretDB's SQLite backend only
// pushes a single-key {_id} filter down to SQL (any other filter scans the
// whole collection), and ids are unique across tenants, so this keeps the
// most frequent queries O(1) without weakening isolation.
func idOnly(filter any) (any, bool) {
	var v any
	switch f := filter.(type) {
	case bson.M:
		if len(f) != 1 {
			return nil, false
		}
		var ok bool
		if v, ok = f["_id"]; !ok {
			return nil, false
		}
	case bson.D:
		if len(f) != 1 || f[0].Key != "_id" {
			return nil, false
		}
		v = f[0].Value
	default:
		return nil, false
	}
	switch x := v.(type) {
	case string, int, int32, int64, bson.ObjectID:
		return v, true
	default:
		// Named id types (history.ConversationID, accounts.UserID...) are
		// strings underneath: normalise them so the fast path applies.
		if rv := reflect.ValueOf(x); rv.Kind() == reflect.String {
			return rv.String(), true
		}
	}
	return nil, false
}

// ownedID reports whether id is a string of the form "<tenant>/..." naming
// the context's tenant. Such ids belong to that tenant by construction:
// stamp and the upsert paths refuse to create a document whose id names
// another tenant, so a write by such an id needs no ownership read first
// (under FerretDB that read is a whole extra round trip and SQL query).
func ownedID(ctx context.Context, id any) bool {
	s, ok := id.(string)
	if !ok {
		return false
	}
	t, ok := Tenant(ctx)
	return ok && len(s) > len(t) && s[len(t)] == '/' && s[:len(t)] == string(t)
}

// foreignID reports whether id is a string whose "<prefix>/" names a tenant
// other than the context's: such ids are reserved to that tenant.
func foreignID(ctx context.Context, id any) bool {
	s, ok := id.(string)
	if !ok {
		return false
	}
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return false
	}
	t, _ := Tenant(ctx)
	return s[:i] != string(t)
}

// owns reports whether the document with this id exists and belongs to the
// context's tenant. Tenants never change, so an operation by id that
// follows a positive check cannot touch another tenant's document.
func (c *Collection) owns(ctx context.Context, id any) (bool, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return false, err
	}
	raw, err := c.c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: TenantField, Value: 1}})).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s, ok := raw.Lookup(TenantField).StringValueOK()
	return ok && s == string(t), nil
}

// withSetOnInsert adds {$setOnInsert: {tenant: T}} to an update document so
// an upsert by id creates a document of the context's tenant.
func withSetOnInsert(ctx context.Context, update any) any {
	t, _ := tenantOf(ctx)
	soi := bson.E{Key: TenantField, Value: string(t)}
	switch u := update.(type) {
	case bson.M:
		out := bson.M{}
		for k, v := range u {
			out[k] = v
		}
		switch cur := out["$setOnInsert"].(type) {
		case nil:
			out["$setOnInsert"] = bson.D{soi}
		case bson.M:
			m := bson.M{TenantField: string(t)}
			for k, v := range cur {
				m[k] = v
			}
			out["$setOnInsert"] = m
		}
		return out
	case bson.D:
		for _, e := range u {
			if e.Key == "$setOnInsert" {
				return u
			}
		}
		return append(append(bson.D{}, u...), bson.E{Key: "$setOnInsert", Value: bson.D{soi}})
	}
	return update
}

// stamp marshals doc and sets its tenant field to the context's tenant.
func stamp(ctx context.Context, doc any) (bson.Raw, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	b, err := bson.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("store: marshal: %w", err)
	}
	raw := bson.Raw(b)
	if id, ok := raw.Lookup("_id").StringValueOK(); ok && foreignID(ctx, id) {
		// Ids "<tenant>/..." are reserved to that tenant (see ownedID).
		return nil, ErrTenantMismatch
	}
	if v, err := raw.LookupErr(TenantField); err == nil {
		if s, ok := v.StringValueOK(); ok && s == string(t) {
			return raw, nil
		}
		if s, ok := v.StringValueOK(); !ok || s != "" {
			return nil, ErrTenantMismatch
		}
		// An empty tenant string: rebuild without it below.
		elems, err := raw.Elements()
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		idx, dst := bsoncore.AppendDocumentStart(nil)
		for _, e := range elems {
			if e.Key() == TenantField {
				continue
			}
			dst = append(dst, e...)
		}
		dst = bsoncore.AppendStringElement(dst, TenantField, string(t))
		dst, _ = bsoncore.AppendDocumentEnd(dst, idx)
		return dst, nil
	}
	idx, dst := bsoncore.AppendDocumentStart(make([]byte, 0, len(b)+len(t)+16))
	dst = append(dst, b[4:len(b)-1]...)
	dst = bsoncore.AppendStringElement(dst, TenantField, string(t))
	dst, _ = bsoncore.AppendDocumentEnd(dst, idx)
	return dst, nil
}

// checkUpdate refuses updates that would move a document to another tenant.
func checkUpdate(update any) error {
	var set any
	switch u := update.(type) {
	case bson.M:
		set = u["$set"]
	case bson.D:
		for _, e := range u {
			if e.Key == "$set" {
				set = e.Value
			}
		}
	}
	switch s := set.(type) {
	case bson.M:
		if _, ok := s[TenantField]; ok {
			return ErrTenantMismatch
		}
	case bson.D:
		for _, e := range s {
			if e.Key == TenantField {
				return ErrTenantMismatch
			}
		}
	}
	return nil
}

// InsertOne stores doc for the context's tenant.
func (c *Collection) InsertOne(ctx context.Context, doc any) (err error) {
	defer c.m.observe(c.name, "insert_one", time.Now(), &err)
	if err = c.gate.enter(ctx); err != nil {
		return
	}
	defer c.gate.leave()
	raw, err := stamp(ctx, doc)
	if err != nil {
		return err
	}
	_, err = c.c.InsertOne(ctx, raw)
	return err
}

// InsertMany stores docs for the context's tenant, in order; it stops at the
// first failure (ordered insert) unless opts say SetOrdered(false). A
// failure of some documents is a mongo.BulkWriteException whose write
// errors carry the index of each failed document.
//
// On the embedded server one call is one SQLite transaction (one commit,
// one sync) as long as no document fails, so batching writes here is how
// callers share a durable commit.
func (c *Collection) InsertMany(ctx context.Context, docs []any, opts ...options.Lister[options.InsertManyOptions]) (err error) {
	defer c.m.observe(c.name, "insert_many", time.Now(), &err)
	if err = c.gate.enter(ctx); err != nil {
		return
	}
	defer c.gate.leave()
	raws := make([]any, len(docs))
	for i, d := range docs {
		if raws[i], err = stamp(ctx, d); err != nil {
			return err
		}
	}
	_, err = c.c.InsertMany(ctx, raws, opts...)
	return err
}

// FindOne decodes the first match into out; it returns mongo.ErrNoDocuments
// when nothing matches (map it with NotFound).
func (c *Collection) FindOne(ctx context.Context, filter any, out any, opts ...options.Lister[options.FindOneOptions]) (err error) {
	defer c.m.observe(c.name, "find_one", time.Now(), &err)
	if id, ok := idOnly(filter); ok && len(opts) == 0 {
		t, err := tenantOf(ctx)
		if err != nil {
			return err
		}
		raw, err := c.c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Raw()
		if err != nil {
			return err
		}
		if s, ok := raw.Lookup(TenantField).StringValueOK(); !ok || s != string(t) {
			return mongo.ErrNoDocuments
		}
		return bson.Unmarshal(raw, out)
	}
	f, err := scope(ctx, filter)
	if err != nil {
		return err
	}
	return c.c.FindOne(ctx, f, opts...).Decode(out)
}

// Find returns a cursor over the matches; the caller closes it.
func (c *Collection) Find(ctx context.Context, filter any, opts ...options.Lister[options.FindOptions]) (cur *mongo.Cursor, err error) {
	defer c.m.observe(c.name, "find", time.Now(), &err)
	f, err := scope(ctx, filter)
	if err != nil {
		return nil, err
	}
	return c.c.Find(ctx, f, opts...)
}

// FindAll decodes every match into out, a pointer to a slice.
func (c *Collection) FindAll(ctx context.Context, filter any, out any, opts ...options.Lister[options.FindOptions]) (err error) {
	defer c.m.observe(c.name, "find_all", time.Now(), &err)
	f, err := scope(ctx, filter)
	if err != nil {
		return err
	}
	cur, err := c.c.Find(ctx, f, opts...)
	if err != nil {
		return err
	}
	return cur.All(ctx, out)
}

// CountDocuments counts the matches.
func (c *Collection) CountDocuments(ctx context.Context, filter any) (n int64, err error) {
	defer c.m.observe(c.name, "count", time.Now(), &err)
	f, err := scope(ctx, filter)
	if err != nil {
		return 0, err
	}
	return c.c.CountDocuments(ctx, f)
}

// UpdateOne applies update to the first match.
func (c *Collection) UpdateOne(ctx context.Context, filter, update any, opts ...options.Lister[options.UpdateOneOptions]) (res *mongo.UpdateResult, err error) {
	defer c.m.observe(c.name, "update_one", time.Now(), &err)
	if err = c.gate.enter(ctx); err != nil {
		return
	}
	defer c.gate.leave()
	if err = checkUpdate(update); err != nil {
		return nil, err
	}
	if id, ok := idOnly(filter); ok {
		if _, err := tenantOf(ctx); err != nil {
			return nil, err
		}
		if ok, err := c.writableID(ctx, id); err != nil || !ok {
			return &mongo.UpdateResult{}, err // another tenant's: no match, no upsert
		}
		return c.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, withSetOnInsert(ctx, update), opts...)
	}
	f, err := scope(ctx, filter)
	if err != nil {
		return nil, err
	}
	return c.c.UpdateOne(ctx, f, update, opts...)
}

// writableID reports whether a write by id alone may go ahead for the
// context's tenant: not when the id names another tenant or the document
// it names is another tenant's. An id of no document may be upserted.
func (c *Collection) writableID(ctx context.Context, id any) (bool, error) {
	if foreignID(ctx, id) {
		return false, nil
	}
	if ownedID(ctx, id) {
		return true, nil
	}
	own, err := c.owns(ctx, id)
	if err != nil || own {
		return own, err
	}
	exists, err := c.c.CountDocuments(ctx, bson.D{{Key: "_id", Value: id}})
	return err == nil && exists == 0, err
}

// UpdateMany applies update to every match.
func (c *Collection) UpdateMany(ctx context.Context, filter, update any, opts ...options.Lister[options.UpdateManyOptions]) (res *mongo.UpdateResult, err error) {
	defer c.m.observe(c.name, "update_many", time.Now(), &err)
	if err = c.gate.enter(ctx); err != nil {
		return
	}
	defer c.gate.leave()
	f, err := scope(ctx, filter)
	if err != nil {
		return nil, err
	}
	if err = checkUpdate(update); err != nil {
		return nil, err
	}
	return c.c.UpdateMany(ctx, f, update, opts...)
}

// ReplaceOne replaces the first match with doc, stamped with the tenant.
func (c *Collection) ReplaceOne(ctx context.Context, filter, doc any, opts ...options.Lister[options.ReplaceOptions]) (res *mongo.UpdateResult, err error) {
	defer c.m.observe(c.name, "replace_one", time.Now(), &err)
	if err = c.gate.enter(ctx); err != nil {
		return
	}
	defer c.gate.leave()
	raw, err := stamp(ctx, doc)
	if err != nil {
		return nil, err
	}
	if id, ok := idOnly(filter); ok {
		// By id alone, like UpdateOne: the embedded server then finds the
		// document without reading the whole collection.
		if ok, err := c.writableID(ctx, id); err != nil || !ok {
			return &mongo.UpdateResult{}, err // another tenant's: no match, no upsert
		}
		return c.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, raw, opts...)
	}
	f, err := scope(ctx, filter)
	if err != nil {
		return nil, err
	}
	return c.c.ReplaceOne(ctx, f, raw, opts...)
}

// FindOneAndUpdate applies update to the first match and decodes the
// document (before or after, per opts) into out.
func (c *Collection) FindOneAndUpdate(ctx context.Context, filter, update, out any, opts ...options.Lister[options.FindOneAndUpdateOptions]) (err error) {
	defer c.m.observe(c.name, "find_one_and_update", time.Now(), &err)
	if err = c.gate.enter(ctx); err != nil {
		return
	}
	defer c.gate.leave()
	if err = checkUpdate(update); err != nil {
		return err
	}
	if id, ok := idOnly(filter); ok {
		if _, err := tenantOf(ctx); err != nil {
			return err
		}
		if foreignID(ctx, id) {
			return mongo.ErrNoDocuments
		}
		if ownedID(ctx, id) {
			return c.c.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}}, withSetOnInsert(ctx, update), opts...).Decode(out)
		}
		own, err := c.owns(ctx, id)
		if err != nil {
			return err
		}
		if !own {
			return mongo.ErrNoDocuments
		}
		return c.c.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}}, update, opts...).Decode(out)
	}
	f, err := scope(ctx, filter)
	if err != nil {
		return err
	}
	return c.c.FindOneAndUpdate(ctx, f, update, opts...).Decode(out)
}

// DeleteOne removes the first match and reports how many were removed.
func (c *Collection) DeleteOne(ctx context.Context, filter any) (n int64, err error) {
	defer c.m.observe(c.name, "delete_one", time.Now(), &err)
	if err = c.gate.enter(ctx); err != nil {
		return
	}
	defer c.gate.leave()
	var f bson.D
	if id, ok := idOnly(filter); ok {
		if _, err := tenantOf(ctx); err != nil {
			return 0, err
		}
		if !ownedID(ctx, id) {
			own, err := c.owns(ctx, id)
			if err != nil || !own {
				return 0, err
			}
		}
		f = bson.D{{Key: "_id", Value: id}}
	} else if f, err = scope(ctx, filter); err != nil {
		return 0, err
	}
	res, err := c.c.DeleteOne(ctx, f)
	if err != nil {
		return 0, err
	}
	return res.DeletedCount, nil
}

// DeleteMany removes every match.
func (c *Collection) DeleteMany(ctx context.Context, filter any) (n int64, err error) {
	defer c.m.observe(c.name, "delete_many", time.Now(), &err)
	if err = c.gate.enter(ctx); err != nil {
		return
	}
	defer c.gate.leave()
	f, err := scope(ctx, filter)
	if err != nil {
		return 0, err
	}
	res, err := c.c.DeleteMany(ctx, f)
	if err != nil {
		return 0, err
	}
	return res.DeletedCount, nil
}

// Aggregate runs pipeline over the tenant's documents and decodes the
// results into out, a pointer to a slice.
func (c *Collection) Aggregate(ctx context.Context, pipeline []bson.D, out any) (err error) {
	defer c.m.observe(c.name, "aggregate", time.Now(), &err)
	t, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	p := make(mongo.Pipeline, 0, len(pipeline)+1)
	p = append(p, bson.D{{Key: "$match", Value: bson.D{{Key: TenantField, Value: string(t)}}}})
	p = append(p, pipeline...)
	cur, err := c.c.Aggregate(ctx, p)
	if err != nil {
		return err
	}
	return cur.All(ctx, out)
}

// EnsureIndexes creates the indexes that do not exist yet. Existing ones
// (by name) are left alone: FerretDB fails on re-creating an existing
// index, and MongoDB would do nothing anyway.
func (c *Collection) EnsureIndexes(ctx context.Context, models ...mongo.IndexModel) error {
	if len(models) == 0 {
		return nil
	}
	specs, err := c.c.Indexes().ListSpecifications(ctx)
	if err != nil {
		return fmt.Errorf("store: indexes of %s: %w", c.name, err)
	}
	have := map[string]bool{}
	for _, s := range specs {
		have[s.Name] = true
	}
	var missing []mongo.IndexModel
	for _, m := range models {
		if !have[indexName(m.Keys.(bson.D))] {
			missing = append(missing, m)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.c.Indexes().CreateMany(ctx, missing); err != nil {
		return fmt.Errorf("store: indexes of %s: %w", c.name, err)
	}
	return nil
}

// indexName is MongoDB's default name for an index on keys.
func indexName(keys bson.D) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('_')
		}
		fmt.Fprintf(&b, "%s_%v", k.Key, k.Value)
	}
	return b.String()
}
