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

// Hash returns the hex SHA-256 of e's canonical form: a JSON object with
// the fields below, in this order, strings escaped minimally (", \ and
// control characters), details embedded exactly as stored. The sequence
// number is not part of it: order is the chain's, through prev_id and
// prev_hash. The form is written by hand because hashing runs on every
// append and every verification.
func Hash(e *Event) string {
	details := e.DetailsJSON
	if len(details) == 0 {
		details = json.RawMessage("{}")
	}
	b := make([]byte, 0, 512+len(details))
	b = append(b, `{"v":1`...)
	field := func(name, v string) {
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = appendString(b, v)
	}
	field("id", e.ID)
	field("time", e.Time.UTC().Format(time.RFC3339Nano))
	field("actor_id", e.ActorID)
	field("actor_kind", e.ActorKind)
	field("actor_name", e.ActorName)
	field("auth_method", e.AuthMethod)
	b = append(b, `,"actor_mfa":`...)
	b = strconv.AppendBool(b, e.ActorMFA)
	field("elevation_id", e.ElevationID)
	field("action", e.Action)
	field("target_type", e.TargetType)
	field("target_id", e.TargetID)
	field("scope", e.Scope)
	field("outcome", string(e.Outcome))
	field("reason", e.Reason)
	field("source_addr", e.SourceAddr)
	field("user_agent", e.UserAgent)
	field("request_id", e.RequestID)
	field("classification", e.Classification)
	b = append(b, `,"details":`...)
	b = append(b, details...)
	field("prev_id", e.PrevID)
	field("prev_hash", e.PrevHash)
	b = append(b, '}')
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// appendString appends s as a JSON string, escaping only what JSON requires.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
