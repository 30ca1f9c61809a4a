package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/client"
)

// newPIICmd erases a buyer's personal data through a running usher's API;
// the order, its tickets and the audit trail stay.
func newPIICmd(e *env) *cobra.Command {
	var c adminClient
	var order string
	erase := &cobra.Command{
		Use:     "erase --order ID",
		Short:   "Erase a buyer's email and name (the order and its history stay)",
		Example: "  usher pii erase --order ord_1a2b3c",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if order == "" {
				return usagef("%s: --order is required", cmd.CommandPath())
			}
			reply, err := call(cmd.Context(), &c, func(ctx context.Context, api *client.Client) (client.EraseBuyerRes, error) {
				return api.EraseBuyer(ctx, client.EraseBuyerParams{OrderID: order})
			})
			if err != nil {
				return err
			}
			return printJSON(e.stdout, reply)
		},
	}
	erase.Flags().StringVar(&order, "order", "", "the order whose buyer's email and name are erased (required)")
	c.bind(erase.Flags(), e.getenv)
	return group("pii", "Personal data: erase a buyer's", erase)
}
