// Package invariant checks the ticketing state for what must always hold:
// for every show and ticket type, sold + held <= capacity, sold equals the
// tickets that occupy a seat (valid or admitted), and held equals the seats
// of active holds. `usher check` and the crash tests run it.
package invariant

import (
	"context"
	"fmt"
	"sort"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

// Violation is one broken invariant.
type Violation struct {
	ShowID, TicketType string
	Problem            string
}

func (v Violation) String() string { return v.ShowID + "/" + v.TicketType + ": " + v.Problem }

// Check returns every violation in the store; none means the state is sound.
func Check(ctx context.Context, db *store.DB) ([]Violation, error) {
	inv, err := db.AllInventory(ctx)
	if err != nil {
		return nil, err
	}
	tickets, err := db.CountTickets(ctx)
	if err != nil {
		return nil, err
	}
	held, err := db.HeldSeats(ctx)
	if err != nil {
		return nil, err
	}
	var out []Violation
	seen := map[[2]string]bool{}
	for _, i := range inv {
		key := [2]string{i.ShowID, i.TicketType}
		seen[key] = true
		seated := tickets[[3]string{i.ShowID, i.TicketType, string(usher.TicketValid)}] +
			tickets[[3]string{i.ShowID, i.TicketType, string(usher.TicketAdmitted)}]
		if i.Sold+i.Held > i.Capacity {
			out = append(out, Violation{i.ShowID, i.TicketType, fmt.Sprintf("sold %d + held %d exceed capacity %d", i.Sold, i.Held, i.Capacity)})
		}
		if i.Sold < 0 || i.Held < 0 {
			out = append(out, Violation{i.ShowID, i.TicketType, fmt.Sprintf("negative count: sold %d, held %d", i.Sold, i.Held)})
		}
		if i.Sold != seated {
			out = append(out, Violation{i.ShowID, i.TicketType, fmt.Sprintf("sold %d but %d valid or admitted tickets", i.Sold, seated)})
		}
		if i.Held != held[key] {
			out = append(out, Violation{i.ShowID, i.TicketType, fmt.Sprintf("held %d but active holds keep %d", i.Held, held[key])})
		}
	}
	for k, n := range tickets {
		if !seen[[2]string{k[0], k[1]}] && (k[2] == string(usher.TicketValid) || k[2] == string(usher.TicketAdmitted)) && n > 0 {
			out = append(out, Violation{k[0], k[1], fmt.Sprintf("%d %s tickets without inventory", n, k[2])})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}
