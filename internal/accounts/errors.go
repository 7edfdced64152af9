package accounts

import (
	"errors"
	"fmt"
	"time"
)

// ErrBadCredentials is returned for a wrong username, password or tenant;
// which one is never told.
var ErrBadCredentials = errors.New("wrong username or password")

// ErrDisabled is returned when a disabled user logs in.
var ErrDisabled = errors.New("account disabled")

// ErrUnauthenticated is returned for a missing, unknown or expired session.
var ErrUnauthenticated = errors.New("not logged in or session expired")

// RateLimitedError says a login was refused for too many failures.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many failed logins, retry in %s", e.RetryAfter.Round(time.Second))
}

// ValidationError names the bad field of a request.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// BadField names the field for the HTTP layer (a 400 naming the field).
func (e *ValidationError) BadField() string { return e.Field }
