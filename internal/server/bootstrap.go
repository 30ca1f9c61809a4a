package server

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/admin"
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
// store has no source yet, and writes them to the credentials file. Secrets
// go to that file only, never to a log.
func bootstrap(ctx context.Context, db *store.DB, dataDir string, now func() time.Time) (*Credentials, error) {
	srcs, err := db.Sources(ctx)
	if err != nil {
		return nil, err
	}
	if len(srcs) > 0 {
		return nil, nil
	}
	view, err := admin.CreateSource(ctx, db, "demo", "standard-webhooks", "", usher.SourcePolicy{}, now())
	if err != nil {
		return nil, fmt.Errorf("bootstrap source: %w", err)
	}
	tok, token, err := admin.IssueToken(ctx, db, store.Token{Scopes: []string{admin.ScopeAll}, Description: "first-start admin token (" + CredentialsFile + ")", CreatedAt: now().UTC()})
	if err != nil {
		return nil, fmt.Errorf("bootstrap token: %w", err)
	}
	err = db.AppendAudit(ctx, store.AuditEntry{Actor: admin.SystemActor, Action: admin.ActionTokenCreated, EntityType: "token", EntityID: tok.ID,
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
	if _, err := db.PutShowSettings(ctx, store.ShowSettings{ShowID: DemoShow, AllowStaticCodes: true}); err != nil {
		return nil, fmt.Errorf("bootstrap show settings: %w", err)
	}
	c := &Credentials{Source: view.Name, Scheme: view.Scheme, Secret: view.Secrets[0].Secret, AdminToken: token}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(filepath.Join(dataDir, CredentialsFile), append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("write credentials: %w", err)
	}
	return c, nil
}
