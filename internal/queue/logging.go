package queue

import (
	"log/slog"

	"github.com/nats-io/nats.go"
)

// clientLogging sends the NATS client's asynchronous errors (a slow
// consumer, a permission violation) and connection changes to usher's log.
// Without an error handler nats.go writes them as plain text to stderr,
// which breaks a JSON log.
func clientLogging(log *slog.Logger) []nats.Option {
	return []nats.Option{
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("nats client error", "subject", subject, "err", err)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats connection lost; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "server", nc.ConnectedServerName())
		}),
	}
}
