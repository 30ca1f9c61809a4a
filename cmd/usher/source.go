package main

import (
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
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
			body := map[string]string{"name": args[0], "scheme": scheme, "secret": secret}
			reply, err := c.do(cmd.Context(), http.MethodPost, "/v1/sources", body, http.StatusCreated)
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
			path := "/v1/sources/" + url.PathEscape(args[0]) + "/secrets:rotate"
			reply, err := c.do(cmd.Context(), http.MethodPost, path, map[string]string{"grace": grace}, http.StatusCreated)
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
