package grafana

import (
	"context"
	"errors"
	"net/http"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// CheckHealth is the datasource page's "Save & test": livepulse must answer /readyz, which needs
// the token whenever livepulse requires one (every listener beyond loopback), and reports
// whether its consumer has joined its group and its store answers.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	ctx, cancel := context.WithTimeout(ctx, d.client.timeout)
	defer cancel()
	req, err := d.client.newRequest(ctx, http.MethodGet, "/readyz", nil, nil)
	if err != nil {
		return nil, err
	}
	_, err = d.client.do(req)
	var apiErr *APIError
	switch {
	case err == nil:
		return &backend.CheckHealthResult{Status: backend.HealthStatusOk, Message: "livepulse at " + d.client.base + " is ready"}, nil
	case errors.Is(err, ErrUnauthorized):
		return &backend.CheckHealthResult{Status: backend.HealthStatusError,
			Message: "livepulse at " + d.client.base + " refused the token: set the datasource's token to livepulse's LIVEPULSE_TOKEN"}, nil
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusServiceUnavailable:
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: "livepulse is reachable but not ready: " + apiErr.Message}, nil
	}
	return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: err.Error()}, nil
}
