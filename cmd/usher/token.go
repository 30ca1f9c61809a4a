package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/client"
)

// newTokenCmd creates, lists and revokes admin tokens through a running
// usher's API.
func newTokenCmd(e *env) *cobra.Command {
	return group("token", "Create, list and revoke admin tokens",
		newTokenCreateCmd(e), newTokenListCmd(e), newTokenRevokeCmd(e))
}

func newTokenCreateCmd(e *env) *cobra.Command {
	var c adminClient
	var scopes []string
	var description string
	var expiresIn durationFlag
	cmd := &cobra.Command{
		Use:     "create --scope SCOPE [--scope SCOPE …]",
		Short:   "Create an admin token (its secret is printed once)",
		Example: "  usher token create --scope orders:read --description dashboard --expires-in 24h",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := client.CreateTokenReq{Scopes: scopes, Description: client.NewOptString(description)}
			if expiresIn.d != 0 {
				req.ExpiresIn = client.NewOptString(expiresIn.d.String())
			}
			reply, err := call(cmd.Context(), &c, func(ctx context.Context, api *client.Client) (client.CreateTokenRes, error) {
				return api.CreateToken(ctx, client.NewOptCreateTokenReq(req))
			})
			if err != nil {
				return err
			}
			return printJSON(e.stdout, reply)
		},
	}
	c.bind(cmd.Flags(), e.getenv)
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "a scope the token holds (repeat for several)")
	cmd.Flags().StringVar(&description, "description", "", "what the token is for")
	cmd.Flags().Var(&expiresIn, "expires-in", "the token expires this long after creation, e.g. 24h (default never)")
	return cmd
}

func newTokenListCmd(e *env) *cobra.Command {
	var c adminClient
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List admin tokens (never their secrets)",
		Example: "  usher token list\n  usher token list --output json",
		Args:    noArgs,
	}
	out := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkOutput(*out); err != nil {
			return err
		}
		reply, err := call(cmd.Context(), &c, func(ctx context.Context, api *client.Client) (client.ListTokensRes, error) {
			return api.ListTokens(ctx)
		})
		if err != nil {
			return err
		}
		return render(e.stdout, *out, readView{list: "tokens", columns: []string{"id", "description", "scopes", "created_at", "expires_at", "revoked_at"}}, reply)
	}
	c.bind(cmd.Flags(), e.getenv)
	return cmd
}

func newTokenRevokeCmd(e *env) *cobra.Command {
	var c adminClient
	cmd := &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke an admin token; it is refused at once",
		Example: "  usher token revoke tok_0123456789abcdef",
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			reply, err := call(cmd.Context(), &c, func(ctx context.Context, api *client.Client) (client.RevokeTokenRes, error) {
				return api.RevokeToken(ctx, client.RevokeTokenParams{ID: args[0]})
			})
			if err != nil {
				return err
			}
			return printJSON(e.stdout, reply)
		},
	}
	c.bind(cmd.Flags(), e.getenv)
	return cmd
}
