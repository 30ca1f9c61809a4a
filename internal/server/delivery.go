package server

// newDeliveryComponent builds the outbound delivery lanes (issue: delivery
// layer). Until they exist it returns no component.
func newDeliveryComponent(a *App) (component, error) { return nil, nil }
