package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// HTTPError is an error answer of the schema registry or Kafka Connect: its status and the
// message of its body ({"error_code": …, "message": …} in both APIs).
type HTTPError struct {
	Status  int
	Code    int
	Message string
}

func (e *HTTPError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return e.Message
}

// errNoService: the console was started without the registry's or Connect's URL.
var errNoService = errors.New("not configured for this console")

// maxAPIBody bounds what the console reads of a registry or Connect answer.
const maxAPIBody = 32 << 20

// registryCall calls the schema registry as the session's user (HTTP basic with its
// credentials): method on path (with its query), in JSON to out (nil: discard).
func (c *Console) registryCall(ctx context.Context, s *Session, method, path string, in, out any) error {
	if c.opts.RegistryURL == "" {
		return fmt.Errorf("schema registry: %w", errNoService)
	}
	return c.call(ctx, s, c.opts.RegistryURL, "application/vnd.schemaregistry.v1+json", method, path, in, out)
}

// connectCall calls Kafka Connect's REST API as the session's user.
func (c *Console) connectCall(ctx context.Context, s *Session, method, path string, in, out any) error {
	if c.opts.ConnectURL == "" {
		return fmt.Errorf("kafka connect: %w", errNoService)
	}
	return c.call(ctx, s, c.opts.ConnectURL, "application/json", method, path, in, out)
}

func (c *Console) call(ctx context.Context, s *Session, base, contentType, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(base, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if s != nil && s.mech != "" {
		if s.mech == "OAUTHBEARER" {
			req.Header.Set("Authorization", "Bearer "+s.pass)
		} else {
			req.SetBasicAuth(s.user, s.pass)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		e := &HTTPError{Status: resp.StatusCode}
		var eb struct {
			Code    int    `json:"error_code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &eb) == nil {
			e.Code, e.Message = eb.Code, eb.Message
		} else {
			e.Message = strings.TrimSpace(string(data))
		}
		return e
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}
