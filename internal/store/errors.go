package store

import (
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// ErrNoTenant is returned by every scoped call whose context carries no tenant.
var ErrNoTenant = errors.New("store: no tenant in context")

// ErrTenantMismatch is returned when a document names a tenant other than the
// one in the context.
var ErrTenantMismatch = errors.New("store: document belongs to another tenant")

// ErrNotFound is matched (with errors.Is) by every *NotFoundError.
var ErrNotFound = errors.New("not found")

// ErrDuplicate is matched (with errors.Is) by every *DuplicateError.
var ErrDuplicate = errors.New("already exists")

// NotFoundError says which kind of record was not found.
type NotFoundError struct {
	Kind string // "user", "conversation", ...
	ID   string
}

func (e *NotFoundError) Error() string {
	if e.ID == "" {
		return e.Kind + " not found"
	}
	return fmt.Sprintf("%s %q not found", e.Kind, e.ID)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// DuplicateError says which unique value is already taken.
type DuplicateError struct {
	Kind  string
	Field string
	Value string
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("%s with %s %q already exists", e.Kind, e.Field, e.Value)
}

// Is makes errors.Is(err, ErrDuplicate) true.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicate }

// NotFound maps mongo.ErrNoDocuments to a *NotFoundError and returns other
// errors unchanged.
func NotFound(err error, kind, id string) error {
	if errors.Is(err, mongo.ErrNoDocuments) {
		return &NotFoundError{Kind: kind, ID: id}
	}
	return err
}

// IsDuplicateKey reports whether err is a unique-index violation.
func IsDuplicateKey(err error) bool { return mongo.IsDuplicateKeyError(err) }
