package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// API is a small client of calibd's REST API, enough to provision a fleet
// and to watch for alerts: what an operator would do with curl.
type API struct {
	base  string // http://host:port/api/v1
	token string
	hc    *http.Client
}

// NewAPI takes calibd's address (http://host:port, with or without
// /api/v1) and a bearer token.
func NewAPI(base, token string) (*API, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api: %q is not an http:// or https:// address such as http://127.0.0.1:8080", base)
	}
	if token == "" {
		return nil, errors.New("api: a token is required (-token, or CALIBD_TOKEN)")
	}
	if !strings.HasSuffix(u.Path, "/api/v1") {
		u.Path += "/api/v1"
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return &API{base: u.String(), token: token, hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}, nil
}

// problem is the part of an RFC 9457 answer worth showing.
type problem struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Reason string `json:"reason"`
		Row    int    `json:"row"`
	} `json:"errors"`
}

// do sends a request and decodes a 2xx JSON answer into out (unless nil);
// any other status is an error carrying the problem's code and detail.
func (a *API) do(ctx context.Context, method, path string, body []byte, contentType string, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var p problem
		if json.Unmarshal(data, &p) == nil && p.Code != "" {
			msg := fmt.Sprintf("%s %s: %d %s: %s", method, path, resp.StatusCode, p.Code, p.Detail)
			for i, e := range p.Errors {
				if i == 5 {
					msg += fmt.Sprintf("; and %d more", len(p.Errors)-5)
					break
				}
				msg += fmt.Sprintf("; %s: %s", e.Field, e.Reason)
				if e.Row > 0 {
					msg += fmt.Sprintf(" (line %d)", e.Row)
				}
			}
			return errors.New(msg)
		}
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data[:min(len(data), 200)]))
	}
	if out == nil {
		return nil
	}
	if b, ok := out.(*[]byte); ok {
		*b = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: answer is not the JSON expected: %w", method, path, err)
	}
	return nil
}

func (a *API) postJSON(ctx context.Context, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	return a.do(ctx, http.MethodPost, path, body, "application/json", out)
}
