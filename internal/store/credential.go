package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
)

// DeviceSecretPrefix starts every device MQTT secret, so a leaked one is
// easy to grep for (API tokens start with TokenPrefix).
const DeviceSecretPrefix = "cds_"

type credentialRow struct {
	DeviceID      string
	Kind          string
	VenueID       string
	OperatorOrgID string
	SecretHash    string
	BrokerHash    string
	IssuedAt      time.Time
	RevokedAt     *time.Time
	Rotations     int
	Version       int
}

func (credentialRow) TableName() string { return "device_credentials" }

func (r credentialRow) toCredential() devices.DeviceCredential {
	return devices.DeviceCredential{DeviceID: r.DeviceID, Kind: devices.DeviceKind(r.Kind), VenueID: r.VenueID,
		OperatorOrgID: r.OperatorOrgID, IssuedAt: r.IssuedAt.UTC(), RevokedAt: utcPtr(r.RevokedAt), Rotations: r.Rotations,
		Version: r.Version}
}

// device is a thermometer or lift as far as its credential cares.
type device struct {
	id, venueID, operatorOrgID string
	kind                       devices.DeviceKind
	retired                    bool
}

// visibleDevice finds the thermometer or lift id names among those the
// actor sees.
func (s *Store) visibleDevice(q *gorm.DB, a devices.Actor, id string) (device, error) {
	th, err := s.getThermometer(q, a, id)
	if err == nil {
		return device{id: th.ID, venueID: th.VenueID, operatorOrgID: th.OperatorOrgID, kind: devices.DeviceThermometer,
			retired: th.Status == string(devices.StatusRetired)}, nil
	}
	if !isNotFound(err) {
		return device{}, err
	}
	el, err := s.getElevator(q, a, id)
	if err != nil {
		return device{}, fmt.Errorf("device %q: %w", id, devices.ErrNotFound)
	}
	return device{id: el.ID, venueID: el.VenueID, operatorOrgID: el.OperatorOrgID, kind: devices.DeviceElevator,
		retired: el.Status == string(devices.ElevatorRetired)}, nil
}

// IssueDeviceSecret implements devices.DeviceCredentialStore.
func (s *Store) IssueDeviceSecret(ctx context.Context, a devices.Actor, deviceID string) (devices.DeviceCredential, string, error) {
	var (
		out    devices.DeviceCredential
		secret string
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		d, err := s.visibleDevice(tx, a, strings.ToLower(deviceID))
		if err != nil {
			return err
		}
		if !a.CanWriteRegistry() || a.OrgID != d.operatorOrgID {
			return devices.Forbidden("only the device's venue operator issues its MQTT secret")
		}
		if d.retired {
			return devices.Conflict("retired", "the device is retired")
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("device secret randomness: %w", err)
		}
		secret = DeviceSecretPrefix + base64.RawURLEncoding.EncodeToString(b)
		brokerHash, err := devices.MosquittoHash(secret)
		if err != nil {
			return err
		}
		now := s.now()
		var row credentialRow
		err = tx.Where("device_id = ?", d.id).Take(&row).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			row = credentialRow{DeviceID: d.id, Kind: string(d.kind), VenueID: d.venueID, OperatorOrgID: d.operatorOrgID,
				SecretHash: HashSecret(secret), BrokerHash: brokerHash, IssuedAt: now, Version: 1}
			if err := tx.Create(&row).Error; err != nil {
				return translate(err, "device credential")
			}
		case err != nil:
			return err
		default:
			res := tx.Model(&credentialRow{}).Where("device_id = ? AND version = ?", d.id, row.Version).Updates(map[string]any{
				"secret_hash": HashSecret(secret), "broker_hash": brokerHash, "issued_at": now, "revoked_at": nil, "venue_id": d.venueID,
				"operator_org_id": d.operatorOrgID, "rotations": row.Rotations + 1, "version": row.Version + 1})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return devices.ErrPreconditionFailed
			}
			row.IssuedAt, row.RevokedAt, row.Rotations, row.Version = now, nil, row.Rotations+1, row.Version+1
		}
		out = row.toCredential()
		return s.audit(tx, a, devices.ActionTokenIssue, devices.ResourceDeviceCredential, d.id,
			devices.Changes{"kind": {To: d.kind}, "rotations": {To: row.Rotations}})
	})
	return out, secret, err
}

