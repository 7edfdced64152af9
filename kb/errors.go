package kb

import (
	"errors"
	"fmt"
)

// Sentinel errors of the knowledge-base service.
var (
	// ErrUnsupportedFormat is returned by Import and Export for a file type
	// other than CSV or XLSX (HTTP 415).
	ErrUnsupportedFormat = errors.New("kb: file must be .csv or .xlsx")
	// ErrVersionConflict is returned when an update names a version other
	// than the article's current one: someone else saved it meanwhile
	// (HTTP 409).
	ErrVersionConflict = errors.New("kb: the article was changed by someone else; reload it")
	// ErrClosed is returned by calls after Close.
	ErrClosed = errors.New("kb: service closed")
)

// FieldError names the bad field of an input; the HTTP layer turns it into a
// 400 naming the field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// BadField names the field for the HTTP layer.
func (e *FieldError) BadField() string { return e.Field }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
