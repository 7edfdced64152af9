// Package store connects the hub to MongoDB and is the one place where tenant
// isolation is enforced.
//
// Every record of the hub belongs to a tenant. Code never talks to a
// *mongo.Collection directly: it asks [DB.Collection] for a tenant-scoped
// [Collection], whose every method reads the tenant from the context (see
// [WithTenant]) and adds it to every filter, every inserted document and
// every aggregation pipeline. A call whose context carries no tenant fails
// with [ErrNoTenant] instead of touching another tenant's data, so a handler
// cannot forget to filter.
//
// The few global collections (tenants, sessions) are reached through
// [DB.Global], used only by the accounts package.
//
// The hub uses it only when a MongoDB URI is configured (several nodes);
// its default store is SQLite (internal/sqlitedb). Tests run it against an
// in-process FerretDB (storetest) and a real MongoDB when one is named.
package store
