package history

import (
	"errors"
	"fmt"
)

// ErrMerged is returned when a write names a contact merged into another.
var ErrMerged = errors.New("contact was merged into another")

// ErrTooLarge is returned when an attachment exceeds its size limit.
var ErrTooLarge = errors.New("attachment too large")

// ValidationError names the bad field of a write.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// BadField names the field for the HTTP layer (a 400 naming the field).
func (e *ValidationError) BadField() string { return e.Field }
