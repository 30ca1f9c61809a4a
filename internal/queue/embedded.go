package queue

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedConfig configures the in-process NATS JetStream server.
type EmbeddedConfig struct {
	// DataDir holds the JetStream store (under DataDir/jetstream).
	DataDir string
	// MaxStore caps JetStream's disk use. Without a cap JetStream takes 75% of
	// the free disk at start and disables itself when the disk fills.
	MaxStore int64
	// SyncAlways fsyncs every stream write before it is acknowledged.
	SyncAlways bool
	// Listen, when non-empty ("127.0.0.1:0"), also opens a client port; by
	// default the server takes no port and is reached in-process only.
	Listen string
	// MinFreeBytes is the free disk space at which a stream store that
	// failed a write (a full disk) is reopened. Default 16 MiB.
	MinFreeBytes int64
}

// StoreDir is the directory, inside the data directory, where the embedded
// server keeps its JetStream store.
const StoreDir = "jetstream"

// StartEmbedded starts a JetStream server inside this process. Its warnings
// and errors go to log.
func StartEmbedded(cfg EmbeddedConfig, log *slog.Logger) (*server.Server, error) {
	return startEmbedded(cfg, log, nil)
}

// startEmbedded is StartEmbedded telling onWriteError of a stream's failed write.
func startEmbedded(cfg EmbeddedConfig, log *slog.Logger, onWriteError func(why string)) (*server.Server, error) {
	opts := &server.Options{
		ServerName:         "usher-embedded",
		JetStream:          true,
		StoreDir:           filepath.Join(cfg.DataDir, StoreDir),
		JetStreamMaxStore:  cfg.MaxStore,
		JetStreamMaxMemory: 64 << 20,
		SyncAlways:         cfg.SyncAlways,
		MaxPayload:         maxPayload,
		DontListen:         cfg.Listen == "",
		NoSigs:             true,
		NoLog:              true,
	}
	if cfg.Listen != "" {
		host, port, err := splitHostPort(cfg.Listen)
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, port
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	ns.SetLoggerV2(natsLogger{log: log, onWriteError: onWriteError}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(15 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready after 15s")
	}
	return ns, nil
}

// maxPayload is the embedded server's message size limit: room for a batch
// of events or one event at the largest accepted body size.
const maxPayload = 8 << 20
