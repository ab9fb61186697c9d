package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// canonical is the form of a record that is hashed. Its field order is
// fixed; Details is the JSON exactly as stored. The sequence number is not
// part of it: order is the chain's, through PrevID and PrevHash.
type canonical struct {
	V              int             `json:"v"`
	ID             string          `json:"id"`
	Time           string          `json:"time"`
	ActorID        string          `json:"actor_id"`
	ActorKind      string          `json:"actor_kind"`
	ActorName      string          `json:"actor_name"`
	AuthMethod     string          `json:"auth_method"`
	ActorMFA       bool            `json:"actor_mfa"`
	ElevationID    string          `json:"elevation_id"`
	Action         string          `json:"action"`
	TargetType     string          `json:"target_type"`
	TargetID       string          `json:"target_id"`
	Scope          string          `json:"scope"`
	Outcome        Outcome         `json:"outcome"`
	Reason         string          `json:"reason"`
	SourceAddr     string          `json:"source_addr"`
	UserAgent      string          `json:"user_agent"`
	RequestID      string          `json:"request_id"`
	Classification string          `json:"classification"`
	Details        json.RawMessage `json:"details"`
	PrevID         string          `json:"prev_id"`
	PrevHash       string          `json:"prev_hash"`
}

// Hash returns the hex SHA-256 of e's canonical form.
func Hash(e *Event) string {
	details := e.DetailsJSON
	if len(details) == 0 {
		details = json.RawMessage("{}")
	}
	b, err := json.Marshal(canonical{V: 1, ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339Nano), ActorID: e.ActorID,
		ActorKind: e.ActorKind, ActorName: e.ActorName, AuthMethod: e.AuthMethod, ActorMFA: e.ActorMFA,
		ElevationID: e.ElevationID, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Scope: e.Scope,
		Outcome: e.Outcome, Reason: e.Reason, SourceAddr: e.SourceAddr, UserAgent: e.UserAgent, RequestID: e.RequestID,
		Classification: e.Classification, Details: details, PrevID: e.PrevID, PrevHash: e.PrevHash})
	if err != nil {
		// Details that are not JSON cannot match their hash; say so in it.
		return "unhashable:" + err.Error()
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Head is the chain's last record as the chain remembers it.
type Head struct {
	Seq     int64  `json:"seq"`
	EventID string `json:"event_id"`
	Hash    string `json:"hash"`
}

// Checkpoint is a signed statement of the chain's head at a moment.
type Checkpoint struct {
	Seq       int64     `json:"seq"`
	EventID   string    `json:"event_id"`
	Hash      string    `json:"hash"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id"`
	Signature string    `json:"signature"`
}

// Message is what a checkpoint's signature covers.
func (c *Checkpoint) Message() []byte {
	return []byte("enclave-audit-checkpoint/v1\n" + strconv.FormatInt(c.Seq, 10) + "\n" + c.EventID + "\n" + c.Hash + "\n" +
		strconv.FormatInt(c.Time.UnixMicro(), 10) + "\n")
}

// KeyID names a public key: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Sign signs c with key.
func (c *Checkpoint) Sign(key ed25519.PrivateKey) {
	c.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	c.Signature = hex.EncodeToString(ed25519.Sign(key, c.Message()))
}

// VerifySignature checks c's signature against the trusted keys.
func (c *Checkpoint) VerifySignature(keys map[string]ed25519.PublicKey) error {
	pub, ok := keys[c.KeyID]
	if !ok {
		return fmt.Errorf("checkpoint at %d is signed by unknown key %s", c.Seq, c.KeyID)
	}
	sig, err := hex.DecodeString(c.Signature)
	if err != nil || !ed25519.Verify(pub, c.Message(), sig) {
		return fmt.Errorf("checkpoint at %d has an invalid signature", c.Seq)
	}
	return nil
}
