package httpapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

// The auth and ACL hooks of an external MQTT broker (EMQX's HTTP
// authenticator and authorizer, VerneMQ's webhooks, Mosquitto through an
// HTTP auth plugin) ask calibd whether a device may log in and publish:
// the same check the embedded broker makes. The broker sends
// BROKER_AUTH_TOKEN as a bearer token. A username that is not a device id
// (the broker's own users, calibd's ingest) gets "ignore", so the broker's
// other authenticators decide.

type brokerAuthRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	ClientID string `json:"clientid"`
	Topic    string `json:"topic"`
	Action   string `json:"action"`
}

type brokerAnswer struct {
	Result string `json:"result"`
}

// brokerCaller checks the broker's bearer token and reads the body; false
// when it answered already.
func (s *Server) brokerCaller(c *gin.Context) (brokerAuthRequest, bool) {
	var r brokerAuthRequest
	want := s.cfg.BrokerAuthToken
	if want == "" {
		s.fail(c, statusError(http.StatusNotFound, "not_found", "the broker hooks are off: set BROKER_AUTH_TOKEN"))
		return r, false
	}
	got, _ := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		s.fail(c, devices.ErrUnauthenticated)
		return r, false
	}
	body, err := readLimited(c, 4096)
	if err == nil {
		if jerr := json.Unmarshal(body, &r); jerr != nil {
			err = badRequest("malformed_json", "the body is not the JSON object a broker hook sends: %v", jerr)
		}
	}
	if err != nil {
		s.fail(c, err)
		return r, false
	}
	return r, true
}

func answer(c *gin.Context, result string) { c.JSON(http.StatusOK, brokerAnswer{Result: result}) }

// brokerAuth: may this username and password log in?
func (s *Server) brokerAuth(c *gin.Context) {
	r, ok := s.brokerCaller(c)
	if !ok {
		return
	}
	if !devices.IsUUID(strings.ToLower(r.Username)) {
		answer(c, "ignore")
		return
	}
	_, err := s.reg.AuthenticateDevice(c.Request.Context(), r.Username, r.Password)
	switch {
	case err == nil:
		answer(c, "allow")
	case errors.Is(err, devices.ErrUnauthenticated):
		answer(c, "deny")
	default:
		s.fail(c, err)
	}
}

// brokerACL: may this device publish (or subscribe) on this topic? A
// device publishes on its own topics only and subscribes to nothing.
func (s *Server) brokerACL(c *gin.Context) {
	r, ok := s.brokerCaller(c)
	if !ok {
		return
	}
	id := strings.ToLower(r.Username)
	if !devices.IsUUID(id) {
		answer(c, "ignore")
		return
	}
	if r.Action == "publish" && (devices.DeviceIdentity{DeviceID: id}).MayPublish(r.Topic) {
		answer(c, "allow")
		return
	}
	answer(c, "deny")
}
