package crashtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/usherhq/usher"
)

// TestQueueFullAnswers503 fills a tiny inbound stream on an ingest-only
// usher (nothing drains it): once full, webhooks get 503 with a problem body,
// never a 2xx. Restarted with processing, usher applies every webhook it
// acknowledged, and accepts new ones again.
func TestQueueFullAnswers503(t *testing.T) {
	t.Parallel()
	const show = "full-show"
	dir := t.TempDir()
	client := newClient()
	c := startChild(t, dir, "--queue-max-bytes", "65536", "--roles", "ingest")
	putCapacity(t, client, c.url, show, 1_000_000)
	source, key := credentials(t, dir)
	snd := newSender(client, source, key)

	accepted, refused := sendUntilRefused(t, snd, c.url, show, "msg_full_%04d", "ord_full_%04d", 1000,
		"1000 webhooks of 1 KiB accepted by a 64 KiB queue: it is not capped")
	t.Logf("the 64 KiB queue took %d webhooks, then answered %s", len(accepted), refused)
	if refused.Err != nil {
		t.Fatalf("a full queue broke the connection: %v", refused.Err)
	}
	wantProblem(t, refused.Status, refused.Body, usher.CodeQueueUnavailable)
	if !strings.HasPrefix(refused.ContentType, "application/problem+json") {
		t.Errorf("content type %q, want application/problem+json", refused.ContentType)
	}
	c.stop()
	if log := c.log(); !strings.Contains(log, "maximum bytes exceeded") {
		t.Errorf("the log does not say the stream is full:\n%s", log)
	}

	c = startChild(t, dir, "--queue-max-bytes", "65536")
	for _, ev := range accepted {
		waitOrder(t, client, c.url, ev.OrderID)
	}
	after := newEvent("msg_full_after", "ord_full_after", show, 1)
	resendUntilAccepted(t, snd, c.url, []event{after})
	waitOrder(t, client, c.url, after.OrderID)
	c.stop()
	accepted[after.ID] = after
	checkExactlyOnce(t, readStore(t, dir), accepted, map[string]bool{show: true})
}

// sendUntilRefused sends new order.paid webhooks until one is refused and
// returns those accepted and the refusal; limit sends without a refusal fail
// the test with failure.
func sendUntilRefused(t *testing.T, snd *sender, url, show, idFormat, orderFormat string, limit int, failure string) (map[string]event, reply) {
	t.Helper()
	accepted := map[string]event{}
	for i := 0; ; i++ {
		if i == limit {
			t.Fatal(failure)
		}
		ev := newEvent(fmt.Sprintf(idFormat, i), fmt.Sprintf(orderFormat, i), show, 1)
		r := snd.send(context.Background(), url, ev)
		if !r.accepted() {
			return accepted, r
		}
		accepted[ev.ID] = ev
	}
}
