package store

import "context"

// TenantID names a tenant: one company served by the hub.
type TenantID string

// DefaultTenant exists out of the box.
const DefaultTenant TenantID = "default"

type tenantKey struct{}

// WithTenant returns a context whose store calls are scoped to t.
func WithTenant(ctx context.Context, t TenantID) context.Context {
	return context.WithValue(ctx, tenantKey{}, t)
}

// Tenant returns the tenant of ctx.
func Tenant(ctx context.Context) (TenantID, bool) {
	t, ok := ctx.Value(tenantKey{}).(TenantID)
	return t, ok && t != ""
}
