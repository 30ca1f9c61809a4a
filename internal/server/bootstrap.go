package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/admin"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/store"
)

// Credentials are the demo source and admin token made on first start.
type Credentials struct {
	Source     string `json:"source"`
	Scheme     string `json:"scheme"`
	Secret     string `json:"secret"`
	AdminToken string `json:"admin_token"`
}

// The demo show that first start creates, so that a first order.paid has
// seats to take.
const (
	DemoShow       = "demo-show"
	DemoVenue      = "demo-venue"
	DemoTicketType = "GA"
	DemoCapacity   = 100
)

// CredentialsFile is the name, under the data directory, of the file that
// holds the first-start credentials (mode 0600).
const CredentialsFile = "demo-credentials.json"

// bootstrap creates a demo source and an all-scopes admin token when the
// store has no source yet and the credentials file does not exist, and
// writes them to that file. It never overwrites the file: an existing one
// means this is not a first start. Secrets go to that file only, never to a
// log.
func bootstrap(ctx context.Context, db *store.DB, dataDir string, now func() time.Time) (*Credentials, error) {
	srcs, err := db.Sources(ctx)
	if err != nil {
		return nil, err
	}
	if len(srcs) > 0 {
		return nil, nil
	}
	path := filepath.Join(dataDir, CredentialsFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("write credentials: %w", err)
	}
	c, err := createDemo(ctx, db, now)
	if err == nil {
		b, _ := json.MarshalIndent(c, "", "  ")
		if _, err = f.Write(append(b, '\n')); err == nil {
			err = f.Sync()
		}
		if err != nil {
			err = fmt.Errorf("write credentials %s: %w", path, err)
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write credentials %s: %w", path, cerr)
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	return c, nil
}

// createDemo makes the demo source, show and admin token.
func createDemo(ctx context.Context, db *store.DB, now func() time.Time) (*Credentials, error) {
	view, err := admin.CreateSource(ctx, db, "demo", "standard-webhooks", "", usher.SourcePolicy{}, now())
	if err != nil {
		return nil, fmt.Errorf("bootstrap source: %w", err)
	}
	tok, token, err := admin.IssueToken(ctx, db, usher.Token{Scopes: []string{auth.ScopeAll}, Description: "first-start admin token (" + CredentialsFile + ")", CreatedAt: now().UTC()})
	if err != nil {
		return nil, fmt.Errorf("bootstrap token: %w", err)
	}
	err = db.AppendAudit(ctx, usher.AuditEntry{Actor: admin.SystemActor, Action: admin.ActionTokenCreated, EntityType: "token", EntityID: tok.ID,
		Detail: map[string]any{"scopes": tok.Scopes, "description": tok.Description}})
	if err != nil {
		return nil, fmt.Errorf("bootstrap token audit: %w", err)
	}
	if _, err := db.PutCapacity(ctx, DemoShow, DemoTicketType, DemoCapacity); err != nil {
		return nil, fmt.Errorf("bootstrap inventory: %w", err)
	}
	// The demo show admits plain ticket codes too, so that a first scan works
	// from a printed code; shows admit only rotating display codes unless
	// their settings say otherwise.
	if _, err := db.PutShowSettings(ctx, usher.ShowSettings{ShowID: DemoShow, AllowStaticCodes: true}); err != nil {
		return nil, fmt.Errorf("bootstrap show settings: %w", err)
	}
	return &Credentials{Source: view.Name, Scheme: view.Scheme, Secret: view.Secrets[0].Secret, AdminToken: token}, nil
}
