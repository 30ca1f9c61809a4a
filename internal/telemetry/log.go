// Package telemetry builds usher's logger (with redaction of secrets and
// personal data) and its Prometheus metrics. It returns values; nothing here
// is global.
package telemetry

import (
	"io"
	"log/slog"
	"strings"
)

// sensitiveKeys are attribute keys whose values never reach a log line.
var sensitiveKeys = []string{"secret", "token", "authorization", "password", "signature", "master_key", "key_material", "body", "payload"}

// piiKeys are attribute keys holding personal data; their values are masked.
var piiKeys = []string{"email", "name", "buyer", "phone"}

// NewLogger returns a JSON (or text) slog.Logger that redacts sensitive and
// personal attributes by key, whatever the caller passes. A record logged
// with a context holding a span carries its trace_id and span_id.
func NewLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redact}
	if format == "text" {
		return slog.New(traceHandler{slog.NewTextHandler(w, opts)})
	}
	return slog.New(traceHandler{slog.NewJSONHandler(w, opts)})
}

func redact(_ []string, a slog.Attr) slog.Attr {
	key := strings.ToLower(a.Key)
	if key == slog.MessageKey || key == slog.TimeKey || key == slog.LevelKey || key == slog.SourceKey {
		return a
	}
	for _, s := range sensitiveKeys {
		if strings.Contains(key, s) {
			return slog.String(a.Key, "[REDACTED]")
		}
	}
	for _, p := range piiKeys {
		if key == p || strings.HasSuffix(key, "_"+p) {
			return slog.String(a.Key, MaskEmail(a.Value.String()))
		}
	}
	return a
}

// MaskEmail keeps the first character and the domain of an address
// ("a***@example.com"), and masks anything else to its first character.
func MaskEmail(s string) string {
	if s == "" {
		return ""
	}
	at := strings.LastIndexByte(s, '@')
	if at > 0 {
		return s[:1] + "***" + s[at:]
	}
	return s[:1] + "***"
}

// OrDiscard returns log, or a logger that discards everything when log is
// nil: the default of every component's Options.Logger.
func OrDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
