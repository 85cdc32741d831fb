package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

type credentialJSON struct {
	DeviceID  string     `json:"device_id"`
	Kind      string     `json:"kind"`
	Username  string     `json:"username"`
	Topics    []string   `json:"topics"`
	IssuedAt  time.Time  `json:"issued_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Rotations int        `json:"rotations"`
	Version   int        `json:"version"`
	// Secret is set only in the answer that issues it.
	Secret string `json:"secret,omitempty"`
}

func toCredentialJSON(c devices.DeviceCredential) credentialJSON {
	root := devices.TopicPrefix + c.DeviceID + "/"
	return credentialJSON{DeviceID: c.DeviceID, Kind: string(c.Kind), Username: c.DeviceID,
		Topics:   []string{root + "checks", root + "telemetry", root + "events", root + "{checks,telemetry,events}/senml"},
		IssuedAt: c.IssuedAt, RevokedAt: c.RevokedAt, Rotations: c.Rotations, Version: c.Version}
}

// issueDeviceSecret issues or rotates a device's MQTT secret; the answer is
// the only place the secret ever appears.
func (s *Server) issueDeviceSecret(c *gin.Context) {
	cred, secret, err := s.reg.IssueDeviceSecret(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := toCredentialJSON(cred)
	out.Secret = secret
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, out)
}

func (s *Server) getDeviceCredential(c *gin.Context) {
	cred, err := s.reg.GetDeviceCredential(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, cred, err, toCredentialJSON, cred.Version)
}

func (s *Server) revokeDeviceSecret(c *gin.Context) {
	cred, err := s.reg.RevokeDeviceSecret(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, cred, err, toCredentialJSON, cred.Version)
}
