package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/client"
	"github.com/usherhq/usher/internal/webhook"
)

// newSourceCmd manages webhook sources through a running usher's API.
func newSourceCmd(e *env) *cobra.Command {
	return group("source", "Create webhook sources and rotate their secrets",
		newSourceCreateCmd(e), newSourceRotateCmd(e))
}

func newSourceCreateCmd(e *env) *cobra.Command {
	var c adminClient
	var scheme, secret string
	cmd := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a source (its signing secret is printed once)",
		Example: "  usher source create shop\n  usher source create --scheme stripe stripe1 --secret whsec_…",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := client.CreateSourceReq{Name: args[0], Scheme: client.CreateSourceReqScheme(scheme), Secret: optString(secret)}
			reply, err := call(cmd.Context(), &c, func(ctx context.Context, api *client.Client) (client.CreateSourceRes, error) {
				return api.CreateSource(ctx, client.NewOptCreateSourceReq(req))
			})
			if err != nil {
				return err
			}
			return printJSON(e.stdout, reply)
		},
	}
	c.bind(cmd.Flags(), e.getenv)
	cmd.Flags().StringVar(&scheme, "scheme", webhook.SchemeStandardWebhooks, schemeHelp())
	cmd.Flags().StringVar(&secret, "secret", "", "use this signing secret instead of a generated one (a Stripe endpoint's whsec_…)")
	_ = cmd.RegisterFlagCompletionFunc("scheme", cobra.FixedCompletions(webhook.Names(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newSourceRotateCmd(e *env) *cobra.Command {
	var c adminClient
	var grace string
	cmd := &cobra.Command{
		Use:     "rotate NAME",
		Short:   "Add a new secret to a source; the old one verifies for --grace",
		Example: "  usher source rotate shop --grace 1h",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := client.NewOptRotateSourceSecretReq(client.RotateSourceSecretReq{Grace: optString(grace)})
			reply, err := call(cmd.Context(), &c, func(ctx context.Context, api *client.Client) (client.RotateSourceSecretRes, error) {
				return api.RotateSourceSecret(ctx, req, client.RotateSourceSecretParams{Name: args[0]})
			})
			if err != nil {
				return err
			}
			return printJSON(e.stdout, reply)
		},
	}
	c.bind(cmd.Flags(), e.getenv)
	cmd.Flags().StringVar(&grace, "grace", "24h", "how long the previous secret keeps verifying")
	return cmd
}
