package search

import "errors"

var (
	// ErrNoTenant is returned when a call names no tenant.
	ErrNoTenant = errors.New("search: tenant is required")
	// ErrClosed is returned by calls on a closed index.
	ErrClosed = errors.New("search: index closed")
	// ErrEmptyID is returned when a document has no ID.
	ErrEmptyID = errors.New("search: document id is required")
)
