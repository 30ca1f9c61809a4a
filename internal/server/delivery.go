package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/delivery"
	"github.com/usherhq/usher/internal/processor"
)

// newDeliveryComponent builds the outbound delivery lanes and their admin
// API, configured by Config.Delivery.
func newDeliveryComponent(a *App) (component, error) {
	instance, err := instanceID(a.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	svc, err := delivery.New(deliveryStore(a.Store()), a.cfg.Delivery, delivery.Options{
		Instance:   instance,
		Logger:     a.Logger().With("component", "delivery"),
		Now:        a.cfg.Clock,
		Registerer: a.Metrics().Registry,
		Processing: processor.Replayer{Queue: a.Queue()},
		Sealer:     a.Store().Sealer(),
		Catalog:    a.catalog,
		Tracing:    a.cfg.Tracing,
	})
	if err != nil {
		return nil, err
	}
	// Lanes run where events are processed; every process serves the API,
	// and its replays are picked up by the lanes through the store.
	return &deliveryComponent{svc: svc, lanes: a.cfg.Has(RoleProcess), routes: svc.Routes()}, nil
}

// instanceFile holds the id of the process that owns the data directory.
const instanceFile = "instance-id"

// instanceID returns the id kept in the data directory, creating it on the
// first start. A process restarted on the same directory is the same
// instance: at start, its delivery lanes end the leases its previous run
// left when it died. Processes that share a store each have their own data
// directory, so none can end another's leases.
func instanceID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, instanceFile)
	b, err := os.ReadFile(path)
	if err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("instance id: %w", err)
	}
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("instance id: %w", err)
	}
	id := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("instance id: %w", err)
	}
	return id, nil
}

// deliveryComponent runs the delivery lanes (in processes with the process
// role) and serves their admin routes.
type deliveryComponent struct {
	svc    *delivery.Service
	lanes  bool
	routes []auth.Route
}

// Start starts the lanes, unless this process does not process events.
func (c *deliveryComponent) Start(ctx context.Context) error {
	if !c.lanes {
		return nil
	}
	return c.svc.Start(ctx)
}

// Stop stops the lanes and waits for them.
func (c *deliveryComponent) Stop() { c.svc.Stop() }

// Routes lists the subscription, dead-letter and replay routes.
func (c *deliveryComponent) Routes() []auth.Route { return c.routes }
