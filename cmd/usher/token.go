package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/server"
)

type scopeList []string

func (s *scopeList) String() string     { return strings.Join(*s, ",") }
func (s *scopeList) Set(v string) error { *s = append(*s, v); return nil }

// runToken creates an admin token through a running usher's API.
func runToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: usher token create --scope SCOPE [--scope SCOPE …] [--description TEXT]")
	}
	fs := flag.NewFlagSet("usher token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var scopes scopeList
	fs.Var(&scopes, "scope", "a scope the token holds (repeat for several)")
	description := fs.String("description", "", "what the token is for")
	url := fs.String("url", envOr(getenv, "USHER_URL", "http://127.0.0.1:8080"), "usher base URL (env USHER_URL)")
	dataDir := fs.String("data-dir", envOr(getenv, "USHER_DATA_DIR", "usher-data"), "find the first-start admin token here")
	adminToken := fs.String("admin-token", getenv("USHER_ADMIN_TOKEN"), "token with tokens:write (env USHER_ADMIN_TOKEN)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *adminToken == "" {
		raw, err := os.ReadFile(filepath.Join(*dataDir, server.CredentialsFile))
		if err != nil {
			return fmt.Errorf("no --admin-token and no credentials file: %w", err)
		}
		var c server.Credentials
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("credentials file: %w", err)
		}
		*adminToken = c.AdminToken
	}
	body, _ := json.Marshal(map[string]any{"scopes": []string(scopes), "description": *description})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url+"/v1/tokens", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+*adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("usher answered %d: %s", resp.StatusCode, reply)
	}
	_, err = stdout.Write(reply)
	return err
}
