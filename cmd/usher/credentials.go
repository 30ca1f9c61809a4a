package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/server"
)

// newCredentialsCmd prints what the first start wrote to
// DATA_DIR/demo-credentials.json, one value at a time, for scripts:
// export USHER_ADMIN_TOKEN=$(usher credentials token).
func newCredentialsCmd(e *env) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "credentials token|source|secret",
		Short: "Print a first-start credential (admin token, demo source, its secret)",
		Long: "Prints one value from DATA_DIR/" + server.CredentialsFile + ", written on the first start\n" +
			"of `usher serve`: the admin token, the demo source's name or its signing secret.",
		Example:   "  export USHER_ADMIN_TOKEN=$(usher credentials token)\n  usher credentials secret --data-dir /var/lib/usher",
		ValidArgs: []string{"token", "source", "secret"},
		Args:      exactArgs("token|source|secret"),
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := readCredentials(dataDir)
			if err != nil {
				return err
			}
			v, ok := map[string]string{"token": c.AdminToken, "source": c.Source, "secret": c.Secret}[args[0]]
			if !ok {
				return usagef("unknown credential %q: want token, source or secret", args[0])
			}
			_, err = fmt.Fprintln(e.stdout, v)
			return err
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", envOr(e.getenv, "USHER_DATA_DIR", "usher-data"), "data directory of `usher serve` (env USHER_DATA_DIR)")
	return cmd
}

// readCredentials reads the first-start credentials file of a data directory.
func readCredentials(dataDir string) (server.Credentials, error) {
	var c server.Credentials
	path := filepath.Join(dataDir, server.CredentialsFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("first-start credentials: %w", err)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("credentials file %s: %w", path, err)
	}
	return c, nil
}