// credentialOf reads the credential of a device the actor sees; only its
// operator and the regulator read it (others see the device but not its
// credential: ErrForbidden).
func (s *Store) credentialOf(q *gorm.DB, a devices.Actor, deviceID string) (credentialRow, error) {
	d, err := s.visibleDevice(q, a, strings.ToLower(deviceID))
	if err != nil {
		return credentialRow{}, err
	}
	if !a.IsRegulator() && a.OrgID != d.operatorOrgID {
		return credentialRow{}, devices.Forbidden("only the device's venue operator and the regulator see its credential")
	}
	var row credentialRow
	err = q.Where("device_id = ?", d.id).Take(&row).Error
	return row, translate(err, "device credential")
}

// GetDeviceCredential implements devices.DeviceCredentialStore.
func (s *Store) GetDeviceCredential(ctx context.Context, a devices.Actor, deviceID string) (devices.DeviceCredential, error) {
	row, err := s.credentialOf(s.db.WithContext(ctx), a, deviceID)
	return row.toCredential(), err
}

// RevokeDeviceSecret implements devices.DeviceCredentialStore. Revoking a
// revoked credential changes nothing.
func (s *Store) RevokeDeviceSecret(ctx context.Context, a devices.Actor, deviceID string) (devices.DeviceCredential, error) {
	var out devices.DeviceCredential
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.credentialOf(tx, a, deviceID)
		if err != nil {
			return err
		}
		if !a.CanWriteRegistry() {
			return devices.Forbidden("only the device's venue operator revokes its MQTT secret")
		}
		if row.RevokedAt == nil {
			now := s.now()
			if err := tx.Model(&credentialRow{}).Where("device_id = ?", row.DeviceID).Updates(map[string]any{
				"revoked_at": now, "version": row.Version + 1}).Error; err != nil {
				return err
			}
			row.RevokedAt, row.Version = &now, row.Version+1
			if err := s.audit(tx, a, devices.ActionTokenRevoke, devices.ResourceDeviceCredential, row.DeviceID, nil); err != nil {
				return err
			}
		}
		out = row.toCredential()
		return nil
	})
	return out, err
}

// AuthenticateDevice implements devices.DeviceCredentialStore: the
// credential must be current and its device not retired.
func (s *Store) AuthenticateDevice(ctx context.Context, username, password string) (devices.DeviceIdentity, error) {
	id := strings.ToLower(username)
	if !devices.IsUUID(id) || !strings.HasPrefix(password, DeviceSecretPrefix) {
		return devices.DeviceIdentity{}, devices.ErrUnauthenticated
	}
	var row credentialRow
	err := s.db.WithContext(ctx).Where("device_id = ? AND revoked_at IS NULL", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return devices.DeviceIdentity{}, devices.ErrUnauthenticated
	}
	if err != nil {
		return devices.DeviceIdentity{}, err
	}
	if subtle.ConstantTimeCompare([]byte(HashSecret(password)), []byte(row.SecretHash)) != 1 {
		return devices.DeviceIdentity{}, devices.ErrUnauthenticated
	}
	table, retired := "thermometers", string(devices.StatusRetired)
	if row.Kind == string(devices.DeviceElevator) {
		table, retired = "elevators", string(devices.ElevatorRetired)
	}
	var live int64
	if err := s.db.WithContext(ctx).Table(table).Where("id = ? AND status <> ?", id, retired).Count(&live).Error; err != nil {
		return devices.DeviceIdentity{}, err
	}
	if live == 0 {
		return devices.DeviceIdentity{}, devices.ErrUnauthenticated
	}
	return devices.DeviceIdentity{DeviceID: id, Kind: devices.DeviceKind(row.Kind), VenueID: row.VenueID,
		OperatorOrgID: row.OperatorOrgID}, nil
}

// BrokerLogins implements devices.DeviceCredentialStore.
func (s *Store) BrokerLogins(ctx context.Context) ([]devices.BrokerLogin, error) {
	var rows []credentialRow
	err := s.db.WithContext(ctx).Where("revoked_at IS NULL AND broker_hash <> ''").
		Where("(kind = ? AND device_id IN (SELECT id FROM thermometers WHERE status <> ?)) OR (kind = ? AND device_id IN (SELECT id FROM elevators WHERE status <> ?))",
			string(devices.DeviceThermometer), string(devices.StatusRetired), string(devices.DeviceElevator), string(devices.ElevatorRetired)).
		Order("device_id").Find(&rows).Error
	out := make([]devices.BrokerLogin, len(rows))
	for i, r := range rows {
		out[i] = devices.BrokerLogin{Username: r.DeviceID, MosquittoHash: r.BrokerHash}
	}
	return out, err
}
