// Package problem writes RFC 9457 problem details. It is the one place where
// usher's error codes become HTTP statuses and stable problem type URIs.
package problem

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/usherhq/usher"
)

// TypeBase prefixes every problem type URI; the suffix is the error code with
// dashes, e.g. https://usher.dev/problems/invalid-signature.
const TypeBase = "https://usher.dev/problems/"

// ContentType is the media type of every error response.
const ContentType = "application/problem+json"

// Details is the RFC 9457 body. Extensions carry machine-readable extras such
// as retry_after or the allowed methods.
type Details struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code"`
	// Pointer and Reason name the part of a request document that failed
	// its schema (a JSON pointer, RFC 6901) and why; schema_violation only.
	Pointer string `json:"pointer,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// pointed is a cause that names the failing part of a document and why.
type pointed interface {
	JSONPointer() string
	Reason() string
}

var statusOf = map[usher.Code]int{
	usher.CodeInvalid:            http.StatusBadRequest,
	usher.CodeMalformedEnvelope:  http.StatusBadRequest,
	usher.CodeTimestampTolerance: http.StatusBadRequest,
	usher.CodeInvalidSignature:   http.StatusUnauthorized,
	usher.CodeUnauthorized:       http.StatusUnauthorized,
	usher.CodeForbidden:          http.StatusForbidden,
	usher.CodeAddressNotAllowed:  http.StatusForbidden,
	usher.CodeUnknownSource:      http.StatusNotFound,
	usher.CodeNotFound:           http.StatusNotFound,
	usher.CodeMethodNotAllowed:   http.StatusMethodNotAllowed,
	usher.CodeConflict:           http.StatusConflict,
	usher.CodeBodyTooLarge:       http.StatusRequestEntityTooLarge,
	usher.CodeUnsupportedMedia:   http.StatusUnsupportedMediaType,
	usher.CodeRateLimited:        http.StatusTooManyRequests,
	usher.CodeInternal:           http.StatusInternalServerError,
	usher.CodeQueueUnavailable:   http.StatusServiceUnavailable,
	usher.CodeUnavailable:        http.StatusServiceUnavailable,
	usher.CodeInvalidPass:        http.StatusUnauthorized,
	usher.CodePassExpired:        http.StatusGone,
	usher.CodePassRevoked:        http.StatusGone,
	usher.CodeTicketRevoked:      http.StatusGone,
	usher.CodeNotImplemented:     http.StatusNotImplemented,
	usher.CodeSchemaViolation:    http.StatusBadRequest,
}

// Status returns the HTTP status of an error code (500 for an unknown code).
func Status(code usher.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// TypeURI returns the stable problem type URI of an error code.
func TypeURI(code usher.Code) string {
	return TypeBase + strings.ReplaceAll(string(code), "_", "-")
}

// Codes returns every code that has a status, for documentation and tests.
func Codes() []usher.Code {
	codes := make([]usher.Code, 0, len(statusOf))
	for c := range statusOf {
		codes = append(codes, c)
	}
	return codes
}

// From builds the problem details of err as seen by the request r.
func From(r *http.Request, err error) Details {
	code := usher.ErrorCode(err)
	status := Status(code)
	d := Details{
		Type:     TypeURI(code),
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   usher.ErrorMessage(err),
		Instance: r.URL.Path,
		Code:     string(code),
	}
	var p pointed
	if code == usher.CodeSchemaViolation && errors.As(err, &p) {
		d.Pointer, d.Reason = p.JSONPointer(), p.Reason()
	}
	return d
}

// Write sends err as an application/problem+json response and counts it by
// code (see Reporter). Internal errors reveal nothing but a generic detail;
// handlers call Fail, which also logs the cause once.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	d := From(r, err)
	count(r, usher.Code(d.Code))
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(d.Status)
	_ = json.NewEncoder(w).Encode(d)
}
