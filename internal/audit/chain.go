package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
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
	details := []byte(e.DetailsJSON)
	if len(details) == 0 {
		details = emptyDetails
	}
	var buf [1024]byte // most records fit: no allocation but the result
	b := append(buf[:0], `{"v":1`...)
	b = appendField(b, "id", e.ID)
	b = append(b, `,"time":"`...)
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "actor_id", e.ActorID)
	b = appendField(b, "actor_kind", e.ActorKind)
	b = appendField(b, "actor_name", e.ActorName)
	b = appendField(b, "auth_method", e.AuthMethod)
	b = append(b, `,"actor_mfa":`...)
	b = strconv.AppendBool(b, e.ActorMFA)
	b = appendField(b, "elevation_id", e.ElevationID)
	b = appendField(b, "action", e.Action)
	b = appendField(b, "target_type", e.TargetType)
	b = appendField(b, "target_id", e.TargetID)
	b = appendField(b, "scope", e.Scope)
	b = appendField(b, "outcome", string(e.Outcome))
	b = appendField(b, "reason", e.Reason)
	b = appendField(b, "source_addr", e.SourceAddr)
	b = appendField(b, "user_agent", e.UserAgent)
	b = appendField(b, "request_id", e.RequestID)
	b = appendField(b, "classification", e.Classification)
	b = append(b, `,"details":`...)
	b = append(b, details...)
	b = appendField(b, "prev_id", e.PrevID)
	b = appendField(b, "prev_hash", e.PrevHash)
	b = append(b, '}')
	sum := sha256.Sum256(b)
	var out [64]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

var emptyDetails = []byte("{}")

func appendField(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
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
