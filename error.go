package usher

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. The problem package maps each
// code to an HTTP status and a problem type URI exactly once.
type Code string

// Error codes. They are part of the public API: never rename one.
const (
	CodeInternal           Code = "internal"
	CodeInvalid            Code = "invalid_request"
	CodeMalformedEnvelope  Code = "malformed_envelope"
	CodeInvalidSignature   Code = "invalid_signature"
	CodeTimestampTolerance Code = "timestamp_out_of_tolerance"
	CodeUnknownSource      Code = "unknown_source"
	CodeBodyTooLarge       Code = "body_too_large"
	CodeUnsupportedMedia   Code = "unsupported_media_type"
	CodeMethodNotAllowed   Code = "method_not_allowed"
	CodeRateLimited        Code = "rate_limited"
	CodeAddressNotAllowed  Code = "address_not_allowed"
	CodeUnauthorized       Code = "unauthorized"
	CodeForbidden          Code = "forbidden"
	CodeNotFound           Code = "not_found"
	CodeConflict           Code = "conflict"
	CodeQueueUnavailable   Code = "queue_unavailable"
	CodeUnavailable        Code = "unavailable"
	CodeInvalidPass        Code = "invalid_pass"
	CodePassExpired        Code = "pass_expired"
	CodePassRevoked        Code = "pass_revoked"
	CodeTicketRevoked      Code = "ticket_revoked"
	CodeNotImplemented     Code = "not_implemented"
	// CodeSchemaViolation: a document does not validate against its event
	// type's published schema; the problem names the JSON pointer and reason.
	CodeSchemaViolation Code = "schema_violation"
)

// Error is the error type returned across usher's layers. Message is safe to
// show to the caller; Err, when set, is the underlying cause for logs.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted, caller-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with the code and message that keeps err as its cause.
func WrapError(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// CodeInternal when there is none. It returns "" for a nil error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the caller-safe message of the first *Error in err's
// chain, or a generic text that reveals nothing of an internal error.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrTransient marks an error that may succeed when retried (a busy store, a
// broken connection). Wrap with fmt.Errorf("%w: %w", usher.ErrTransient, err).
var ErrTransient = errors.New("transient")

// ErrPermanent marks an error that will fail the same way on every retry; the
// event is set aside with its reason instead of being retried.
var ErrPermanent = errors.New("permanent")
